/**
 * The operator library: everything agentctl and the review console do to a fleet's shared and
 * decisions dirs, as data in, data out. No printing, no process exits, no argv: callers present
 * the results (escaping agent-controlled text with ./escape.ts) and map the typed errors of
 * ./errors.ts to their own surface.
 */
export * from "./agents.js";
export * from "./comms.js";
export * from "./decisions.js";
export * from "./dirs.js";
export * from "./errors.js";
export * from "./escape.js";
export * from "./logs.js";
export * from "./patchHash.js";
export * from "./proposals.js";
export * from "./status.js";
export * from "./tasks.js";
export * from "./usage.js";
export * from "./usage.js";
export * from "./validate.js";
