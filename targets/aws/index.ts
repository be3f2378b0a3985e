export * from "./fargateFleet.js";
export * from "./args.js";
export { estimateMonthlyCost, PRICES_AS_OF, PRICES_REGION, FARGATE_PRICES, type FleetCostEstimate } from "./cost.js";
export { fargateTaskSize, FARGATE_SIZES } from "./fargateSizing.js";
