import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { agentFamily, FargateFleet } from "./targets/aws/fargateFleet.js";
import { ExoscaleVps } from "./targets/exoscale/vps.js";
import { ConfigError, parseFleetConfig, PROJECT, type FleetConfig, type ResolvedAgent } from "./config/fleetConfig.js";
import { rawConfigFromPulumi } from "./config/pulumiConfig.js";
import type { RawStackConfig } from "./config/stackFile.js";
import type { DockerHost } from "./hosts/dockerHost.js";
import { LocalHost } from "./hosts/localHost.js";
import { SshHost } from "./hosts/sshHost.js";
import { approvalModeName, DockerHostFleet, type FleetAgentArgs } from "./fleet/dockerHostFleet.js";

/**
 * The Pulumi program (index.ts calls it): parse the stack config, pick the target, wire the
 * components, return the stack outputs. Synchronous, so index.ts can export the outputs as plain
 * named exports; a bad config throws before a single resource is registered.
 */

export interface StackProgramOptions {
  stack: string;
  /** Folder holding Pulumi.yaml: relative agent code paths and the image build context start here. */
  projectDir: string;
  /** Config to validate; default: the running program's config. */
  raw?: RawStackConfig;
}

export interface StackOutputs {
  target: string;
  hostAddress: pulumi.Output<string | undefined>;
  sshCommand: pulumi.Output<string | undefined>;
  paused: boolean;
  approvalRequired: boolean;
  image: pulumi.Output<string>;
  agents: pulumi.Output<Array<{ name: string; approvalRequired: boolean; approvalMode: string; container: string }>>;
  agentctl: pulumi.Output<object>;
  /** Target-specific extras (e.g. Fargate cost estimate). */
  details: pulumi.Output<object>;
}

export function stackProgram(opts: StackProgramOptions): StackOutputs {
  const raw = opts.raw ?? rawConfigFromPulumi();
  let cfg: FleetConfig;
  try {
    cfg = parseFleetConfig(raw.ns, { stack: opts.stack, projectDir: opts.projectDir, foreign: raw.foreign });
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }

  switch (cfg.target) {
    case "local":
      return dockerHostOutputs(cfg, new LocalHost("host", { root: cfg.hostRoot }), opts);
    case "vps":
      return dockerHostOutputs(cfg, new SshHost("host", { host: cfg.vps.host!, ...sshHostArgs(cfg) }), opts);
    case "exoscale":
      return exoscaleOutputs(cfg, opts);
    case "aws":
      return fargateOutputs(cfg, opts);
  }
}

/** SshHost arguments from config; the private key comes from the secret `ssh.privateKey`. */
export function sshHostArgs(cfg: FleetConfig) {
  return {
    port: cfg.ssh.port,
    user: cfg.ssh.user,
    privateKey: sshPrivateKey(),
    ...(cfg.ssh.bootstrapUser !== undefined ? { bootstrapUser: cfg.ssh.bootstrapUser } : {}),
    ...(cfg.ssh.publicKey !== undefined ? { publicKey: cfg.ssh.publicKey } : {}),
    ...(cfg.ssh.hostKey !== undefined ? { hostKey: cfg.ssh.hostKey } : {}),
    allowedCidrs: cfg.ssh.allowedCidrs,
    root: cfg.hostRoot,
  };
}

export function sshPrivateKey(): pulumi.Output<string> {
  return new pulumi.Config(PROJECT).requireSecretObject<{ privateKey: string }>("ssh").apply((s) => s.privateKey);
}

/** Each secret read with requireSecret: the value only ever exists inside a secret Output. */
export function agentSecrets(agent: ResolvedAgent): { name: string; value: pulumi.Output<string> }[] {
  return agent.secrets.map((s) => {
    const colon = s.key.indexOf(":");
    return { name: s.env, value: new pulumi.Config(s.key.slice(0, colon)).requireSecret(s.key.slice(colon + 1)) };
  });
}

export function fleetAgents(cfg: FleetConfig): FleetAgentArgs[] {
  return cfg.agents.map((a) => ({
    name: a.name,
    codeDir: a.codeDir,
    approvalRequired: a.approvalRequired,
    capabilities: a.capabilities,
    env: a.env,
    secrets: agentSecrets(a),
    resources: a.resources,
    ...(a.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: a.taskTimeoutSeconds } : {}),
    ...(a.codeRevision !== undefined ? { codeRevision: a.codeRevision } : {}),
  }));
}

