/**
 * The agent contract: what the runtime in a container and every target agree on. No imports
 * outside this folder and no dependencies, so the runtime image compiles it offline.
 */
export * from "./env.js";
export * from "./paths.js";
export * from "./names.js";
export * from "./capabilities.js";
export * from "./egress.js";
export * from "./console.js";
