import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as ssm from "@pulumi/aws/ssm";
import * as vpc from "@pulumi/aws/vpc";
import { getCallerIdentityOutput } from "@pulumi/aws/getCallerIdentity";
import { getPartitionOutput } from "@pulumi/aws/getPartition";
import { getRegionOutput } from "@pulumi/aws/getRegion";
import * as pulumi from "@pulumi/pulumi";
import { resolveFargateFleetArgs, type FargateFleetArgs, type FargateProjectArgs, type ResolvedAgent } from "./args.js";
import {
  agentContainerDefinitions,
  agentTaskVolumes,
  CONTAINER_NAMES,
  consoleContainerDefinitions,
  consoleTaskVolumes,
  operatorContainerDefinitions,
  operatorTaskVolumes,
  type TaskVolume,
} from "./containerDefinitions.js";
import { estimateMonthlyCost, type FleetCostEstimate } from "./cost.js";
import { assertValidFargateTaskDefinition } from "./ecsValidation.js";
import {
  agentExecCommand,
  consolePortForwardCommand,
  operatorExecCommand,
  operatorStartCommand,
  operatorStopCommand,
} from "./execCommands.js";
import { consoleTokensFile, consoleUrl } from "../../fleet/console.js";
import { CONSOLE_NAME } from "../../contract/console.js";
import { agentEgressRules, egressByNameWarning, namesAHost } from "./egress.js";
import { ecsTasksAssumeRolePolicy, executionRolePolicy, taskRolePolicy } from "./iamPolicies.js";
import { FleetImage } from "./image.js";
import { FleetNetwork } from "./network.js";
import { FleetStorage } from "./storage.js";
import { DEFAULT_NETWORK } from "../../config/defaults.js";

export type {
  FargateFleetArgs,
  FargateAgentArgs,
  FargateNetworkArgs,
  FargateImageArgs,
  FargateProjectArgs,
} from "./args.js";

/** The operator task's size: the smallest Fargate task. */
export const OPERATOR_TASK_SIZE = { cpu: 256, memory: 512 } as const;
/** The console task's size: the smallest Fargate task too (a Node.js server over files). */
export const CONSOLE_TASK_SIZE = { cpu: 256, memory: 512 } as const;
/** The console's ECS service name (config refuses an agent of this name while the console runs). */
export const CONSOLE_SERVICE_NAME = CONSOLE_NAME;

export interface AgentService {
  serviceName: string;
  serviceArn: string;
  taskDefinitionArn: string;
  desiredCount: number;
}

export interface AgentExecCommands {
  /** List this agent's proposals (ECS Exec into its runtime container). */
  proposals: string;
  /** Heartbeat, current task and approval mode of the fleet's agents. */
  status: string;
  /** The runtime's own health check (the same command as the container HEALTHCHECK). */
  health: string;
}

export interface OperatorCommands {
  /** Start the operator task (stops by itself after an hour). Run this first. */
  start: string;
  proposals: string;
  /** Replace <proposal-id>. */
  diff: string;
  /** Replace <proposal-id>. */
  approve: string;
  /** Replace <proposal-id> and <reason>. */
  reject: string;
  stop: string;
}

/** Family of an agent's task definition. */
export const agentFamily = (fleet: string, agent: string) => `${fleet}-${agent}`;
export const operatorFamily = (fleet: string) => `${fleet}-operator`;
export const consoleFamily = (fleet: string) => `${fleet}-${CONSOLE_NAME}`;

export interface FargateConsole {
  serviceName: string;
  /** The SSM port forward that makes `url` reach the console (AWS CLI v2 + Session Manager plugin). */
  portForward: string;
  url: string;
}

export function retainDataNotice(fleet: string): string {
  return (
    `RETAIN DATA IS ON for fleet "${fleet}": \`pulumi destroy\` will KEEP the EFS file system (agent code ` +
    "with its history, shared dir, decisions) and it will keep costing storage. Delete it yourself " +
    "(aws efs delete-file-system) when you no longer need it, or set retainData: false before destroying."
  );
}