/** DockerHostFleet on a host; also what the Exoscale target ends in. */
export function dockerHostOutputs(cfg: FleetConfig, host: DockerHost, opts: StackProgramOptions): StackOutputs {
  const fleet = new DockerHostFleet("fleet", {
    host,
    fleetName: cfg.fleetName,
    agents: fleetAgents(cfg),
    image: cfg.image.ref
      ? { ref: cfg.image.ref }
      : {
          build: {
            context: opts.projectDir,
            ...(cfg.image.baseImage !== undefined ? { baseImage: cfg.image.baseImage } : {}),
            buildArgs: cfg.image.buildArgs,
          },
        },
    paused: cfg.paused,
    purgeOnDestroy: cfg.purgeOnDestroy,
  });
  return {
    target: cfg.target,
    hostAddress: host.address,
    sshCommand: host.sshCommand,
    paused: cfg.paused,
    approvalRequired: cfg.approvalRequired,
    image: fleet.image,
    agents: fleet.agents,
    agentctl: fleet.agentctl,
    details: pulumi.output({
      hostRoot: cfg.hostRoot,
      purgeOnDestroy: cfg.purgeOnDestroy,
      onDestroy: cfg.purgeOnDestroy
        ? "pulumi destroy DELETES agent code, history, shared data and decisions on the host"
        : "pulumi destroy removes the containers and keeps agent code, history and shared data on the host",
    }),
  };
}

/** A new Exoscale VPS (cloud-init: ops user, Docker, firewall), then the same SshHost and fleet as vps. */
function exoscaleOutputs(cfg: FleetConfig, opts: StackProgramOptions): StackOutputs {
  const privateKey = sshPrivateKey();
  const vps = new ExoscaleVps("vps", {
    zone: cfg.exoscale.zone!,
    instanceType: cfg.exoscale.instanceType,
    diskSizeGb: cfg.exoscale.diskSizeGb,
    templateName: cfg.exoscale.template,
    elasticIp: cfg.exoscale.elasticIp,
    allowedCidrs: cfg.ssh.allowedCidrs,
    sshPublicKey: cfg.ssh.publicKey!,
    sshPrivateKey: privateKey,
    opsUser: cfg.ssh.user,
    hostRoot: cfg.hostRoot,
    namePrefix: cfg.fleetName,
    ...(cfg.image.ref !== undefined ? { agentImage: cfg.image.ref } : {}),
  });
  const host = new SshHost("host", { host: vps.publicIp, ...sshHostArgs(cfg), after: [vps.ready] });
  const out = dockerHostOutputs(cfg, host, opts);
  return {
    ...out,
    sshCommand: vps.sshCommand,
    details: pulumi.all([out.details, vps.instanceId, vps.zone, vps.monthlyCostEstimate, vps.costBasis]).apply(
      ([d, instanceId, zone, monthlyCostEstimateEur, costBasis]) => ({ ...d, instanceId, zone, monthlyCostEstimateEur, costBasis }),
    ),
  };
}

function fargateOutputs(cfg: FleetConfig, opts: StackProgramOptions): StackOutputs {
  const provider = new aws.Provider("aws", { region: cfg.aws.region! as aws.Region });
  const fleet = new FargateFleet(
    "fleet",
    {
      fleetName: cfg.fleetName,
      agents: fleetAgents(cfg).map(({ codeRevision: _r, ...a }) => a),
      network:
        cfg.aws.vpcId !== undefined
          ? { vpcId: cfg.aws.vpcId, subnetIds: cfg.aws.subnetIds ?? [] }
          : { cidrBlock: cfg.aws.vpcCidr },
      egressPorts: cfg.aws.egressPorts,
      image: cfg.image.ref ? { ref: cfg.image.ref } : { build: { context: opts.projectDir } },
      paused: cfg.paused,
      retainData: cfg.aws.retainData,
      logRetentionDays: cfg.aws.logRetentionDays,
    },
    { providers: { aws: provider } },
  );
  return {
    target: cfg.target,
    hostAddress: pulumi.output(undefined),
    sshCommand: pulumi.output(undefined),
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
    details: pulumi.output({
      cluster: fleet.clusterName,
      logGroup: fleet.logGroupName,
      execCommands: fleet.execCommands,
      costEstimate: fleet.costEstimate,
      ...(fleet.retainDataNotice ? { retainData: fleet.retainDataNotice } : {}),
    }),
  };
}
