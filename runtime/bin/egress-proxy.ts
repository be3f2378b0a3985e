#!/usr/bin/env node
import { ENV } from "../../contract/env.js";
import { parseEgressRules, startEgressProxy } from "../egress/proxy.js";

/**
 * egress-proxy: the main process of a fleet's `<fleet>-egress` container on a Docker host.
 * AGENT_EGRESS_RULES holds `{ agent: ["host:port", ...] }`, AGENT_EGRESS_DIR the folder of
 * per-agent socket folders. Every decision is logged as one JSON line on stdout.
 */
async function main(): Promise<number> {
  const dir = process.env[ENV.egressDir];
  const json = process.env[ENV.egressRules];
  if (!dir || !json) {
    process.stderr.write(`egress-proxy: ${ENV.egressDir} and ${ENV.egressRules} are required\n`);
    return 2;
  }
  let rules;
  try {
    rules = parseEgressRules(json);
  } catch (err) {
    process.stderr.write(`egress-proxy: ${(err as Error).message}\n`);
    return 2;
  }
  await startEgressProxy(dir, rules, (agent, verdict, target, why) => {
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), agent, verdict, target, ...(why ? { why } : {}) })}\n`,
    );
  });
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), listening: Object.keys(rules) })}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  return 0;
}

process.umask(0o022);
main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`egress-proxy: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