/**
 * A fleet of agents on AWS ECS Fargate: one service (desiredCount 1, or 0 when paused) and one
 * task definition per agent, in an ECS cluster; agent code, the shared dir and decisions on an
 * encrypted EFS file system; logs in one CloudWatch log group; the image in ECR; inspection and
 * approval through ECS Exec. See docs/aws.md.
 */
export class FargateFleet extends pulumi.ComponentResource {
  public readonly clusterName: pulumi.Output<string>;
  public readonly clusterArn: pulumi.Output<string>;
  public readonly services: pulumi.Output<Record<string, AgentService>>;
  public readonly logGroupName: pulumi.Output<string>;
  public readonly fileSystemId: pulumi.Output<string>;
  /** The agent image without code, by digest (each agent runs it plus its own code seed). */
  public readonly agentImageRef: pulumi.Output<string>;
  /** Same as `agentImageRef`. */
  public readonly imageRef: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;
  public readonly execCommands: pulumi.Output<Record<string, AgentExecCommands>>;
  public readonly operatorCommands: pulumi.Output<OperatorCommands>;
  public readonly costEstimate: FleetCostEstimate;
  /** Set (and logged as a warning in every preview/update) when retainData is on. */
  public readonly retainDataNotice: string | undefined;
  /** The console service and how to reach it, when the fleet runs one. */
  public readonly console: pulumi.Output<FargateConsole> | undefined;

