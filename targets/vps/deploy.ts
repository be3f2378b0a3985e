import { dockerHostOutputs } from "../../fleet/onDockerHost.js";
import type { DeployContext, StackOutputs } from "../../fleet/stackOutputs.js";
import { SshHost } from "../../hosts/sshHost.js";
import { sshHostArgs } from "../../hosts/sshHostArgs.js";
import type { VpsFleetConfig } from "./config.js";

/** An existing machine over SSH: bootstrap (user, Docker, firewall), then the fleet on it. */
export function deployVps(cfg: VpsFleetConfig, opts: DeployContext): StackOutputs {
  return dockerHostOutputs(cfg, new SshHost("host", { host: cfg.vps.host, ...sshHostArgs(cfg) }), opts);
}
