import { z } from "zod";
import { FARGATE_NAME_LIMIT } from "../../contract/names.js";
import type { CommonFleetConfig } from "../../config/fleetConfig.js";
import { bool, positiveInt } from "../../config/schemaParts.js";
import type { TargetConfigPart } from "../../config/targetPart.js";
import { AWS_DEFAULTS, LOG_RETENTION_DAYS, newVpcCidrProblem } from "./limits.js";
import { FARGATE_SIZES } from "./fargateSizing.js";
import { egressByNameWarning, namesAHost } from "./egress.js";

/** `agent-fleet:aws`: the target aws's section of the stack config. */
export const awsSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, { error: "must be an AWS region such as eu-central-1" })
    .optional(),
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/, { error: "must be a VPC id such as vpc-0abc1234" })
    .optional(),
  subnetIds: z
    .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: "must be a subnet id such as subnet-0abc1234" }))
    .min(1, { error: "must list at least one subnet" })
    .optional(),
  vpcCidr: z.string().optional(),
  egressPorts: z
    .array(positiveInt(1, 65535))
    .min(1, { error: "must list at least one port" })
    .default([...AWS_DEFAULTS.egressPorts]),
  retainData: bool().default(AWS_DEFAULTS.retainData),
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      error: `must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(AWS_DEFAULTS.logRetentionDays),
});

type AwsSection = z.output<typeof awsSchema>;

export interface AwsFleetConfig extends CommonFleetConfig {
  target: "aws";
  aws: Omit<AwsSection, "region" | "vpcCidr"> & { region: string; vpcCidr: string };
}

/**
 * Fargate's task size for an agent: cpus must be one of Fargate's CPU values and memory one of
 * the sizes it allows for them (default: the smallest).
 */
function fargateResources(
  asked: { cpus: number; memoryMb?: number },
  at: ReadonlyArray<PropertyKey>,
  add: (s: ReadonlyArray<PropertyKey>, m: string) => void,
) {
  const { cpus } = asked;
  const size = FARGATE_SIZES.find((r) => r.cpu === cpus * 1024);
  if (!size) {
    add([...at, "cpus"], `Fargate offers ${FARGATE_SIZES.map((r) => r.cpu / 1024).join(", ")} vCPU, not ${cpus}`);
    return asked;
  }
  const allowed = size.memory;
  const min = allowed[0] ?? 0;
  const max = allowed[allowed.length - 1] ?? 0;
  const memoryMb = asked.memoryMb ?? min;
  if (!allowed.includes(memoryMb)) {
    const step = (allowed[1] ?? min) - min;
    add(
      [...at, "memory"],
      `${memoryMb} MiB is not a Fargate size for ${cpus} vCPU (allowed: ${min}-${max} MiB in steps of ${step})`,
    );
  }
  return { cpus, memoryMb };
}

export const awsConfig: TargetConfigPart<AwsFleetConfig> = {
  name: "aws",
  section: {
    key: "aws",
    schema: awsSchema,
    defaults: {
      egressPorts: [...AWS_DEFAULTS.egressPorts],
      retainData: AWS_DEFAULTS.retainData,
      logRetentionDays: AWS_DEFAULTS.logRetentionDays,
    },
  },
  hostRoot: "none",
  usesSsh: false,
  nameLimit: FARGATE_NAME_LIMIT,
  agentResources: fargateResources,
  egressWarning: (t) => (namesAHost(t) ? egressByNameWarning(t) : undefined),
  build(common, section, add, given) {
    const aws = section as AwsSection;
    let ok = true;
    const problem = (segments: ReadonlyArray<PropertyKey>, message: string) => {
      ok = false;
      add(segments, message);
    };
    if (aws.region === undefined) problem(["aws", "region"], "is required for target aws, e.g. eu-central-1");
    if ((aws.vpcId === undefined) !== (aws.subnetIds === undefined)) {
      problem(
        ["aws", aws.vpcId === undefined ? "vpcId" : "subnetIds"],
        "give both vpcId and subnetIds to use an existing VPC, or neither for a new one",
      );
    }
    if (aws.vpcCidr !== undefined) {
      const cidrProblem = newVpcCidrProblem(aws.vpcCidr);
      if (cidrProblem) problem(["aws", "vpcCidr"], cidrProblem);
      if (aws.vpcId !== undefined)
        problem(["aws", "vpcCidr"], "applies only to a new VPC; remove it when vpcId is set");
    }
    if (new Set(aws.egressPorts).size !== aws.egressPorts.length) problem(["aws", "egressPorts"], "lists a port twice");
    if (given.image.baseImage !== undefined || given.image.buildArgs !== undefined) {
      problem(
        ["image", given.image.baseImage !== undefined ? "baseImage" : "buildArgs"],
        "is not supported by target aws yet (its image is built from agent-image/Dockerfile with its defaults); use image.ref for a custom image",
      );
    }
    if (!ok || aws.region === undefined) return undefined;
    return {
      ...common,
      target: "aws",
      aws: { ...aws, region: aws.region, vpcCidr: aws.vpcCidr ?? AWS_DEFAULTS.vpcCidr },
    };
  },
};
