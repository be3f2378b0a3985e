#!/usr/bin/env node
import * as v8 from "node:v8";
// The runtime is a supervisor: it spends its time waiting on files and child processes, and its
// own CPU use is tiny. V8's compiling tiers would only add resident memory (about 4 MiB of code
// pages in an idle runtime), so they stay off; the interpreter is plenty. Set before any other
// module runs.
for (const flag of ["--no-opt", "--no-sparkplug", "--no-maglev"]) v8.setFlagsFromString(flag);
import { parseArgs } from "node:util";
import { ENV } from "../../contract/env.js";
import { AgentRuntime } from "../agentRuntime.js";
import { startEgressForwarder } from "../egress/forwarder.js";
import { AgentLogger } from "../log.js";
import { loadSettings, SETTINGS_DOC, SettingsError, type Env } from "../settings.js";
import { sharedLayout } from "../sharedLayout.js";

/**
 * agent-runtime: the main process of an agent container (and a development tool).
 * Settings come from the environment (see docs/runtime.md); flags override the main ones.
 */
const HELP = `Usage: agent-runtime [--name NAME] [--approval-required true|false] [--app DIR] [--shared DIR]
                     [--decisions DIR] [--scratch DIR] [--capabilities a,b]

Runs one agent's loop: claims tasks from the shared queue, runs the agent program named by
<app>/agent.json on a scratch copy, and applies approved changes to <app> as git commits.

Settings (environment; flags override):
${SETTINGS_DOC.map(([k, d, t]) => `  ${k.padEnd(30)} ${t} (default: ${d})`).join("\n")}
`;

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      options: {
        name: { type: "string" },
        "approval-required": { type: "string" },
        app: { type: "string" },
        shared: { type: "string" },
        decisions: { type: "string" },
        scratch: { type: "string" },
        capabilities: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`agent-runtime: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const env: Env = { ...process.env };
  const map: Array<[keyof typeof flags, string]> = [
    ["name", "AGENT_NAME"],
    ["approval-required", "APPROVAL_REQUIRED"],
    ["app", "AGENT_APP_DIR"],
    ["shared", "AGENT_SHARED_DIR"],
    ["decisions", "AGENT_DECISIONS_DIR"],
    ["scratch", "AGENT_SCRATCH_DIR"],
    ["capabilities", "AGENT_CAPABILITIES"],
  ];
  for (const [flag, key] of map) {
    const v = flags[flag];
    if (typeof v === "string") env[key] = v;
  }
  let settings;
  try {
    settings = loadSettings(env);
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`agent-runtime: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = new AgentLogger(
    settings.agentName,
    sharedLayout(settings.sharedDir).logFile(settings.agentName),
    settings.logMaxBytes,
  );
  // An allow-listed agent's only way out: loopback → the fleet's egress proxy (docs/program.md).
  const egressSocket = env[ENV.egressSocket];
  if (egressSocket) {
    const port = Number(env[ENV.egressProxyPort]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      process.stderr.write(
        `agent-runtime: ${ENV.egressProxyPort} must be a port, got ${JSON.stringify(env[ENV.egressProxyPort])}\n`,
      );
      return 2;
    }
    try {
      await startEgressForwarder({ port, socket: egressSocket });
    } catch (err) {
      process.stderr.write(
        `agent-runtime: cannot start the egress forwarder on 127.0.0.1:${port}: ${(err as Error).message}\n`,
      );
      return 1;
    }
  }
  const runtime = new AgentRuntime(settings, logger);
  try {
    await runtime.prepare();
  } catch (err) {
    process.stderr.write(`agent-runtime: cannot start agent ${settings.agentName}: ${(err as Error).message}\n`);
    return 1;
  }
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1 && sig === "SIGINT") process.exit(130);
    runtime.stop();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  await runtime.start();
  return 0;
}

process.umask(0o022);
main().then(
  // Exit explicitly: a program's leftover pipe must not keep a stopped runtime alive.
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`agent-runtime: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
