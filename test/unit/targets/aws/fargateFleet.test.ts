import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FargateFleet, type FargateFleetArgs } from "../../../../targets/aws/index.js";
import { ACCOUNT, CODE_ROOT, REGION, agent, runFleet, setAwsMocks, type FleetRun, type Recorded } from "./mocks.js";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  fs: "aws:efs/fileSystem:FileSystem",
  mount: "aws:efs/mountTarget:MountTarget",
  ap: "aws:efs/accessPoint:AccessPoint",
  repo: "aws:ecr/repository:Repository",
  image: "docker:index/image:Image",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  cluster: "aws:ecs/cluster:Cluster",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  taskDef: "aws:ecs/taskDefinition:TaskDefinition",
  service: "aws:ecs/service:Service",
  param: "aws:ssm/parameter:Parameter",
  fsPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
} as const;

// The agents' code folders and the build contexts FleetImage generates (project agent-fleet, stack aws).
afterAll(() => {
  rmSync(CODE_ROOT, { recursive: true, force: true });
  rmSync(join(tmpdir(), "agent-fleet-build", "agent-fleet.aws"), { recursive: true, force: true });
});

const containersOf = (td: Recorded): any[] => JSON.parse(td.inputs.containerDefinitions);
const runtimeOf = (td: Recorded) => containersOf(td).find((c) => c.name === "runtime");
const envOf = (td: Recorded): Record<string, string> =>
  Object.fromEntries(runtimeOf(td).environment.map((e: { name: string; value: string }) => [e.name, e.value]));

const three = (over: Partial<FargateFleetArgs> = {}): FargateFleetArgs => ({
  fleetName: "demo",
  agents: [
    agent("alpha"),
    agent("beta", { approvalRequired: false, resources: { cpus: 1, memoryMb: 2048, pids: 128 } }),
    agent("gamma", { capabilities: ["web", "code"], resources: { cpus: 2, memoryMb: 4096, pids: 512 } }),
  ],
  ...over,
});

function counts(run: FleetRun): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of run.resources) c[r.type] = (c[r.type] ?? 0) + 1;
  return c;
}

