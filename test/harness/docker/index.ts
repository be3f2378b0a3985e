/**
 * Docker test harness, shared by the container suite and the e2e suite:
 * a private engine (engine.ts), offline Debian base images (baseImage.ts), the agent image
 * (agentImage.ts) and argv-only CLI helpers (cli.ts). See docs/image.md "Tests".
 */
export * from "./cli.js";
export * from "./engine.js";
export * from "./baseImage.js";
export * from "./agentImage.js";
