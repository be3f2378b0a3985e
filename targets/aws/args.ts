import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { codeFolderProblem } from "../../config/codeFolder.js";
import type { AgentResources } from "../../config/defaults.js";
import type { CpuArchitecture } from "./cost.js";
import type { NetworkSetting } from "../../contract/egress.js";
import { ENV_NAME, isReservedEnvName, type AgentBudget, type AgentReviewers } from "../../contract/env.js";
import { FARGATE_NAME_LIMIT, isLabel } from "../../contract/names.js";
import { fargateTaskSize, type FargateTaskSize } from "./fargateSizing.js";
import { AWS_DEFAULTS as DEFAULTS, LOG_RETENTION_DAYS, NEW_VPC_PREFIX, newVpcCidrProblem } from "./limits.js";

/** One agent of a Fargate fleet, as the config layer resolves it (defaults applied). */
export interface FargateAgentArgs {
  /** Agent name: a lowercase DNS label, unique in the fleet. Also the ECS service name. */
  name: string;
  /** Already resolved (fleet default with the per-agent override applied). */
  approvalRequired: boolean;
  capabilities: string[];
  /** Plain environment for the agent program. Secrets never go here. */
  env: Record<string, string>;
  /**
   * The agent's code folder on the machine running Pulumi (the config's resolved `code`). It seeds
   * the agent's EFS code dir on first start (see codeSeed.ts); afterwards the runtime owns that
   * dir. Default: `agents/<name>` under the current directory (the Pulumi project dir).
   */
  codeDir?: string;
  /**
   * Secrets (Pulumi secret Outputs). Each becomes an SSM SecureString parameter and reaches the
   * container only through the task definition's `secrets`, never `environment`.
   */
  secrets: { name: string; value: pulumi.Input<string> }[];
  /**
   * `cpus` and `memoryMb` must be a Fargate task size (e.g. 0.25/512, 0.5/1024, 1/2048, 2/4096);
   * anything else is an error naming the agent. `pids` bounds the agent user's processes.
   */
  resources: AgentResources;
  /**
   * Network access, by the agent's own security group (see egress.ts): none (default), full, or
   * an allow-list filtered by port and IP address (never by name).
   */
  network?: NetworkSetting;
  taskTimeoutSeconds?: number;
  /** May propose binary files and symlinks (AGENT_ALLOW_BINARY); default false. */
  allowBinary?: boolean;
  /** Spending limits, as environment of the runtime. */
  budget?: AgentBudget;
  /** Distinct human approvers per proposal. */
  reviewApprovals?: number;
  /** A coordinator: may queue tasks through $TASK_OUTBOX. */
  canCreateTasks?: boolean;
  /** Reviewer agents of its proposals. */
  reviewers?: AgentReviewers;
  /** This agent's service alone at desiredCount 0 (the fleet's `paused` stops them all). Default false. */
  paused?: boolean;
  /**
   * Shared projects this agent works on (names in `FargateFleetArgs.projects`): only their access
   * points are mounted into its task and granted to its task role. Default none.
   */
  projects?: string[];
}

/** A shared project: a root-owned bare git repository on EFS, seeded once from `sourceDir`. */
export interface FargateProjectArgs {
  /** A lowercase DNS label, unique in the fleet. */
  name: string;
  /** The project's folder on the machine running Pulumi (its first commit). */
  sourceDir: string;
  /** The branch its agents commit to. */
  branch: string;
  /** Where its runtimes push applied commits (optional). */
  remote?: string;
}

/** Where the tasks run. Give `vpcId` + `subnetIds` to use an existing network. */
export interface FargateNetworkArgs {
  /** An existing VPC. Default: a new VPC with public subnets and no NAT gateway (no NAT cost). */
  vpcId?: string;
  /** Subnets of `vpcId` for tasks and EFS mount targets; each in a different availability zone. */
  subnetIds?: string[];
  /** CIDR of the new VPC. Default "10.42.0.0/16". */
  cidrBlock?: string;
  /** Number of public subnets (availability zones) in the new VPC. Default 2. */
  availabilityZoneCount?: number;
  /**
   * Give each task a public IP (no ingress is ever allowed; it is how tasks reach ECR, CloudWatch
   * and the agents' APIs without a NAT gateway). Default: true for a new VPC, false for existing
   * subnets (assumed private with a NAT gateway or VPC endpoints).
   */
  assignPublicIp?: boolean;
}

/** The image all tasks run. Default: build it. */
export type FargateImageArgs =
  | {
      build: {
        /** Build context: the repository root. Default: the current directory. */
        context?: string;
        /** Agent image Dockerfile, relative to the context. Default "agent-image/Dockerfile". */
        dockerfile?: string;
        /** Default: "linux/amd64" or "linux/arm64" to match `cpuArchitecture`. */
        platform?: string;
      };
    }
  | {
      /**
       * A ready agent image (built from agent-image/Dockerfile or compatible). It is re-tagged into
       * the fleet's ECR repository, and each agent's code is still added on top of it.
       */
      ref: string;
      /** Default: "linux/amd64" or "linux/arm64" to match `cpuArchitecture`. */
      platform?: string;
    };

