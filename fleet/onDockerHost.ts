import * as pulumi from "@pulumi/pulumi";
import { PROJECT, type CommonFleetConfig, type ResolvedAgent } from "../config/fleetConfig.js";
import { consoleTunnelCommand } from "./console.js";
import type { DockerHost } from "../hosts/dockerHost.js";
import { DockerHostFleet, type FleetAgentArgs } from "./dockerHostFleet.js";
import type { DeployContext, StackOutputs } from "./stackOutputs.js";

/** Each secret read with requireSecret: the value only ever exists inside a secret Output. */
export function agentSecrets(agent: ResolvedAgent): { name: string; value: pulumi.Output<string> }[] {
  return agent.secrets.map((s) => {
    const colon = s.key.indexOf(":");
    return { name: s.env, value: new pulumi.Config(s.key.slice(0, colon)).requireSecret(s.key.slice(colon + 1)) };
  });
}

/**
 * The console's tokens (name -> token), read with requireSecretObject: the values only ever exist
 * inside a secret Output. `config set --path` stores an all-digit token as a number; it is text here.
 */
export function consoleTokenValues(): pulumi.Output<Record<string, string>> {
  return new pulumi.Config(PROJECT)
    .requireSecretObject<{ tokens?: Record<string, unknown> }>("console")
    .apply((c) => Object.fromEntries(Object.entries(c.tokens ?? {}).map(([k, v]) => [k, String(v)])));
}

/**
 * The stack's notification sinks with their secrets (an SMTP password), read with
 * requireSecretObject: the whole list only ever exists inside a secret Output.
 */
export function notifySinkValues(): pulumi.Output<unknown[]> {
  return new pulumi.Config(PROJECT).requireSecretObject<unknown[]>("notify");
}

export function fleetAgents(cfg: CommonFleetConfig): FleetAgentArgs[] {
  return cfg.agents.map((a) => ({
    name: a.name,
    codeDir: a.codeDir,
    approvalRequired: a.approvalRequired,
    capabilities: a.capabilities,
    env: a.env,
    secrets: agentSecrets(a),
    resources: a.resources,
    network: a.network,
    ...(a.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: a.taskTimeoutSeconds } : {}),
    ...(a.allowBinary ? { allowBinary: true } : {}),
    ...(a.codeRevision !== undefined ? { codeRevision: a.codeRevision } : {}),
    ...(a.projects.length > 0 ? { projects: a.projects } : {}),
    ...(a.paused ? { paused: true } : {}),
    ...(a.budget ? { budget: a.budget } : {}),
    ...(a.reviewApprovals !== undefined ? { reviewApprovals: a.reviewApprovals } : {}),
    ...(a.canCreateTasks ? { canCreateTasks: true } : {}),
    ...(a.reviewers ? { reviewers: a.reviewers } : {}),
    ...(a.idleAfterMinutes !== undefined ? { idleAfterMinutes: a.idleAfterMinutes } : {}),
  }));
}

/** DockerHostFleet on a host; also what the Exoscale target ends in. */
export function dockerHostOutputs(cfg: CommonFleetConfig, host: DockerHost, opts: DeployContext): StackOutputs {
  const fleet = new DockerHostFleet("fleet", {
    host,
    fleetName: cfg.fleetName,
    agents: fleetAgents(cfg),
    projects: cfg.projects.map((p) => ({
      name: p.name,
      sourceDir: p.sourceDir,
      branch: p.branch,
      ...(p.remote !== undefined ? { remote: p.remote } : {}),
    })),
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
    ...(cfg.console
      ? {
          console: {
            port: cfg.console.port,
            tokens: consoleTokenValues(),
            ...(cfg.notify.length > 0 ? { notify: notifySinkValues() } : {}),
          },
        }
      : {}),
  });
  const port = cfg.console?.port;
  return {
    target: cfg.target,
    hostAddress: host.address,
    ...(host.sshCommand !== undefined ? { sshCommand: host.sshCommand } : {}),
    paused: cfg.paused,
    approvalRequired: cfg.approvalRequired,
    image: fleet.image,
    agents: fleet.agents,
    agentctl: fleet.agentctl,
    ...(fleet.console ? { consoleUrl: fleet.console.url } : {}),
    ...(fleet.console && host.sshCommand !== undefined && port !== undefined
      ? {
          consoleTunnel: pulumi
            .all([host.sshCommand, fleet.console.url])
            .apply(([ssh]) => consoleTunnelCommand(ssh, port)),
        }
      : {}),
    details: pulumi.output({
      hostRoot: cfg.hostRoot,
      purgeOnDestroy: cfg.purgeOnDestroy,
      onDestroy: cfg.purgeOnDestroy
        ? "pulumi destroy DELETES agent code, history, shared data and decisions on the host"
        : "pulumi destroy removes the containers and keeps agent code, history and shared data on the host",
    }),
  };
}
