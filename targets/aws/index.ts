import type { Target } from "../target.js";
import { awsConfig, type AwsFleetConfig } from "./config.js";
import { deployAws } from "./deploy.js";

/** Target aws: its config part and deployment (see targets/target.ts). */
export const awsTarget: Target<AwsFleetConfig> = { config: awsConfig, deploy: deployAws };

// The components and helpers, for programs that use them on their own.
export * from "./fargateFleet.js";
export {
  resolveFargateFleetArgs,
  type FargateFleetArgs,
  type FargateAgentArgs,
  type FargateNetworkArgs,
  type FargateImageArgs,
  type ResolvedFleetArgs,
} from "./args.js";
export { AWS_DEFAULTS, LOG_RETENTION_DAYS } from "./limits.js";
export { estimateMonthlyCost, PRICES_AS_OF, PRICES_REGION, FARGATE_PRICES, type FleetCostEstimate } from "./cost.js";
export { fargateTaskSize, FARGATE_SIZES } from "./fargateSizing.js";
