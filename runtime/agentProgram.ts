import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `/app/agent.json`: how the runtime starts the agent program.
 *
 *   {
 *     "command": ["node", "agent.mjs"],   required: argv, run in the task's working copy of /app
 *     "timeoutSeconds": 600,              optional (AGENT_TASK_TIMEOUT_SECONDS overrides it)
 *     "check": ["node", "agent.mjs", "--check"],   optional start check, run after every applied change
 *     "checkTimeoutSeconds": 60,          optional
 *     "env": { "NAME": "value" }          optional extra environment for the program
 *   }
 */
export interface AgentProgram {
  command: string[];
  timeoutSeconds: number;
  check?: string[];
  checkTimeoutSeconds: number;
  env: Record<string, string>;
}

export const DEFAULT_TIMEOUT_SECONDS = 600;
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 60;

/** Exit code by which a program says "try this task again later" (sysexits EX_TEMPFAIL). */
export const EXIT_RETRY = 75;

function argv(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== "string") || (v[0] as string) === "") {
    throw new Error(`agent.json: "${field}" must be a non-empty list of strings, e.g. ["node", "agent.mjs"]`);
  }
  return v as string[];
}

function seconds(v: unknown, field: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw new Error(`agent.json: "${field}" must be a whole number of seconds >= 1`);
  return v;
}

export function parseAgentProgram(text: string): AgentProgram {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`agent.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("agent.json must be a JSON object");
  const o = v as Record<string, unknown>;
  const known = new Set(["command", "timeoutSeconds", "check", "checkTimeoutSeconds", "env", "description", "name"]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`agent.json: unknown field "${k}"`);
  const env: Record<string, string> = {};
  if (o.env !== undefined) {
    if (typeof o.env !== "object" || o.env === null || Array.isArray(o.env))
      throw new Error(`agent.json: "env" must be an object of strings`);
    for (const [k, val] of Object.entries(o.env)) {
      if (typeof val !== "string") throw new Error(`agent.json: env.${k} must be a string`);
      env[k] = val;
    }
  }
  return {
    command: argv(o.command, "command"),
    timeoutSeconds: seconds(o.timeoutSeconds, "timeoutSeconds", DEFAULT_TIMEOUT_SECONDS),
    ...(o.check !== undefined ? { check: argv(o.check, "check") } : {}),
    checkTimeoutSeconds: seconds(o.checkTimeoutSeconds, "checkTimeoutSeconds", DEFAULT_CHECK_TIMEOUT_SECONDS),
    env,
  };
}

export function loadAgentProgram(appDir: string): AgentProgram {
  const file = path.join(appDir, "agent.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist (the agent program needs an agent.json naming its command)" : (err as Error).message}`,
    );
  }
  return parseAgentProgram(text);
}