describe("one agent, defaults", () => {
  test("creates exactly the expected resources", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    expect(counts(run)).toEqual({
      "agent-fleet:aws:FargateFleet": 1,
      "agent-fleet:aws:FleetNetwork": 1,
      "agent-fleet:aws:FleetStorage": 1,
      "agent-fleet:aws:FleetImage": 1,
      [T.vpc]: 1,
      "aws:ec2/internetGateway:InternetGateway": 1,
      "aws:ec2/routeTable:RouteTable": 1,
      "aws:ec2/routeTableAssociation:RouteTableAssociation": 2,
      [T.subnet]: 2,
      [T.sg]: 3, // tasks, EFS, and writer's own network group (none: no rule)
      [T.egress]: 2,
      [T.ingress]: 1,
      [T.fs]: 1,
      [T.mount]: 2,
      [T.ap]: 3,
      [T.repo]: 1,
      "aws:ecr/lifecyclePolicy:LifecyclePolicy": 1,
      [T.image]: 2, // the agent image + writer's image (agent image + its code)
      [T.logGroup]: 1,
      [T.cluster]: 1,
      [T.role]: 4, // writer's and the operator's task and execution roles
      [T.rolePolicy]: 4,
      [T.fsPolicy]: 1,
      [T.taskDef]: 2, // writer + operator
      [T.service]: 1,
    });
    // No NAT gateway, no load balancer, no managed policy attachment, no secret parameter.
    for (const t of [
      "aws:ec2/natGateway:NatGateway",
      "aws:lb/loadBalancer:LoadBalancer",
      T.attachment,
      T.param,
      "aws:ec2/eip:Eip",
    ]) {
      expect(run.byType(t)).toEqual([]);
    }
  });

  test("network: a small VPC with public subnets in two zones, DNS on for EFS", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    expect(run.one(T.vpc, "fleet-network-vpc").inputs).toMatchObject({
      cidrBlock: "10.42.0.0/16",
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    const subnets = run
      .byType(T.subnet)
      .map((s) => [s.inputs.cidrBlock, s.inputs.availabilityZone, s.inputs.mapPublicIpOnLaunch]);
    expect(subnets).toEqual([
      ["10.42.0.0/20", `${REGION}a`, false],
      ["10.42.16.0/20", `${REGION}b`, false],
    ]);
    expect(run.byType("aws:ec2/routeTable:RouteTable")[0]?.inputs.routes).toEqual([
      { cidrBlock: "0.0.0.0/0", gatewayId: "fleet-network-igw-id" },
    ]);
  });

  test("storage: encrypted EFS, a mount target per subnet, root-owned access points without a POSIX user", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    expect(run.one(T.fs, "fleet-storage-fs").inputs).toMatchObject({ encrypted: true });
    expect(run.byType(T.mount).map((m) => [m.inputs.subnetId, m.inputs.securityGroups])).toEqual([
      ["fleet-network-public-0-id", ["fleet-network-efs-id"]],
      ["fleet-network-public-1-id", ["fleet-network-efs-id"]],
    ]);
    const aps = run.byType(T.ap);
    expect(aps.map((a) => a.inputs.rootDirectory.path).sort()).toEqual(["/agents/writer", "/decisions", "/shared"]);
    for (const a of aps) {
      expect(a.inputs.posixUser).toBeUndefined();
      expect(a.inputs.rootDirectory.creationInfo).toEqual({ ownerUid: 0, ownerGid: 0, permissions: "0755" });
      expect(a.inputs.fileSystemId).toBe("fleet-storage-fs-id");
    }
    // retainData off: destroy removes the file system.
    expect(run.options.get("fleet-storage-fs")?.retainOnDelete).toBe(false);
    expect(run.options.get("fleet-storage-fs")?.protect).toBeFalsy();
    expect(run.fleet.retainDataNotice).toBeUndefined();
  });

  test("images: ECR repository, agent image from agent-image/Dockerfile, each agent's image = agent image + its own code, used by digest", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    expect(run.one(T.repo, "fleet-image-repo").inputs).toMatchObject({
      name: "agent-fleet/demo",
      forceDelete: true,
      imageScanningConfiguration: { scanOnPush: true },
    });
    const lifecycle = JSON.parse(run.byType("aws:ecr/lifecyclePolicy:LifecyclePolicy")[0]!.inputs.policy);
    expect(lifecycle.rules[0].selection).toEqual({
      tagStatus: "untagged",
      countType: "sinceImagePushed",
      countUnit: "days",
      countNumber: 14,
    });
    const base = run.one(T.image, "fleet-image-agent");
    const writer = run.one(T.image, "fleet-image-writer");
    const repoUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/agent-fleet/demo`;
    expect(base.inputs.imageName).toBe(`${repoUrl}:agent`);
    expect(base.inputs.build.context).toBe(process.cwd());
    expect(base.inputs.build.dockerfile).toBe(join(process.cwd(), "agent-image", "Dockerfile"));
    expect(base.inputs.build.platform).toBe("linux/amd64");
    // Registry credentials reach the provider as a Pulumi secret (the special signature key).
    expect(base.inputs.registry[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
    expect(base.inputs.registry.value).toEqual({
      server: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
      username: "AWS",
      password: "mock-ecr-password",
    });

    expect(writer.inputs.imageName).toBe(`${repoUrl}:writer`);
    expect(writer.inputs.build.args).toEqual({ AGENT_IMAGE: base.state.repoDigest });
    // The generated build context holds the Dockerfile and a copy of the agent's code without .git.
    const ctx = writer.inputs.build.context as string;
    expect(writer.inputs.build.dockerfile).toBe(join(ctx, "Dockerfile"));
    expect(readFileSync(join(ctx, "Dockerfile"), "utf8")).toMatch(
      /^FROM \$\{AGENT_IMAGE\}$\n^USER root$\n^COPY code\/ \/opt\/agent-fleet\/seed\/writer\/$/m,
    );
    expect(readdirSync(join(ctx, "code"))).toEqual(["agent.json"]);
    expect(JSON.parse(readFileSync(join(ctx, "code", "agent.json"), "utf8")).agent).toBe("writer");

    const td = run.one(T.taskDef, "fleet-writer");
    for (const c of containersOf(td)) expect(c.image).toBe(writer.state.repoDigest);
    const op = run.one(T.taskDef, "fleet-operator");
    expect(containersOf(op)[0].image).toBe(base.state.repoDigest);
  });

  test("task definition and service: Fargate, sized, EFS over TLS, exec on, one task at a time", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    const td = run.one(T.taskDef, "fleet-writer");
    expect(td.inputs).toMatchObject({
      family: "demo-writer",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "512",
      memory: "1024",
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/fleet-writer-execution`,
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/fleet-writer-task`,
    });
    const efs = (name: string) => td.inputs.volumes.find((v: any) => v.name === name).efsVolumeConfiguration;
    expect(efs("agent-code")).toEqual({
      fileSystemId: "fleet-storage-fs-id",
      transitEncryption: "ENABLED",
      authorizationConfig: { accessPointId: "fleet-storage-code-writer-id", iam: "ENABLED" },
    });
    for (const v of td.inputs.volumes.filter((x: any) => x.efsVolumeConfiguration)) {
      expect(v.efsVolumeConfiguration).toMatchObject({
        transitEncryption: "ENABLED",
        authorizationConfig: { iam: "ENABLED" },
      });
    }
    expect(efs("shared").authorizationConfig.accessPointId).toBe("fleet-storage-shared-id");
    expect(efs("decisions").authorizationConfig.accessPointId).toBe("fleet-storage-decisions-id");
    expect(td.inputs.volumes.filter((v: any) => !v.efsVolumeConfiguration).map((v: any) => v.name)).toEqual([
      "scratch",
      "tmp",
      "ssm-lib",
      "ssm-log",
    ]);
    expect(runtimeOf(td).mountPoints.find((m: any) => m.containerPath === "/decisions").readOnly).toBe(true);
    expect(runtimeOf(td).readonlyRootFilesystem).toBe(true);
    expect(runtimeOf(td).healthCheck.command).toEqual(["CMD", "agentctl", "health"]);

    const svc = run.one(T.service, "fleet-writer");
    expect(svc.inputs).toMatchObject({
      name: "writer",
      cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/demo",
      taskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-writer:1",
      desiredCount: 1,
      launchType: "FARGATE",
      enableExecuteCommand: true,
      deploymentMinimumHealthyPercent: 0,
      deploymentMaximumPercent: 100,
      networkConfiguration: {
        subnets: ["fleet-network-public-0-id", "fleet-network-public-1-id"],
        securityGroups: ["fleet-network-tasks-id", "fleet-writer-egress-id"],
        assignPublicIp: true,
      },
    });
    expect(svc.inputs.loadBalancers).toBeUndefined();
    // Tasks start only once EFS is mountable.
    const deps = (run.options.get("fleet-writer") as any)?.dependsOn;
    expect(Array.isArray(deps) ? deps.length : 0).toBe(2);
  });

  test("log group and cluster", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")], logRetentionDays: 14 });
    expect(run.one(T.logGroup, "fleet-logs").inputs).toMatchObject({ name: "/agent-fleet/demo", retentionInDays: 14 });
    expect(run.one(T.cluster, "fleet-cluster").inputs).toMatchObject({
      name: "demo",
      settings: [{ name: "containerInsights", value: "disabled" }],
    });
    expect(run.outputs.logGroupName).toBe("/agent-fleet/demo");
    expect(run.outputs.clusterName).toBe("demo");
  });

  test("outputs: services, exec commands per agent, operator commands, cost estimate", async () => {
    const run = await runFleet({ fleetName: "demo", agents: [agent("writer")] });
    expect(run.outputs.services).toEqual({
      writer: {
        serviceName: "writer",
        serviceArn: "arn:aws:ecs:eu-west-1:123456789012:service/writer",
        taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-writer:1",
        desiredCount: 1,
      },
    });
    expect(run.outputs.execCommands.writer?.proposals).toMatch(
      /^aws ecs execute-command --region eu-west-1 --cluster demo --task "\$\(aws ecs list-tasks .*--service-name writer .*\)" --container runtime --interactive --command 'agentctl proposals'$/,
    );
    expect(Object.keys(run.outputs.execCommands.writer!)).toEqual(["proposals", "status", "health"]);
    expect(Object.keys(run.outputs.operatorCommands)).toEqual([
      "start",
      "proposals",
      "diff",
      "approve",
      "reject",
      "stop",
    ]);
    expect(run.outputs.operatorCommands.reject).toMatch(
      /--container operator --interactive --command "agentctl reject <proposal-id> --reason '<reason>'"$/,
    );
    expect(run.outputs.operatorCommands.approve).toMatch(
      /--family demo-operator .*--container operator --interactive --command 'agentctl approve <proposal-id>'$/,
    );
    expect(run.outputs.operatorCommands.start).toMatch(/aws ecs run-task .*--task-definition demo-operator/);
    // 0.5 vCPU / 1 GB: 730 × (0.5 × 0.04048 + 1 × 0.004445) = 18.02, + 3.65 public IPv4
    expect(run.fleet.costEstimate.monthlyUsd).toBe(21.67);
    expect(run.fleet.costEstimate.pricesAsOf).toMatch(/^\d{4}-\d{2}$/);
  });
});

describe("three agents", () => {
  test("one service, task definition, execution role and code access point per agent; each task mounts its own code", async () => {
    const run = await runFleet(three());
    expect(run.byType(T.service).map((s) => s.inputs.name)).toEqual(["alpha", "beta", "gamma"]);
    expect(
      run
        .byType(T.taskDef)
        .map((t) => t.inputs.family)
        .sort(),
    ).toEqual(["demo-alpha", "demo-beta", "demo-gamma", "demo-operator"]);
    expect(run.byType(T.role)).toHaveLength(8); // a task and an execution role per agent and for the operator
    expect(run.byType(T.ap)).toHaveLength(5);
    expect(run.byType(T.mount)).toHaveLength(2);
    expect(run.byType(T.image).map((i) => i.name)).toEqual([
      "fleet-image-agent",
      "fleet-image-alpha",
      "fleet-image-beta",
      "fleet-image-gamma",
    ]);
    expect(run.byType(T.cluster)).toHaveLength(1);
    for (const name of ["alpha", "beta", "gamma"]) {
      const td = run.one(T.taskDef, `fleet-${name}`);
      const code = td.inputs.volumes.find((v: any) => v.name === "agent-code").efsVolumeConfiguration
        .authorizationConfig.accessPointId;
      expect(code).toBe(`fleet-storage-code-${name}-id`);
      expect(td.inputs.executionRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/fleet-${name}-execution`);
      expect(envOf(td).AGENT_NAME).toBe(name);
      expect(containersOf(td)[0].command[0]).toContain(`/opt/agent-fleet/seed/${name}`);
      // Each task runs its own agent's image: no agent's image holds another agent's code.
      const own = run.one(T.image, `fleet-image-${name}`);
      for (const c of containersOf(td)) expect(c.image).toBe(own.state.repoDigest);
      expect(readdirSync(own.inputs.build.context)).toEqual(["Dockerfile", "code"]);
    }
    expect(
      [
        ["alpha", "512", "1024"],
        ["beta", "1024", "2048"],
        ["gamma", "2048", "4096"],
      ].map(([n]) => {
        const td = run.one(T.taskDef, `fleet-${n}`);
        return [n, td.inputs.cpu, td.inputs.memory];
      }),
    ).toEqual([
      ["alpha", "512", "1024"],
      ["beta", "1024", "2048"],
      ["gamma", "2048", "4096"],
    ]);
    expect(envOf(run.one(T.taskDef, "fleet-beta")).APPROVAL_REQUIRED).toBe("false");
    expect(envOf(run.one(T.taskDef, "fleet-gamma")).AGENT_CAPABILITIES).toBe("code,web");
    expect(runtimeOf(run.one(T.taskDef, "fleet-gamma")).ulimits).toEqual([
      { name: "nproc", softLimit: 512, hardLimit: 512 },
    ]);
    expect(Object.keys(run.outputs.execCommands)).toEqual(["alpha", "beta", "gamma"]);
    expect(run.fleet.costEstimate.agents.map((a) => a.agent)).toEqual(["alpha", "beta", "gamma"]);
  });

  test("flipping one agent's approval changes only that agent's task definition, and only APPROVAL_REQUIRED in it", async () => {
    const before = await runFleet(three());
    const flipped = three();
    flipped.agents[2] = { ...flipped.agents[2]!, approvalRequired: false };
    const after = await runFleet(flipped);
    expect(after.resources.map((r) => `${r.type} ${r.name}`)).toEqual(
      before.resources.map((r) => `${r.type} ${r.name}`),
    );
    const changed = after.resources
      .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(before.resources[i]!.inputs))
      .map((r) => `${r.type} ${r.name}`);
    expect(changed).toEqual([`${T.taskDef} fleet-gamma`]);
    const b = envOf(before.one(T.taskDef, "fleet-gamma"));
    const a = envOf(after.one(T.taskDef, "fleet-gamma"));
    expect(b.APPROVAL_REQUIRED).toBe("true");
    expect(a).toEqual({ ...b, APPROVAL_REQUIRED: "false" });
  });

  test("paused: every service has desiredCount 0, nothing else changes, cost is storage only", async () => {
    const running = await runFleet(three());
    const paused = await runFleet(three({ paused: true }));
    expect(paused.byType(T.service).map((s) => s.inputs.desiredCount)).toEqual([0, 0, 0]);
    expect(running.byType(T.service).map((s) => s.inputs.desiredCount)).toEqual([1, 1, 1]);
    const changed = paused.resources
      .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(running.resources[i]!.inputs))
      .map((r) => r.type);
    expect(changed).toEqual([T.service, T.service, T.service]);
    expect(Object.values(paused.outputs.services).map((s) => s.desiredCount)).toEqual([0, 0, 0]);
    expect(paused.fleet.costEstimate.monthlyUsd).toBe(0);
  });
});

