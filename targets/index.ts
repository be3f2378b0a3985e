import type { CheckResult, ConfigContext } from "../config/fleetConfig.js";
import { checkFleetConfig, parseFleetConfig, settingNames } from "../config/fleetConfig.js";
import type { DeployContext, StackOutputs } from "../fleet/stackOutputs.js";
import { awsTarget } from "./aws/index.js";
import { exoscaleTarget } from "./exoscale/index.js";
import { localTarget } from "./local/index.js";
import { vpsTarget } from "./vps/index.js";

/**
 * The registry of targets: one line per target folder. The program and `agent-fleet check` both
 * validate through checkStackConfig/parseStackConfig below, with every target's config part, so
 * they cannot disagree.
 */
export const TARGETS = [localTarget, vpsTarget, exoscaleTarget, awsTarget] as const;

/** A stack's resolved config: a union discriminated by `target`. */
export type FleetConfig = Parameters<(typeof TARGETS)[number]["deploy"]>[0];

const PARTS = TARGETS.map((t) => t.config);

/** Every top-level setting of the `agent-fleet` namespace (Pulumi.yaml declares exactly these). */
export const SETTING_NAMES = settingNames(PARTS);

export function checkStackConfig(raw: Record<string, unknown>, ctx: ConfigContext): CheckResult<FleetConfig> {
  return checkFleetConfig<FleetConfig>(raw, ctx, PARTS);
}

/** Throws a ConfigError listing every problem. */
export function parseStackConfig(raw: Record<string, unknown>, ctx: ConfigContext): FleetConfig {
  return parseFleetConfig<FleetConfig>(raw, ctx, PARTS);
}

/** The deployment of the config's own target. */
export function deploy(cfg: FleetConfig, ctx: DeployContext): StackOutputs {
  switch (cfg.target) {
    case "local":
      return localTarget.deploy(cfg, ctx);
    case "vps":
      return vpsTarget.deploy(cfg, ctx);
    case "exoscale":
      return exoscaleTarget.deploy(cfg, ctx);
    case "aws":
      return awsTarget.deploy(cfg, ctx);
  }
}