  constructor(name: string, args: FargateFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything AWS would reject is checked first: bad arguments register no resource at all,
    // not even this component.
    const a = resolveFargateFleetArgs(args);
    super("agent-fleet:aws:FargateFleet", name, {}, opts);
    const parent = { parent: this };
    const fleet = a.fleetName;
    // The projects an agent works on, in name order (resolveFargateFleetArgs checked that they exist).
    const projectsOf = (g: ResolvedAgent) => a.projects.filter((p) => (g.projects ?? []).includes(p.name));

    this.retainDataNotice = a.retainData ? retainDataNotice(fleet) : undefined;
    if (this.retainDataNotice) pulumi.log.warn(this.retainDataNotice, this);

    const region = getRegionOutput({}, parent).region;
    const accountId = getCallerIdentityOutput({}, parent).accountId;
    const partition = getPartitionOutput({}, parent).partition;

    const network = new FleetNetwork(
      `${name}-network`,
      {
        fleetName: fleet,
        network: a.network,
        egressPorts: a.egressPorts,
        tags: a.tags,
      },
      parent,
    );
    const storage = new FleetStorage(
      `${name}-storage`,
      {
        fleetName: fleet,
        agentNames: a.agents.map((g) => g.name),
        projectNames: a.projects.map((p) => p.name),
        subnetIds: network.subnetIds,
        efsSecurityGroupId: network.efsSecurityGroupId,
        retainData: a.retainData,
        tags: a.tags,
      },
      parent,
    );
    const image = new FleetImage(
      `${name}-image`,
      {
        fleetName: fleet,
        image: a.image,
        agents: a.agents.map((g) => ({
          name: g.name,
          codeDir: g.codeDir,
          ...(g.projects && g.projects.length > 0
            ? { projects: projectsOf(g).map((p) => ({ name: p.name, sourceDir: p.sourceDir })) }
            : {}),
        })),
        tags: a.tags,
      },
      parent,
    );

    const logGroup = new cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/agent-fleet/${fleet}`,
        retentionInDays: a.logRetentionDays,
        tags: a.tags,
      },
      parent,
    );
    const cluster = new ecs.Cluster(
      `${name}-cluster`,
      {
        name: fleet,
        // Container Insights is billed per metric; logs and ECS Exec cover what operators need.
        settings: [{ name: "containerInsights", value: "disabled" }],
        tags: a.tags,
      },
      parent,
    );

    const assumeRolePolicy = pulumi
      .all([accountId, region, partition])
      .apply(([acc, reg, part]) =>
        JSON.stringify(ecsTasksAssumeRolePolicy({ accountId: acc, region: reg, partition: part })),
      );

    // One task role per task definition: each grants EFS client access through exactly the access
    // points that task mounts (IAM authorization is on for every EFS volume), plus the ECS Exec
    // channels when exec is on. Nothing else of AWS.
    const taskRole = (
      id: string,
      mounts: { accessPointArn: pulumi.Output<string>; write: boolean }[],
      exec = a.enableExecuteCommand,
    ) => {
      const role = new iam.Role(
        `${name}-${id}-task`,
        {
          description: `agent-fleet ${fleet}: task role of ${id} (its EFS access points${exec ? ", ECS Exec channels" : ""})`,
          assumeRolePolicy,
          tags: a.tags,
        },
        parent,
      );
      const policy = new iam.RolePolicy(
        `${name}-${id}-task`,
        {
          role: role.name,
          policy: pulumi
            .all([storage.fileSystemArn, pulumi.all(mounts.map((m) => m.accessPointArn))])
            .apply(([fileSystemArn, arns]) =>
              JSON.stringify(
                taskRolePolicy({
                  enableExecuteCommand: exec,
                  efs: { fileSystemArn, mounts: mounts.map((m, i) => ({ accessPointArn: arns[i]!, write: m.write })) },
                }),
              ),
            ),
        },
        parent,
      );
      return { role, policy };
    };

    const executionRole = (id: string, streamPrefix: string, secretArns: pulumi.Output<string>[]) => {
      const role = new iam.Role(
        `${name}-${id}-execution`,
        {
          description: `agent-fleet ${fleet}: ECS execution role of ${id} (pull image, write its logs, read its secrets)`,
          assumeRolePolicy,
          tags: a.tags,
        },
        parent,
      );
      const policy = new iam.RolePolicy(
        `${name}-${id}-execution`,
        {
          role: role.name,
          policy: pulumi
            .all([image.repositoryArn, logGroup.arn, pulumi.all(secretArns)])
            .apply(([repoArn, logArn, secrets]) =>
              JSON.stringify(
                executionRolePolicy({
                  ecrRepositoryArn: repoArn,
                  logGroupArn: logArn,
                  logStreamPrefix: streamPrefix,
                  secretParameterArns: secrets,
                }),
              ),
            ),
        },
        parent,
      );
      return { role, policy };
    };

    const ecsVolumes = (volumes: TaskVolume[], codeAccessPointId?: pulumi.Output<string>) =>
      volumes.map((v) => {
        if (!v.efs) return { name: v.name };
        const accessPointId =
          v.efs.accessPoint === "code"
            ? codeAccessPointId
            : v.efs.accessPoint === "project"
              ? storage.projectAccessPointIds[v.efs.project]
              : v.efs.accessPoint === "shared"
                ? storage.sharedAccessPointId
                : storage.decisionsAccessPointId;
        if (!accessPointId) throw new Error(`volume "${v.name}" needs an access point`);
        return {
          name: v.name,
          efsVolumeConfiguration: {
            fileSystemId: storage.fileSystemId,
            // Access points require TLS. IAM authorization: the task role must grant this access
            // point, and the file system policy refuses any mount not made through one.
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId, iam: "ENABLED" },
          },
        };
      });

    const runtimePlatform = { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture };
    const serviceEntries: pulumi.Output<[string, AgentService]>[] = [];

    for (const agent of a.agents) {
      const secretParams = agent.secrets.map(
        (s) =>
          new ssm.Parameter(
            `${name}-${agent.name}-${s.name}`,
            {
              name: `/agent-fleet/${fleet}/${agent.name}/${s.name}`,
              description: `agent-fleet ${fleet}: secret ${s.name} of agent ${agent.name}`,
              type: "SecureString",
              value: pulumi.secret(s.value),
              tags: a.tags,
            },
            parent,
          ),
      );
      const secretArns = secretParams.map((p) => p.arn);
      const exec = executionRole(agent.name, agent.name, secretArns);
      const projects = projectsOf(agent);
      // Its code, its projects (and no other project's), the shared dir, decisions read-only.
      const task = taskRole(agent.name, [
        { accessPointArn: storage.codeAccessPointArns[agent.name]!, write: true },
        ...projects.map((p) => ({ accessPointArn: storage.projectAccessPointArns[p.name]!, write: true })),
        { accessPointArn: storage.sharedAccessPointArn, write: true },
        { accessPointArn: storage.decisionsAccessPointArn, write: false },
      ]);
      const family = agentFamily(fleet, agent.name);
      const taskDefinition = new ecs.TaskDefinition(
        `${name}-${agent.name}`,
        {
          family,
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: String(agent.size.cpu),
          memory: String(agent.size.memory),
          runtimePlatform,
          executionRoleArn: exec.role.arn,
          taskRoleArn: task.role.arn,
          volumes: ecsVolumes(agentTaskVolumes(projects.map((p) => p.name)), storage.codeAccessPointIds[agent.name]),
          containerDefinitions: agentContainerDefinitionsJson(agent, projects, fleet, family, {
            image: image.agentImageRefs[agent.name]!,
            logGroup: logGroup.name,
            region,
            secrets: agent.secrets.map((s, i) => ({ name: s.name, valueFrom: secretArns[i]! })),
          }),
          tags: { ...a.tags, "agent-fleet:agent": agent.name },
        },
        { parent: this, dependsOn: [exec.policy, task.policy] },
      );

      // The agent's own network access: a group of its own next to the fleet's tasks group (whose
      // egress, the platform's ports and NFS, every task needs). Groups add up; none takes away.
      const agentNetwork = agent.network ?? DEFAULT_NETWORK;
      if (agentNetwork.mode === "allow") {
        for (const t of agentNetwork.allow.filter(namesAHost))
          pulumi.log.warn(`agent ${agent.name}: network ${egressByNameWarning(t)}`, this);
      }
      const agentSg = new ec2.SecurityGroup(
        `${name}-${agent.name}-egress`,
        {
          vpcId: network.vpcId,
          description: `agent-fleet ${fleet}: network of agent ${agent.name} (${agentNetwork.mode}; no ingress)`,
          tags: { ...a.tags, Name: `${fleet}-${agent.name}`, "agent-fleet:agent": agent.name },
        },
        parent,
      );
      for (const rule of agentEgressRules(agentNetwork)) {
        const { key, ...inputs } = rule;
        new vpc.SecurityGroupEgressRule(
          `${name}-${agent.name}-egress-${key}`,
          { securityGroupId: agentSg.id, ...inputs },
          parent,
        );
      }

      // The fleet's pause stops every service; an agent's own pause stops only its service.
      const desiredCount = a.paused || agent.paused === true ? 0 : 1;
      const service = new ecs.Service(
        `${name}-${agent.name}`,
        {
          name: agent.name,
          cluster: cluster.arn,
          taskDefinition: taskDefinition.arn,
          desiredCount,
          launchType: "FARGATE",
          platformVersion: "LATEST",
          enableExecuteCommand: a.enableExecuteCommand,
          networkConfiguration: {
            subnets: network.subnetIds,
            securityGroups: [network.taskSecurityGroupId, agentSg.id],
            assignPublicIp: network.assignPublicIp,
          },
          // Never two tasks of one agent at once: both would write the same /app. A deployment
          // stops the old task before it starts the new one.
          deploymentMinimumHealthyPercent: 0,
          deploymentMaximumPercent: 100,
          propagateTags: "SERVICE",
          tags: { ...a.tags, "agent-fleet:agent": agent.name },
        },
        { parent: this, dependsOn: storage.mountTargets },
      );

      serviceEntries.push(
        pulumi
          .all([service.name, service.arn, taskDefinition.arn])
          .apply(
            ([serviceName, serviceArn, taskDefinitionArn]) =>
              [agent.name, { serviceName, serviceArn, taskDefinitionArn, desiredCount }] as [string, AgentService],
          ),
      );
    }

    // The operator task (not a service): started on demand to write decisions.
    const opExec = executionRole("operator", "operator", []);
    const opTask = taskRole("operator", [
      { accessPointArn: storage.sharedAccessPointArn, write: true },
      { accessPointArn: storage.decisionsAccessPointArn, write: true },
    ]);
    const opFamily = operatorFamily(fleet);
    new ecs.TaskDefinition(
      `${name}-operator`,
      {
        family: opFamily,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(OPERATOR_TASK_SIZE.cpu),
        memory: String(OPERATOR_TASK_SIZE.memory),
        runtimePlatform,
        executionRoleArn: opExec.role.arn,
        taskRoleArn: opTask.role.arn,
        volumes: ecsVolumes(operatorTaskVolumes()),
        containerDefinitions: pulumi.all([image.agentImageRef, logGroup.name, region]).apply(([img, lg, reg]) => {
          const containers = operatorContainerDefinitions({ fleet, image: img, logGroup: lg, region: reg });
          assertValidFargateTaskDefinition({
            family: opFamily,
            ...OPERATOR_TASK_SIZE,
            volumes: operatorTaskVolumes(),
            containers,
          });
          return JSON.stringify(containers);
        }),
        tags: { ...a.tags, "agent-fleet:role": "operator" },
      },
      { parent: this, dependsOn: [opExec.policy, opTask.policy] },
    );

    // The review console: its own service, no ingress (the tasks' security group has no inbound
    // rule), reached only through an SSM port forward into its task, so ECS Exec is always on for it.
    if (a.console) {
      const port = a.console.port;
      const tokens = new ssm.Parameter(
        `${name}-console-tokens`,
        {
          name: `/agent-fleet/${fleet}/console/tokens`,
          description: `agent-fleet ${fleet}: the review console's tokens (name:token lines)`,
          type: "SecureString",
          value: pulumi.secret(pulumi.output(a.console.tokens).apply(consoleTokensFile)),
          tags: a.tags,
        },
        parent,
      );
      const cExec = executionRole("console", "console", [tokens.arn]);
      const cTask = taskRole(
        "console",
        [
          { accessPointArn: storage.sharedAccessPointArn, write: true },
          { accessPointArn: storage.decisionsAccessPointArn, write: true },
        ],
        true,
      );
      const cFamily = consoleFamily(fleet);
      const cTaskDefinition = new ecs.TaskDefinition(
        `${name}-console`,
        {
          family: cFamily,
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: String(CONSOLE_TASK_SIZE.cpu),
          memory: String(CONSOLE_TASK_SIZE.memory),
          runtimePlatform,
          executionRoleArn: cExec.role.arn,
          taskRoleArn: cTask.role.arn,
          volumes: ecsVolumes(consoleTaskVolumes()),
          containerDefinitions: pulumi
            .all([image.agentImageRef, logGroup.name, region, tokens.arn])
            .apply(([img, lg, reg, arn]) => {
              const containers = consoleContainerDefinitions({
                fleet,
                image: img,
                port,
                tokensParameterArn: arn,
                logGroup: lg,
                region: reg,
              });
              assertValidFargateTaskDefinition({
                family: cFamily,
                ...CONSOLE_TASK_SIZE,
                volumes: consoleTaskVolumes(),
                containers,
              });
              return JSON.stringify(containers);
            }),
          tags: { ...a.tags, "agent-fleet:role": "console" },
        },
        { parent: this, dependsOn: [cExec.policy, cTask.policy] },
      );
      const cService = new ecs.Service(
        `${name}-console`,
        {
          name: CONSOLE_SERVICE_NAME,
          cluster: cluster.arn,
          taskDefinition: cTaskDefinition.arn,
          desiredCount: 1,
          launchType: "FARGATE",
          platformVersion: "LATEST",
          enableExecuteCommand: true,
          networkConfiguration: {
            subnets: network.subnetIds,
            securityGroups: [network.taskSecurityGroupId],
            assignPublicIp: network.assignPublicIp,
          },
          deploymentMinimumHealthyPercent: 0,
          deploymentMaximumPercent: 100,
          propagateTags: "SERVICE",
          tags: { ...a.tags, "agent-fleet:role": "console" },
        },
        { parent: this, dependsOn: storage.mountTargets },
      );
      this.console = pulumi.all([region, cluster.name, cService.name]).apply(([reg, cl, serviceName]) => ({
        serviceName,
        portForward: consolePortForwardCommand({
          region: reg,
          cluster: cl,
          service: serviceName,
          container: CONTAINER_NAMES.console,
          port,
          localPort: port,
        }),
        url: consoleUrl(port),
      }));
    }

    this.clusterName = cluster.name;
    this.clusterArn = cluster.arn;
    this.logGroupName = logGroup.name;
    this.fileSystemId = storage.fileSystemId;
    this.agentImageRef = image.agentImageRef;
    this.imageRef = image.agentImageRef;
    this.repositoryUrl = image.repositoryUrl;
    this.services = pulumi.all(serviceEntries).apply((e) => Object.fromEntries(e));
    this.execCommands = pulumi.all([region, cluster.name]).apply(([reg, cl]) =>
      Object.fromEntries(
        a.agents.map((g) => [
          g.name,
          {
            proposals: agentExecCommand({ region: reg, cluster: cl }, g.name, "proposals"),
            status: agentExecCommand({ region: reg, cluster: cl }, g.name, "status"),
            health: agentExecCommand({ region: reg, cluster: cl }, g.name, "health"),
          },
        ]),
      ),
    );
    this.operatorCommands = pulumi
      .all([region, cluster.name, pulumi.all(network.subnetIds), network.taskSecurityGroupId])
      .apply(([reg, cl, subnets, sg]) => {
        const t = { region: reg, cluster: cl, family: opFamily };
        return {
          start: operatorStartCommand({
            ...t,
            subnetIds: subnets,
            securityGroupId: sg,
            assignPublicIp: network.assignPublicIp,
          }),
          proposals: operatorExecCommand(t, "proposals"),
          diff: operatorExecCommand(t, "diff <proposal-id>"),
          approve: operatorExecCommand(t, "approve <proposal-id>"),
          reject: operatorExecCommand(t, "reject <proposal-id> --reason '<reason>'"),
          stop: operatorStopCommand(t),
        };
      });
    this.costEstimate = estimateMonthlyCost({
      agents: a.agents.map((g) => ({
        name: g.name,
        cpu: g.size.cpu,
        memory: g.size.memory,
        ...(g.paused ? { paused: true } : {}),
      })),
      architecture: a.cpuArchitecture,
      paused: a.paused,
      assignPublicIp: network.assignPublicIp,
    });

    this.registerOutputs({
      clusterName: this.clusterName,
      services: this.services,
      logGroupName: this.logGroupName,
      fileSystemId: this.fileSystemId,
      execCommands: this.execCommands,
      operatorCommands: this.operatorCommands,
      costEstimate: this.costEstimate,
      retainDataNotice: this.retainDataNotice,
      console: this.console,
    });
  }
}

