import type { Region } from "@pulumi/aws";
// Resource modules of @pulumi/aws (here and in this folder), never the package root: the root
// loads every type of the provider, about 0.35 s of CPU at the start of every program (every
// target: targets/index.ts imports them all); its modules load only what they define.
import { Provider } from "@pulumi/aws/provider";
import * as pulumi from "@pulumi/pulumi";
import { approvalModeName } from "../../fleet/dockerHostFleet.js";
import { consoleTokenValues, fleetAgents } from "../../fleet/onDockerHost.js";
import type { DeployContext, StackOutputs } from "../../fleet/stackOutputs.js";
import type { AwsFleetConfig } from "./config.js";
import { agentFamily, FargateFleet } from "./fargateFleet.js";

/** ECS Fargate: one service per agent, EFS for code, shared projects, shared dir and decisions (see docs/aws.md). */
export function deployAws(cfg: AwsFleetConfig, opts: DeployContext): StackOutputs {
  const provider = new Provider("aws", { region: cfg.aws.region as Region });
  const fleet = new FargateFleet(
    "fleet",
    {
      fleetName: cfg.fleetName,
      agents: fleetAgents(cfg).map(({ codeRevision: _r, ...a }) => a),
      projects: cfg.projects.map((p) => ({
        name: p.name,
        sourceDir: p.sourceDir,
        branch: p.branch,
        ...(p.remote !== undefined ? { remote: p.remote } : {}),
      })),
      network:
        cfg.aws.vpcId !== undefined
          ? { vpcId: cfg.aws.vpcId, subnetIds: cfg.aws.subnetIds ?? [] }
          : { cidrBlock: cfg.aws.vpcCidr },
      egressPorts: cfg.aws.egressPorts,
      image: cfg.image.ref ? { ref: cfg.image.ref } : { build: { context: opts.projectDir } },
      paused: cfg.paused,
      retainData: cfg.aws.retainData,
      logRetentionDays: cfg.aws.logRetentionDays,
      ...(cfg.console ? { console: { port: cfg.console.port, tokens: consoleTokenValues() } } : {}),
    },
    { providers: { aws: provider } },
  );
  return {
    target: cfg.target,
    paused: cfg.paused,
    approvalRequired: cfg.approvalRequired,
    image: fleet.imageRef,
    agents: pulumi.output(
      cfg.agents.map((a) => ({
        name: a.name,
        approvalRequired: a.approvalRequired,
        approvalMode: approvalModeName(a.approvalRequired),
        // Fargate has no per-agent container name: the task definition family stands for it.
        container: agentFamily(cfg.fleetName, a.name),
      })),
    ),
    agentctl: fleet.operatorCommands,
    ...(fleet.console
      ? { consoleUrl: fleet.console.apply((c) => c.url), consoleTunnel: fleet.console.apply((c) => c.portForward) }
      : {}),
    details: pulumi.output({
      cluster: fleet.clusterName,
      logGroup: fleet.logGroupName,
      execCommands: fleet.execCommands,
      costEstimate: fleet.costEstimate,
      ...(fleet.retainDataNotice ? { retainData: fleet.retainDataNotice } : {}),
    }),
  };
}