describe("per-agent pause", () => {
  test("one agent paused: only its service goes to desiredCount 0, and only its cost drops", async () => {
    const running = await runFleet(three());
    const cfg = three();
    cfg.agents[1] = { ...cfg.agents[1]!, paused: true };
    const one = await runFleet(cfg);
    expect(one.byType(T.service).map((s) => s.inputs.desiredCount)).toEqual([1, 0, 1]);
    const changed = one.resources
      .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(running.resources[i]!.inputs))
      .map((r) => `${r.type} ${r.name}`);
    expect(changed).toEqual([`${T.service} fleet-beta`]);
    expect(one.fleet.costEstimate.agents.map((a) => a.runningTasks)).toEqual([1, 0, 1]);
    expect(one.fleet.costEstimate.monthlyUsd).toBeLessThan(running.fleet.costEstimate.monthlyUsd);
  });
});

describe("security", () => {
  test("no ingress anywhere except NFS into the EFS mount targets from the tasks' group", async () => {
    const run = await runFleet(three({ egressPorts: [443, 22] }));
    for (const sg of run.byType(T.sg)) {
      expect(sg.inputs.ingress ?? []).toEqual([]);
      expect(sg.inputs.egress ?? []).toEqual([]);
    }
    expect(run.byType(T.legacyRule)).toEqual([]);
    const ingress = run.byType(T.ingress);
    expect(ingress.map((r) => r.inputs)).toEqual([
      {
        securityGroupId: "fleet-network-efs-id",
        description: "NFS from agent tasks only",
        ipProtocol: "tcp",
        fromPort: 2049,
        toPort: 2049,
        referencedSecurityGroupId: "fleet-network-tasks-id",
      },
    ]);
    // The tasks' own group is the target of no ingress rule.
    expect(ingress.some((r) => r.inputs.securityGroupId === "fleet-network-tasks-id")).toBe(false);
    // Egress: exactly the configured ports (anywhere) and NFS (to EFS only).
    const egress = run
      .byType(T.egress)
      .map((r) => [
        r.inputs.securityGroupId,
        r.inputs.fromPort,
        r.inputs.toPort,
        r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
      ]);
    expect(egress).toEqual([
      ["fleet-network-tasks-id", 443, 443, "0.0.0.0/0"],
      ["fleet-network-tasks-id", 22, 22, "0.0.0.0/0"],
      ["fleet-network-tasks-id", 2049, 2049, "fleet-network-efs-id"],
    ]);
    // No container publishes a port, no service has a load balancer.
    for (const td of run.byType(T.taskDef)) for (const c of containersOf(td)) expect(c.portMappings).toBeUndefined();
    for (const s of run.byType(T.service)) expect(s.inputs.loadBalancers).toBeUndefined();
  });

  test("secrets reach containers only through `secrets` (SSM SecureString), never `environment` or anything else", async () => {
    const args = three();
    args.agents[0] = {
      ...args.agents[0]!,
      secrets: [
        { name: "OPENAI_API_KEY", value: pulumi.secret("sk-alpha-VERY-SECRET") },
        { name: "GH_TOKEN", value: pulumi.secret("ghp-alpha-SECRET") },
      ],
    };
    args.agents[1] = {
      ...args.agents[1]!,
      secrets: [{ name: "OPENAI_API_KEY", value: pulumi.secret("sk-beta-VERY-SECRET") }],
    };
    const run = await runFleet(args);
    const params = run.byType(T.param);
    expect(params.map((p) => [p.inputs.name, p.inputs.type])).toEqual([
      ["/agent-fleet/demo/alpha/OPENAI_API_KEY", "SecureString"],
      ["/agent-fleet/demo/alpha/GH_TOKEN", "SecureString"],
      ["/agent-fleet/demo/beta/OPENAI_API_KEY", "SecureString"],
    ]);
    // The secret values appear in no resource but their own parameter.
    for (const secret of ["sk-alpha-VERY-SECRET", "ghp-alpha-SECRET", "sk-beta-VERY-SECRET"]) {
      const holders = run.resources.filter((r) => JSON.stringify(r.inputs).includes(secret));
      expect(holders.map((r) => r.type)).toEqual([T.param]);
    }
    const alpha = runtimeOf(run.one(T.taskDef, "fleet-alpha"));
    expect(alpha.secrets).toEqual([
      { name: "GH_TOKEN", valueFrom: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/agent-fleet/demo/alpha/GH_TOKEN` },
      {
        name: "OPENAI_API_KEY",
        valueFrom: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/agent-fleet/demo/alpha/OPENAI_API_KEY`,
      },
    ]);
    for (const td of run.byType(T.taskDef)) {
      for (const c of containersOf(td)) {
        for (const e of c.environment ?? []) expect(["OPENAI_API_KEY", "GH_TOKEN"]).not.toContain(e.name);
      }
    }
    expect(runtimeOf(run.one(T.taskDef, "fleet-gamma")).secrets).toBeUndefined();
  });

  test("IAM: parsed policy documents are least privilege; no managed policies", async () => {
    const args = three();
    args.agents[0] = { ...args.agents[0]!, secrets: [{ name: "OPENAI_API_KEY", value: pulumi.secret("x") }] };
    const run = await runFleet(args);
    expect(run.byType(T.attachment)).toEqual([]);
    for (const r of run.byType(T.role)) {
      expect(r.inputs.managedPolicyArns ?? []).toEqual([]);
      expect(r.inputs.inlinePolicies ?? []).toEqual([]);
      const trust = JSON.parse(r.inputs.assumeRolePolicy);
      expect(trust.Statement).toHaveLength(1);
      expect(trust.Statement[0].Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
      expect(trust.Statement[0].Condition.StringEquals["aws:SourceAccount"]).toBe(ACCOUNT);
    }
    const policies = Object.fromEntries(
      run.byType(T.rolePolicy).map((p) => [p.name, { role: p.inputs.role, doc: JSON.parse(p.inputs.policy) }]),
    );
    expect(Object.keys(policies).sort()).toEqual([
      "fleet-alpha-execution",
      "fleet-alpha-task",
      "fleet-beta-execution",
      "fleet-beta-task",
      "fleet-gamma-execution",
      "fleet-gamma-task",
      "fleet-operator-execution",
      "fleet-operator-task",
    ]);

    // Task roles: EFS through the task's own access points, and the four ECS Exec channel actions.
    const fsArn = run.one(T.fs, "fleet-storage-fs").state.arn;
    const apArn = (n: string) => run.one(T.ap, `fleet-storage-${n}`).state.arn;
    const exec = {
      Sid: "EcsExecChannels",
      Effect: "Allow",
      Resource: "*",
      Action: [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ],
    };
    const viaAps = (sid: string, actions: string[], aps: string[]) => ({
      Sid: sid,
      Effect: "Allow",
      Action: actions,
      Resource: fsArn,
      Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": aps.map(apArn).sort() } },
    });
    const RW = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];
    const RO = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"];
    for (const who of ["alpha", "beta", "gamma"]) {
      expect(policies[`fleet-${who}-task`]!.role).toBe(`fleet-${who}-task`);
      // Its own code and the shared dir read-write; decisions mount only, never ClientWrite.
      expect(policies[`fleet-${who}-task`]!.doc.Statement).toEqual([
        viaAps("EfsReadWriteViaAccessPoints", RW, [`code-${who}`, "shared"]),
        viaAps("EfsReadOnlyViaAccessPoints", RO, ["decisions"]),
        exec,
      ]);
      expect(run.one(T.taskDef, `fleet-${who}`).inputs.taskRoleArn).toBe(
        `arn:aws:iam::${ACCOUNT}:role/fleet-${who}-task`,
      );
    }
    expect(policies["fleet-operator-task"]!.doc.Statement).toEqual([
      viaAps("EfsReadWriteViaAccessPoints", RW, ["shared", "decisions"]),
      exec,
    ]);
    expect(run.one(T.taskDef, "fleet-operator").inputs.taskRoleArn).toBe(
      `arn:aws:iam::${ACCOUNT}:role/fleet-operator-task`,
    );

    const repoArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/agent-fleet/demo`;
    const logArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/agent-fleet/demo`;
    for (const who of ["alpha", "beta", "gamma", "operator"]) {
      const { role, doc } = policies[`fleet-${who}-execution`]!;
      expect(role).toBe(`fleet-${who}-execution`);
      const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
      for (const s of doc.Statement) {
        expect(s.Effect).toBe("Allow");
        for (const a of s.Action) expect(a).not.toContain("*");
        if (s.Resource === "*") expect(s.Action).toEqual(["ecr:GetAuthorizationToken"]);
      }
      expect(bySid.PullFleetImage.Resource).toBe(repoArn);
      expect(bySid.WriteOwnLogStreams.Resource).toBe(`${logArn}:log-stream:${who}/*`);
      if (who === "alpha") {
        expect(bySid.ReadOwnSecrets).toEqual({
          Sid: "ReadOwnSecrets",
          Effect: "Allow",
          Action: ["ssm:GetParameters"],
          Resource: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/agent-fleet/demo/alpha/OPENAI_API_KEY`],
        });
        expect(doc.Statement).toHaveLength(4);
      } else {
        expect(bySid.ReadOwnSecrets).toBeUndefined();
        expect(doc.Statement).toHaveLength(3);
      }
    }
  });

  test("ECS Exec off: task roles keep only their EFS grants and services do not enable exec", async () => {
    const run = await runFleet(three({ enableExecuteCommand: false }));
    for (const p of run.byType(T.rolePolicy).filter((x) => x.name.endsWith("-task"))) {
      const actions = JSON.parse(p.inputs.policy).Statement.flatMap((s: any) => s.Action);
      expect(actions.every((a: string) => a.startsWith("elasticfilesystem:Client"))).toBe(true);
    }
    expect(run.byType(T.service).map((s) => s.inputs.enableExecuteCommand)).toEqual([false, false, false]);
  });
});

describe("EFS cannot be mounted around the access points", () => {
  test("the file system policy denies non-TLS, mounts without an access point, and foreign access points", async () => {
    const run = await runFleet(three());
    const fsArn = run.one(T.fs, "fleet-storage-fs").state.arn;
    const policy = run.one(T.fsPolicy, "fleet-storage-policy");
    expect(policy.inputs.fileSystemId).toBe("fleet-storage-fs-id");
    const doc = JSON.parse(policy.inputs.policy);
    // Only denies: nothing is granted to anyone by the resource policy (anonymous NFS clients
    // are refused once a policy exists); access comes from each task role alone.
    expect(doc.Statement.map((s: any) => s.Effect)).toEqual(["Deny", "Deny", "Deny"]);
    const ACTIONS = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
      "elasticfilesystem:ClientRootAccess",
    ];
    for (const s of doc.Statement) {
      expect(s.Principal).toEqual({ AWS: "*" });
      expect(s.Action).toEqual(ACTIONS);
      expect(s.Resource).toBe(fsArn);
    }
    const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s.Condition]));
    expect(bySid.DenyWithoutTls).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    expect(bySid.DenyWithoutAccessPoint).toEqual({ Null: { "elasticfilesystem:AccessPointArn": "true" } });
    const aps = run
      .byType(T.ap)
      .map((a) => a.state.arn)
      .sort();
    expect(aps).toHaveLength(5);
    expect(bySid.DenyOtherAccessPoints).toEqual({ StringNotEquals: { "elasticfilesystem:AccessPointArn": aps } });
  });

  test("every EFS volume of every task definition requires IAM authorization and TLS", async () => {
    const run = await runFleet(three());
    const volumes = run
      .byType(T.taskDef)
      .flatMap((td) => td.inputs.volumes.filter((v: any) => v.efsVolumeConfiguration));
    expect(volumes).toHaveLength(3 * 3 + 2);
    for (const v of volumes) {
      expect(v.efsVolumeConfiguration.transitEncryption).toBe("ENABLED");
      expect(v.efsVolumeConfiguration.authorizationConfig.iam).toBe("ENABLED");
      expect(v.efsVolumeConfiguration.authorizationConfig.accessPointId).toMatch(/^fleet-storage-/);
    }
  });
});

describe("options", () => {
  test("retainData: the file system survives destroy, and the fleet says so loudly", async () => {
    const warnings: string[] = [];
    const orig = pulumi.log.warn;
    (pulumi.log as any).warn = (msg: string) => {
      warnings.push(msg);
      return Promise.resolve();
    };
    try {
      const run = await runFleet(three({ retainData: true }));
      expect(run.options.get("fleet-storage-fs")?.retainOnDelete).toBe(true);
      expect(run.options.get("fleet-storage-fs")?.protect).toBeFalsy(); // destroy must still succeed
      // Nothing else is retained.
      for (const [name, o] of run.options)
        if (name !== "fleet-storage-fs") expect(o.retainOnDelete ?? false, name).toBe(false);
      expect(run.fleet.retainDataNotice).toMatch(
        /^RETAIN DATA IS ON for fleet "demo": `pulumi destroy` will KEEP the EFS file system/,
      );
      expect(warnings).toEqual([run.fleet.retainDataNotice]);
    } finally {
      (pulumi.log as any).warn = orig;
    }
  });

  test("existing VPC and subnets: no network is created, tasks get no public IP by default", async () => {
    const run = await runFleet(
      three({ network: { vpcId: "vpc-123", subnetIds: ["subnet-a", "subnet-b", "subnet-c"] } }),
    );
    expect(run.byType(T.vpc)).toEqual([]);
    expect(run.byType(T.subnet)).toEqual([]);
    expect(run.byType("aws:ec2/internetGateway:InternetGateway")).toEqual([]);
    expect(run.byType(T.sg).map((s) => s.inputs.vpcId)).toEqual(Array(5).fill("vpc-123"));
    expect(run.byType(T.mount).map((m) => m.inputs.subnetId)).toEqual(["subnet-a", "subnet-b", "subnet-c"]);
    expect(run.byType(T.service)[0]?.inputs.networkConfiguration).toEqual({
      subnets: ["subnet-a", "subnet-b", "subnet-c"],
      securityGroups: ["fleet-network-tasks-id", "fleet-alpha-egress-id"],
      assignPublicIp: false,
    });
    expect(run.fleet.costEstimate.agents.every((a) => a.publicIpv4Usd === 0)).toBe(true);
  });

  test("a given image reference: it replaces the agent image build (re-tagged into the fleet's repository), agents' code still goes on top", async () => {
    const ref = "ghcr.io/acme/agents:7";
    const run = await runFleet(three({ image: { ref } }));
    const base = run.one(T.image, "fleet-image-agent");
    expect(base.inputs.build.args).toEqual({ AGENT_IMAGE: ref });
    expect(readFileSync(base.inputs.build.dockerfile, "utf8")).toMatch(/^FROM \$\{AGENT_IMAGE\}$/m);
    expect(run.one(T.image, "fleet-image-alpha").inputs.build.args).toEqual({ AGENT_IMAGE: base.state.repoDigest });
    // Every task pulls from the fleet's repository only.
    const doc = JSON.parse(run.one(T.rolePolicy, "fleet-alpha-execution").inputs.policy);
    expect(doc.Statement.find((s: any) => s.Sid === "PullFleetImage").Resource).toBe(
      `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/agent-fleet/demo`,
    );
  });

  test("code folder: the default is agents/<name>; a missing one is an error naming the agent", async () => {
    const { codeDir: _, ...noCode } = agent("nowhere");
    const resources: Recorded[] = [];
    setAwsMocks(resources);
    expect(() => new FargateFleet("fleet", { fleetName: "demo", agents: [noCode] })).toThrow(
      `agent "nowhere": code folder "${join(process.cwd(), "agents", "nowhere")}" does not exist`,
    );
    expect(resources).toEqual([]);
  });

  test("ARM64: runtime platform, build platform and prices follow", async () => {
    const run = await runFleet(three({ cpuArchitecture: "ARM64" }));
    expect(run.one(T.taskDef, "fleet-alpha").inputs.runtimePlatform).toEqual({
      operatingSystemFamily: "LINUX",
      cpuArchitecture: "ARM64",
    });
    expect(run.one(T.image, "fleet-image-agent").inputs.build.platform).toBe("linux/arm64");
    expect(run.fleet.costEstimate.architecture).toBe("ARM64");
  });
});

describe("invalid arguments: a clear error and no resource at all", () => {
  const attempt = (args: FargateFleetArgs) => {
    const resources: Recorded[] = [];
    setAwsMocks(resources);
    let error: Error | undefined;
    try {
      new FargateFleet("fleet", args);
    } catch (e) {
      error = e as Error;
    }
    return { error, resources };
  };

  test.each<[string, FargateFleetArgs, RegExp]>([
    [
      "Fargate size",
      three({ agents: [agent("alpha"), agent("big", { resources: { cpus: 1, memoryMb: 1024, pids: 64 } })] }),
      /agent "big": resources: Fargate does not accept memoryMb 1024 with cpus 1; .*\(nearest: 2048\)/,
    ],
    ["duplicate agent", three({ agents: [agent("alpha"), agent("alpha")] }), /agent "alpha": name is used twice/],
    ["agent name", three({ agents: [agent("Alpha_1")] }), /agent "Alpha_1": name must be a lowercase DNS label/],
    [
      "secret shadowing env",
      three({ agents: [agent("alpha", { env: { TOKEN: "x" }, secrets: [{ name: "TOKEN", value: "y" }] })] }),
      /agent "alpha": "TOKEN" is both a secret and a plain env variable/,
    ],
    [
      "secret shadowing the runtime",
      three({ agents: [agent("alpha", { secrets: [{ name: "APPROVAL_REQUIRED", value: "false" }] })] }),
      /agent "alpha": secret "APPROVAL_REQUIRED" would shadow a runtime variable/,
    ],
    ["egress port", three({ egressPorts: [443, 70000] }), /egressPorts: 70000 is not a TCP port/],
    ["subnets without VPC", three({ network: { subnetIds: ["subnet-a"] } }), /network\.vpcId is required/],
    ["log retention", three({ logRetentionDays: 10 }), /logRetentionDays 10 is not accepted by CloudWatch/],
    ["no agents", three({ agents: [] }), /a fleet needs at least one agent/],
  ])("%s", (_label, args, message) => {
    const { error, resources } = attempt(args);
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/^FargateFleet "demo": invalid arguments:/);
    expect(resources).toEqual([]);
  });

  test("every problem is reported at once", () => {
    const { error } = attempt(
      three({ agents: [agent("a", { resources: { cpus: 3, memoryMb: 1, pids: 0 } })], logRetentionDays: 2 }),
    );
    expect(error?.message.split("\n")).toEqual([
      'FargateFleet "demo": invalid arguments:',
      '  agent "a": resources.pids must be a positive whole number, got 0',
      '  agent "a": resources.cpus 3 is not a Fargate task size; Fargate accepts cpus 0.25, 0.5, 1, 2, 4, 8, 16 (vCPU)',
      "  logRetentionDays 2 is not accepted by CloudWatch; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
    ]);
  });
});

describe("shared projects: an EFS access point each, reachable only by the agents assigned to it", () => {
  const projectDir = (name: string) => {
    const d = join(CODE_ROOT, "projects", name);
    mkdirSync(join(d, ".git"), { recursive: true });
    writeFileSync(join(d, "README.md"), `# ${name}\n`);
    writeFileSync(join(d, ".git", "HEAD"), "ref: refs/heads/main\n");
    return d;
  };
  const withProjects = (): FargateFleetArgs =>
    three({
      agents: [agent("alpha", { projects: ["web"] }), agent("beta", { projects: ["web", "api"] }), agent("gamma")],
      projects: [
        { name: "web", sourceDir: projectDir("web"), branch: "main" },
        { name: "api", sourceDir: projectDir("api"), branch: "trunk", remote: "https://git.example.com/api.git" },
      ],
    });

  test("one root-owned access point per project at /projects/<name>, in the file system policy's list", async () => {
    const run = await runFleet(withProjects());
    const aps = Object.fromEntries(run.byType(T.ap).map((a) => [a.name, a.inputs]));
    expect(aps["fleet-storage-project-web"]!.rootDirectory).toEqual({
      path: "/projects/web",
      creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "0755" },
    });
    expect(aps["fleet-storage-project-api"]!.rootDirectory.path).toBe("/projects/api");
    expect(aps["fleet-storage-project-web"]!.posixUser).toBeUndefined();
    expect(run.byType(T.ap)).toHaveLength(3 + 2 + 2);
    const doc = JSON.parse(run.one(T.fsPolicy, "fleet-storage-policy").inputs.policy);
    const allowed = doc.Statement.find((s: any) => s.Sid === "DenyOtherAccessPoints").Condition.StringNotEquals[
      "elasticfilesystem:AccessPointArn"
    ];
    for (const p of ["web", "api"]) expect(allowed).toContain(run.one(T.ap, `fleet-storage-project-${p}`).state.arn);
  });

  test("each task mounts exactly its agent's projects at /projects/<name> (seed and runtime), with AGENT_PROJECTS", async () => {
    const run = await runFleet(withProjects());
    const projectAp = (p: string) => `fleet-storage-project-${p}-id`;
    const expected: Record<string, string[]> = { alpha: ["web"], beta: ["api", "web"], gamma: [] };
    for (const [who, projects] of Object.entries(expected)) {
      const td = run.one(T.taskDef, `fleet-${who}`);
      const projectVolumes = td.inputs.volumes.filter((v: any) => v.name.startsWith("project-"));
      expect(projectVolumes).toEqual(
        projects.map((p) => ({
          name: `project-${p}`,
          efsVolumeConfiguration: {
            fileSystemId: "fleet-storage-fs-id",
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId: projectAp(p), iam: "ENABLED" },
          },
        })),
      );
      for (const c of containersOf(td)) {
        const mounts = c.mountPoints.filter((m: any) => m.containerPath.startsWith("/projects"));
        expect(mounts, `${who}/${c.name}`).toEqual(
          projects.map((p) => ({ sourceVolume: `project-${p}`, containerPath: `/projects/${p}`, readOnly: false })),
        );
      }
      const env = envOf(td);
      if (projects.length === 0) {
        expect(env).not.toHaveProperty("AGENT_PROJECTS");
        expect(env).not.toHaveProperty("AGENT_PROJECTS_DIR");
      } else {
        expect(env.AGENT_PROJECTS).toBe(projects.join(","));
        expect(env.AGENT_PROJECTS_DIR).toBe("/projects");
      }
      // The init container seeds its projects (and no other) before the runtime starts.
      const seed = containersOf(td).find((c) => c.name === "seed-code");
      const program = seed.command[0] as string;
      for (const p of ["web", "api"]) {
        expect(program.includes(`dir=/projects/${p};`), `${who} seeds ${p}`).toBe(projects.includes(p));
      }
      if (who === "beta") {
        expect(program).toContain("AF_PROJECT=api AF_BRANCH=trunk AF_REMOTE=https\\://git.example.com/api.git");
        expect(program).toContain("AF_PROJECT=web AF_BRANCH=main AF_REMOTE=''");
      }
    }
  });

  test("an agent's task role reaches only its own projects' access points; the operator's none", async () => {
    const run = await runFleet(withProjects());
    const apArn = (n: string) => run.one(T.ap, `fleet-storage-${n}`).state.arn;
    const grants = (who: string) => {
      const doc = JSON.parse(run.one(T.rolePolicy, `fleet-${who}-task`).inputs.policy);
      const rw = doc.Statement.find((s: any) => s.Sid === "EfsReadWriteViaAccessPoints");
      return rw.Condition.StringEquals["elasticfilesystem:AccessPointArn"] as string[];
    };
    expect(grants("alpha")).toEqual([apArn("code-alpha"), apArn("project-web"), apArn("shared")].sort());
    expect(grants("beta")).toEqual(
      [apArn("code-beta"), apArn("project-web"), apArn("project-api"), apArn("shared")].sort(),
    );
    expect(grants("gamma")).toEqual([apArn("code-gamma"), apArn("shared")].sort());
    expect(grants("operator")).toEqual([apArn("shared"), apArn("decisions")].sort());
    // No task role anywhere grants a project to an agent that does not list it.
    for (const p of run.byType(T.rolePolicy).filter((x) => x.name.endsWith("-task"))) {
      const text = p.inputs.policy as string;
      const who = p.name.replace(/^fleet-|-task$/g, "");
      expect(text.includes(apArn("project-api")), p.name).toBe(who === "beta");
      expect(text.includes(apArn("project-web")), p.name).toBe(who === "alpha" || who === "beta");
    }
  });

  test("each assigned agent's image carries the project's folder (without .git); the others' do not", async () => {
    const run = await runFleet(withProjects());
    const ctx = (who: string) => run.one(T.image, `fleet-image-${who}`).inputs.build.context as string;
    expect(readdirSync(join(ctx("alpha"), "projects"))).toEqual(["web"]);
    expect(readdirSync(join(ctx("beta"), "projects")).sort()).toEqual(["api", "web"]);
    expect(readdirSync(join(ctx("beta"), "projects", "web"))).toEqual(["README.md"]);
    expect(readdirSync(ctx("gamma")).sort()).toEqual(["Dockerfile", "code"]);
    expect(readFileSync(join(ctx("alpha"), "Dockerfile"), "utf8")).toContain(
      "COPY projects/ /opt/agent-fleet/seed-projects/",
    );
    expect(readFileSync(join(ctx("gamma"), "Dockerfile"), "utf8")).not.toContain("projects");
  });

  test("an unknown project, a duplicate or a bad source is refused before any resource exists", async () => {
    const bad = withProjects();
    bad.agents[2] = agent("gamma", { projects: ["docs"] });
    bad.projects!.push({ name: "web", sourceDir: join(CODE_ROOT, "missing"), branch: "main" });
    await expect(runFleet(bad)).rejects.toThrow(
      /project "web": name is used twice[\s\S]*project "web": source [\s\S]*agent "gamma": project "docs" is not one of the fleet's projects/,
    );
  });
});
