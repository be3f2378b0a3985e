import type { CommonFleetConfig } from "../../config/fleetConfig.js";
import type { TargetConfigPart } from "../../config/targetPart.js";

export interface LocalFleetConfig extends CommonFleetConfig {
  target: "local";
}

/** The local machine: no section of its own; the fleet's files default to <project>/.agent-fleet/<stack>. */
export const localConfig: TargetConfigPart<LocalFleetConfig> = {
  name: "local",
  hostRoot: "project",
  usesSsh: false,
  build: (common) => ({ ...common, target: "local" }),
};
