import type { Target } from "../target.js";
import { vpsConfig, type VpsFleetConfig } from "./config.js";
import { deployVps } from "./deploy.js";

/** Target vps: its config part and deployment (see targets/target.ts). */
export const vpsTarget: Target<VpsFleetConfig> = { config: vpsConfig, deploy: deployVps };
