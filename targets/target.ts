import type { CommonFleetConfig } from "../config/fleetConfig.js";
import type { TargetConfigPart } from "../config/targetPart.js";
import type { DeployContext, StackOutputs } from "../fleet/stackOutputs.js";

/**
 * What every target folder provides (targets/<name>/index.ts): its part of the stack config and
 * the deployment of a fleet from that config. targets/index.ts lists them; adding a target is a
 * folder with these two things and one line there.
 */
export interface Target<C extends CommonFleetConfig = CommonFleetConfig> {
  config: TargetConfigPart<C>;
  deploy(cfg: C, ctx: DeployContext): StackOutputs;
}
