import { dockerHostOutputs } from "../../fleet/onDockerHost.js";
import type { DeployContext, StackOutputs } from "../../fleet/stackOutputs.js";
import { LocalHost } from "../../hosts/localHost.js";
import type { LocalFleetConfig } from "./config.js";

/** This machine's Docker engine. */
export function deployLocal(cfg: LocalFleetConfig, opts: DeployContext): StackOutputs {
  return dockerHostOutputs(cfg, new LocalHost("host", { root: cfg.hostRoot }), opts);
}
