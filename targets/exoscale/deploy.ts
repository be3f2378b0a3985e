import * as pulumi from "@pulumi/pulumi";
import { dockerHostOutputs } from "../../fleet/onDockerHost.js";
import type { DeployContext, StackOutputs } from "../../fleet/stackOutputs.js";
import { SshHost } from "../../hosts/sshHost.js";
import { sshHostArgs, sshPrivateKey } from "../../hosts/sshHostArgs.js";
import type { ExoscaleFleetConfig } from "./config.js";
import { ExoscaleVps } from "./vps.js";

export const ON_DESTROY =
  "pulumi destroy DELETES the Exoscale machine and its disk: agent code, history, shared data and decisions go with it (copy out what you want to keep first)";

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
    details: pulumi
      .all([out.details, vps.instanceId, vps.zone, vps.monthlyCostEstimate, vps.costBasis])
      .apply(([d, instanceId, zone, monthlyCostEstimateEur, costBasis]) => ({
        ...d,
        // The machine is this stack's own: destroy deletes it with its disk, whatever purgeOnDestroy says.
        onDestroy: ON_DESTROY,
        instanceId,
        zone,
        monthlyCostEstimateEur,
        costBasis,
      })),
  };
}
