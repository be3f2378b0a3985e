import type { Target } from "../target.js";
import { exoscaleConfig, type ExoscaleFleetConfig } from "./config.js";
import { deployExoscale } from "./deploy.js";

/** Target exoscale: its config part and deployment (see targets/target.ts). */
export const exoscaleTarget: Target<ExoscaleFleetConfig> = { config: exoscaleConfig, deploy: deployExoscale };

// The components and helpers, for programs that use them on their own.
export { ExoscaleVps, type ExoscaleVpsArgs } from "./vps.js";
export { buildCloudConfig, encodeUserData, USER_DATA_MAX_BASE64_BYTES, type CloudInitOptions } from "./cloudInit.js";
export { monthlyCostEstimate, PRICES_RECORDED_ON, INSTANCE_HOURLY_EUR } from "./pricing.js";
export { ExoscaleClient, ExoscaleApiError, ExoscaleOperationError, type ExoscaleClientOptions } from "./client.js";
export {
  resolveExoscaleSettings,
  CONFIG_KEYS as EXOSCALE_CONFIG_KEYS,
  ENV_KEYS as EXOSCALE_ENV_KEYS,
} from "./settings.js";
export { EXOSCALE_ZONES, apiEndpoint, requireExoscaleZone, type ExoscaleZone } from "./zones.js";
