import * as pulumi from "@pulumi/pulumi";
import { dockerHostOutputs } from "../../fleet/onDockerHost.js";
import type { DeployContext, StackOutputs } from "../../fleet/stackOutputs.js";
import { SshHost } from "../../hosts/sshHost.js";
import { sshHostArgs, sshPrivateKey } from "../../hosts/sshHostArgs.js";
import type { ExoscaleFleetConfig } from "./config.js";
import { ExoscaleVps } from "./vps.js";

/** A new Exoscale VPS (cloud-init: ops user, Docker, firewall), then the same SshHost and fleet as vps. */
export function deployExoscale(cfg: ExoscaleFleetConfig, opts: DeployContext): StackOutputs {
  const privateKey = sshPrivateKey();
  const vps = new ExoscaleVps("vps", {
    zone: cfg.exoscale.zone,
    instanceType: cfg.exoscale.instanceType,
    diskSizeGb: cfg.exoscale.diskSizeGb,
    templateName: cfg.exoscale.template,
    elasticIp: cfg.exoscale.elasticIp,
    allowedCidrs: cfg.ssh.allowedCidrs,
    sshPublicKey: cfg.sshPublicKey,
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

