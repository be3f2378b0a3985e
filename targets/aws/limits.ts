import { parseCidr } from "../../config/cidr.js";
import type { CpuArchitecture } from "./cost.js";

/**
 * Defaults and limits of the aws target, defined once: the config (config.ts) and the
 * FargateFleet component's own argument check (args.ts) both use them.
 */

/** Retention values the CloudWatch Logs API accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const AWS_DEFAULTS = {
  egressPorts: [443],
  vpcCidr: "10.42.0.0/16",
  availabilityZoneCount: 2,
  logRetentionDays: 30,
  retainData: false,
  cpuArchitecture: "X86_64" as CpuArchitecture,
  dockerfile: "agent-image/Dockerfile",
  agentsDir: "agents",
} as const;

/** Prefix lengths a new VPC may have. */
export const NEW_VPC_PREFIX = { min: 16, max: 24 } as const;

/** Why `cidr` cannot be a new VPC's block, or undefined when it can. */
export function newVpcCidrProblem(cidr: string): string | undefined {
  const parsed = parseCidr(cidr);
  if ("error" in parsed) return parsed.error;
  if (parsed.family !== 4 || parsed.prefix < NEW_VPC_PREFIX.min || parsed.prefix > NEW_VPC_PREFIX.max) {
    return `must be an IPv4 block from /${NEW_VPC_PREFIX.min} to /${NEW_VPC_PREFIX.max}`;
  }
  return undefined;
}
