import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FargateFleet, type FargateFleetArgs } from "../../../../targets/aws/index.js";

/**
 * Runs `new FargateFleet(...)` under `pulumi.runtime.setMocks` (nothing reaches AWS or Docker)
 * and records every resource registration with its inputs, as the engine would receive them.
 */
export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
}

const short = (s: string) => createHash("sha256").update(s).digest("hex");

/** Computed attributes the real providers would return, derived deterministically from inputs. */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  const arn = (svc: string, rest: string) => `arn:aws:${svc}:${REGION}:${ACCOUNT}:${rest}`;
  switch (type) {
    case "aws:ecr/repository:Repository":
      return {
        arn: arn("ecr", `repository/${inputs.name}`),
        registryId: ACCOUNT,
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${inputs.name}`,
      };
    case "docker:index/image:Image": {
      const repo = String(inputs.imageName).replace(/:[^:/]+$/, "");
      return { repoDigest: `${repo}@sha256:${short(JSON.stringify(inputs.build))}` };
    }
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: arn("logs", `log-group:${inputs.name}`) };
    case "aws:ssm/parameter:Parameter":
      return { arn: arn("ssm", `parameter${inputs.name}`) };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, name };
    case "aws:ecs/cluster:Cluster":
      return { arn: arn("ecs", `cluster/${inputs.name}`) };
    case "aws:ecs/taskDefinition:TaskDefinition":
      return { arn: arn("ecs", `task-definition/${inputs.family}:1`), revision: 1 };
    case "aws:ecs/service:Service":
      return { arn: arn("ecs", `service/${inputs.name}`) };
    case "aws:efs/accessPoint:AccessPoint":
      return { arn: arn("elasticfilesystem", `access-point/fsap-${short(name).slice(0, 8)}`) };
    case "aws:efs/fileSystem:FileSystem":
      return { arn: arn("elasticfilesystem", `file-system/fs-${short(name).slice(0, 8)}`) };
    default:
      return { arn: arn("mock", `${type}/${name}`) };
  }
}

export function setAwsMocks(recorded: Recorded[]): void {
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const state = { ...args.inputs, ...computed(args.type, args.name, args.inputs) };
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, state });
        return { id: `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        switch (args.token) {
          case "aws:index/getRegion:getRegion":
            return {
              id: REGION,
              name: REGION,
              region: REGION,
              endpoint: `ec2.${REGION}.amazonaws.com`,
              description: "Europe (Ireland)",
            };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: "AIDAEXAMPLE" };
          case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
              id: REGION,
              names: [`${REGION}a`, `${REGION}b`, `${REGION}c`],
              zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"],
            };
          case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
              id: ACCOUNT,
              userName: "AWS",
              password: "mock-ecr-password",
              authorizationToken: "bW9jaw==",
              proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
              expiresAt: "2099-01-01T00:00:00Z",
            };
          default:
            throw new Error(`unmocked invoke ${args.token}`);
        }
      },
    },
    "agent-fleet",
    "aws",
    false,
  );
}

export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) =>
    o.apply((v) => {
      resolve(v);
      return v;
    }),
  );
}

/** Lets pending registrations reach the mock monitor: stop when a round of ticks adds nothing. */
async function settle(recorded: Recorded[]): Promise<void> {
  let last = -1;
  let quiet = 0;
  for (let round = 0; round < 2000 && quiet < 50; round++) {
    await new Promise((r) => setImmediate(r));
    if (recorded.length === last) quiet++;
    else {
      quiet = 0;
      last = recorded.length;
    }
  }
}

export interface FleetRun {
  fleet: FargateFleet;
  resources: Recorded[];
  /** Resource options as the program passed them (retainOnDelete, dependsOn, ...), by resource name. */
  options: Map<string, pulumi.ResourceOptions>;
  outputs: {
    services: Awaited<ReturnType<typeof valueOf<FargateFleet["services"] extends pulumi.Output<infer S> ? S : never>>>;
    execCommands: Record<string, { proposals: string; status: string; health: string }>;
    operatorCommands: Record<string, string>;
    clusterName: string;
    logGroupName: string;
  };
  byType(type: string): Recorded[];
  one(type: string, name: string): Recorded;
}

export async function runFleet(args: FargateFleetArgs, name = "fleet"): Promise<FleetRun> {
  const resources: Recorded[] = [];
  setAwsMocks(resources);
  const options = new Map<string, pulumi.ResourceOptions>();
  // A transformation sees every child's options (the mock monitor does not receive them).
  const fleet = new FargateFleet(name, args, {
    transformations: [
      (t) => {
        options.set(t.name, t.opts);
        return undefined;
      },
    ],
  });
  const [services, execCommands, operatorCommands, clusterName, logGroupName] = await Promise.all([
    valueOf(fleet.services),
    valueOf(fleet.execCommands),
    valueOf(fleet.operatorCommands),
    valueOf(fleet.clusterName),
    valueOf(fleet.logGroupName),
  ]);
  await settle(resources);
  const byType = (type: string) => resources.filter((r) => r.type === type);
  const one = (type: string, n: string) => {
    const found = resources.filter((r) => r.type === type && r.name === n);
    if (found.length !== 1)
      throw new Error(
        `expected one ${type} named ${n}, found ${found.length}: ${byType(type)
          .map((r) => r.name)
          .join(", ")}`,
      );
    return found[0]!;
  };
  return {
    fleet,
    resources,
    options,
    outputs: {
      services,
      execCommands,
      operatorCommands: operatorCommands as unknown as Record<string, string>,
      clusterName,
      logGroupName,
    },
    byType,
    one,
  };
}

/** Agents' code folders for the tests (each with an agent.json and a .git that is not copied). */
export const CODE_ROOT = mkdtempSync(join(tmpdir(), "fleet-code-"));

export function codeDirOf(name: string): string {
  const dir = join(CODE_ROOT, name);
  mkdirSync(join(dir, ".git"), { recursive: true });
  writeFileSync(join(dir, "agent.json"), JSON.stringify({ command: ["node", "main.js"], agent: name }));
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  return dir;
}

export function agent(
  name: string,
  over: Partial<FargateFleetArgs["agents"][number]> = {},
): FargateFleetArgs["agents"][number] {
  return {
    name,
    codeDir: codeDirOf(name),
    approvalRequired: true,
    capabilities: ["code"],
    env: { LOG_LEVEL: "info" },
    secrets: [],
    resources: { cpus: 0.5, memoryMb: 1024, pids: 256 },
    ...over,
  };
}