export interface FargateFleetArgs {
  /** Fleet name: prefixes the cluster, task families, log group and parameter paths. */
  fleetName: string;
  agents: FargateAgentArgs[];
  /** Shared projects, each an EFS access point mounted only into the agents that list it. Default none. */
  projects?: FargateProjectArgs[];
  network?: FargateNetworkArgs;
  /** TCP ports agents may connect out to (anywhere). Default [443]. NFS to EFS is added by itself. */
  egressPorts?: number[];
  image?: FargateImageArgs;
  /** Keep everything but run no task (desiredCount 0): you pay for storage only. Default false. */
  paused?: boolean;
  /**
   * Keep the EFS file system (agent code with its history, the shared dir, decisions) when the
   * stack is destroyed. Default false: `pulumi destroy` removes everything.
   */
  retainData?: boolean;
  /** CloudWatch Logs retention. Default 30. Must be a value CloudWatch accepts. */
  logRetentionDays?: number;
  /** Default "X86_64" (match the machine that builds the image, or give image.build.platform). */
  cpuArchitecture?: CpuArchitecture;
  /** ECS Exec (the way to inspect and approve). Default true. */
  enableExecuteCommand?: boolean;
  /**
   * The review console as its own ECS service with no ingress, reached through an SSM port
   * forward (ECS Exec is always on for it). The tokens (name -> token) are a secret: they are kept
   * in an SSM SecureString parameter. None when absent.
   */
  console?: { port: number; tokens: pulumi.Input<Record<string, string>> };
  /** Tags on every taggable resource. */
  tags?: Record<string, string>;
}

export interface ResolvedAgent extends FargateAgentArgs {
  codeDir: string;
  size: FargateTaskSize;
}

export interface ResolvedFleetArgs {
  fleetName: string;
  agents: ResolvedAgent[];
  projects: FargateProjectArgs[];
  network:
    | { kind: "existing"; vpcId: string; subnetIds: string[]; assignPublicIp: boolean }
    | { kind: "new"; cidrBlock: string; availabilityZoneCount: number; assignPublicIp: boolean };
  egressPorts: number[];
  image:
    | { kind: "build"; context: string; dockerfile: string; platform: string }
    | { kind: "ref"; ref: string; platform: string };
  paused: boolean;
  retainData: boolean;
  logRetentionDays: number;
  cpuArchitecture: CpuArchitecture;
  enableExecuteCommand: boolean;
  console?: { port: number; tokens: pulumi.Input<Record<string, string>> };
  tags: Record<string, string>;
}

/**
 * Applies defaults and checks everything AWS would reject later, before any resource exists.
 * Every problem is reported at once, each naming the fleet/agent and the field.
 */