/** Container definitions JSON of one agent, checked against ECS/Fargate rules once resolved. */
function agentContainerDefinitionsJson(
  agent: ResolvedAgent,
  projects: FargateProjectArgs[],
  fleet: string,
  family: string,
  o: {
    image: pulumi.Output<string>;
    logGroup: pulumi.Output<string>;
    region: pulumi.Output<string>;
    secrets: { name: string; valueFrom: pulumi.Output<string> }[];
  },
): pulumi.Output<string> {
  const secretArns = pulumi.all(o.secrets.map((s) => s.valueFrom));
  return pulumi.all([o.image, o.logGroup, o.region, secretArns]).apply(([image, logGroup, region, arns]) => {
    const containers = agentContainerDefinitions({
      name: agent.name,
      fleet,
      approvalRequired: agent.approvalRequired,
      capabilities: agent.capabilities,
      env: agent.env,
      ...(agent.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: agent.taskTimeoutSeconds } : {}),
      ...(agent.allowBinary ? { allowBinary: true } : {}),
      ...(agent.budget ? { budget: agent.budget } : {}),
      ...(agent.reviewApprovals !== undefined ? { reviewApprovals: agent.reviewApprovals } : {}),
      ...(agent.canCreateTasks ? { canCreateTasks: true } : {}),
      ...(agent.reviewers ? { reviewers: agent.reviewers } : {}),
      ...(projects.length > 0
        ? {
            sharedProjects: projects.map((p) => ({
              name: p.name,
              branch: p.branch,
              ...(p.remote !== undefined ? { remote: p.remote } : {}),
            })),
          }
        : {}),
      image,
      secretArns: o.secrets.map((s, i) => ({ name: s.name, valueFrom: arns[i]! })),
      pids: agent.resources.pids,
      logGroup,
      region,
    });
    assertValidFargateTaskDefinition({
      family,
      cpu: agent.size.cpu,
      memory: agent.size.memory,
      volumes: agentTaskVolumes(projects.map((p) => p.name)),
      containers,
    });
    return JSON.stringify(containers);
  });
}
