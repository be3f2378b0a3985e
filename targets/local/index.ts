import type { Target } from "../target.js";
import { localConfig, type LocalFleetConfig } from "./config.js";
import { deployLocal } from "./deploy.js";

/** Target local: its config part and deployment (see targets/target.ts). */
export const localTarget: Target<LocalFleetConfig> = { config: localConfig, deploy: deployLocal };