export function resolveFargateFleetArgs(a: FargateFleetArgs): ResolvedFleetArgs {
  const problems: string[] = [];
  if (!isLabel(a.fleetName, FARGATE_NAME_LIMIT.max)) {
    problems.push(
      `fleetName "${a.fleetName}" must be a lowercase DNS label of at most ${FARGATE_NAME_LIMIT.max} characters on Fargate (letters, digits, hyphens)`,
    );
  }
  if (a.agents.length === 0) problems.push("agents: a fleet needs at least one agent");
  const seen = new Set<string>();
  const agents: ResolvedAgent[] = [];
  for (const agent of a.agents) {
    const where = `agent "${agent.name}"`;
    if (!isLabel(agent.name, FARGATE_NAME_LIMIT.max))
      problems.push(
        `${where}: name must be a lowercase DNS label of at most ${FARGATE_NAME_LIMIT.max} characters on Fargate (IAM role names derive from it)`,
      );
    if (seen.has(agent.name)) problems.push(`${where}: name is used twice`);
    seen.add(agent.name);
    for (const k of Object.keys(agent.env)) {
      if (!ENV_NAME.test(k)) problems.push(`${where}: env "${k}" is not a valid variable name`);
    }
    const secretNames = new Set<string>();
    for (const s of agent.secrets) {
      if (!ENV_NAME.test(s.name)) problems.push(`${where}: secret "${s.name}" is not a valid variable name`);
      if (secretNames.has(s.name)) problems.push(`${where}: secret "${s.name}" is given twice`);
      if (s.name in agent.env) problems.push(`${where}: "${s.name}" is both a secret and a plain env variable`);
      if (isReservedEnvName(s.name)) {
        problems.push(`${where}: secret "${s.name}" would shadow a runtime variable`);
      }
      secretNames.add(s.name);
    }
    const codeDir = path.resolve(agent.codeDir ?? path.join(DEFAULTS.agentsDir, agent.name));
    const codeProblem = codeFolderProblem(codeDir, codeDir);
    if (codeProblem) problems.push(`${where}: code ${codeProblem}`);
    if (!Number.isInteger(agent.resources.pids) || agent.resources.pids < 1) {
      problems.push(`${where}: resources.pids must be a positive whole number, got ${agent.resources.pids}`);
    }
    try {
      agents.push({
        ...agent,
        codeDir,
        size: fargateTaskSize(agent.name, agent.resources.cpus, agent.resources.memoryMb),
      });
    } catch (e) {
      problems.push((e as Error).message);
    }
  }

  const projects = a.projects ?? [];
  const projectNames = new Set<string>();
  for (const p of projects) {
    const where = `project "${p.name}"`;
    if (!isLabel(p.name, FARGATE_NAME_LIMIT.max))
      problems.push(
        `${where}: name must be a lowercase DNS label of at most ${FARGATE_NAME_LIMIT.max} characters on Fargate`,
      );
    if (projectNames.has(p.name)) problems.push(`${where}: name is used twice`);
    projectNames.add(p.name);
    const sourceDir = path.resolve(p.sourceDir);
    const sourceProblem = codeFolderProblem(sourceDir, sourceDir);
    if (sourceProblem) problems.push(`${where}: source ${sourceProblem}`);
  }
  for (const agent of a.agents) {
    for (const p of agent.projects ?? []) {
      if (!projectNames.has(p))
        problems.push(`agent "${agent.name}": project "${p}" is not one of the fleet's projects`);
    }
    if (new Set(agent.projects ?? []).size !== (agent.projects ?? []).length)
      problems.push(`agent "${agent.name}": lists a project twice`);
  }

  const egressPorts = a.egressPorts ?? [...DEFAULTS.egressPorts];
  for (const p of egressPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) problems.push(`egressPorts: ${p} is not a TCP port (1-65535)`);
  }
  if (new Set(egressPorts).size !== egressPorts.length) problems.push("egressPorts: a port is listed twice");

  const n = a.network ?? {};
  let network: ResolvedFleetArgs["network"];
  if (n.vpcId !== undefined || n.subnetIds !== undefined) {
    if (!n.vpcId) problems.push("network.vpcId is required when network.subnetIds is given");
    if (!n.subnetIds || n.subnetIds.length === 0)
      problems.push("network.subnetIds: give at least one subnet of network.vpcId");
    if (n.subnetIds && new Set(n.subnetIds).size !== n.subnetIds.length)
      problems.push("network.subnetIds: a subnet is listed twice");
    network = {
      kind: "existing",
      vpcId: n.vpcId ?? "",
      subnetIds: n.subnetIds ?? [],
      assignPublicIp: n.assignPublicIp ?? false,
    };
  } else {
    const count = n.availabilityZoneCount ?? DEFAULTS.availabilityZoneCount;
    if (!Number.isInteger(count) || count < 1 || count > 6)
      problems.push(`network.availabilityZoneCount must be 1 to 6, got ${count}`);
    const cidr = n.cidrBlock ?? DEFAULTS.vpcCidr;
    if (newVpcCidrProblem(cidr) !== undefined) {
      problems.push(
        `network.cidrBlock "${cidr}" must be an IPv4 CIDR from /${NEW_VPC_PREFIX.min} to /${NEW_VPC_PREFIX.max}`,
      );
    }
    network = { kind: "new", cidrBlock: cidr, availabilityZoneCount: count, assignPublicIp: n.assignPublicIp ?? true };
  }

  const logRetentionDays = a.logRetentionDays ?? DEFAULTS.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(
      `logRetentionDays ${logRetentionDays} is not accepted by CloudWatch; use one of ${LOG_RETENTION_DAYS.join(", ")}`,
    );
  }
  const cpuArchitecture = a.cpuArchitecture ?? DEFAULTS.cpuArchitecture;
  if (cpuArchitecture !== "X86_64" && cpuArchitecture !== "ARM64")
    problems.push(`cpuArchitecture must be X86_64 or ARM64, got "${cpuArchitecture}"`);

  const defaultPlatform = cpuArchitecture === "ARM64" ? "linux/arm64" : "linux/amd64";
  let image: ResolvedFleetArgs["image"];
  if (a.image && "ref" in a.image) {
    if (!a.image.ref || /\s/.test(a.image.ref)) problems.push(`image.ref "${a.image.ref}" is not an image reference`);
    image = { kind: "ref", ref: a.image.ref, platform: a.image.platform ?? defaultPlatform };
  } else {
    const b = a.image && "build" in a.image ? a.image.build : {};
    image = {
      kind: "build",
      context: b.context ?? ".",
      dockerfile: b.dockerfile ?? DEFAULTS.dockerfile,
      platform: b.platform ?? defaultPlatform,
    };
  }

  if (problems.length > 0) {
    throw new Error(`FargateFleet "${a.fleetName}": invalid arguments:\n  ${problems.join("\n  ")}`);
  }
  return {
    fleetName: a.fleetName,
    agents,
    projects: projects.map((p) => ({ ...p, sourceDir: path.resolve(p.sourceDir) })),
    network,
    egressPorts,
    image,
    paused: a.paused ?? false,
    retainData: a.retainData ?? false,
    logRetentionDays,
    cpuArchitecture,
    enableExecuteCommand: a.enableExecuteCommand ?? true,
    ...(a.console ? { console: a.console } : {}),
    tags: { "agent-fleet:fleet": a.fleetName, ...(a.tags ?? {}) },
  };
}
