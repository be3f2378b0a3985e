import * as os from "node:os";
import * as path from "node:path";
import { NAME_PATTERN } from "./ids.js";

/**
 * Runtime settings: environment variables (the container contract, see
 * fleet/spec.ts) with documented defaults; command-line flags may override them.
 * Every bad value stops the runtime at start with an error naming the setting.
 */
export interface RuntimeSettings {
  agentName: string;
  approvalRequired: boolean;
  capabilities: string[];
  appDir: string;
  sharedDir: string;
  decisionsDir: string;
  scratchDir: string;
  /** Overrides agent.json's timeoutSeconds when set. */
  taskTimeoutSeconds?: number;
  runAs: string;
  /** The AGENT_RUN_AS user belongs to this runtime alone: leftovers of a run are killed by uid. */
  exclusiveRunAs: boolean;
  leaseSeconds: number;
  heartbeatSeconds: number;
  pollMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  stopGraceSeconds: number;
  rollbackAfterFailures: number;
  outputMaxBytes: number;
  patchMaxBytes: number;
  logMaxBytes: number;
}

export type Env = Record<string, string | undefined>;

export class SettingsError extends Error {}

/** name, default, description: the table in docs/runtime.md mirrors this list. */
export const SETTINGS_DOC: Array<[string, string, string]> = [
  ["AGENT_NAME", "(required)", "this agent's name: lowercase letters, digits, dashes"],
  ["APPROVAL_REQUIRED", "(required)", "`true`: proposals wait for a decision; `false`: applied at once"],
  ["AGENT_CAPABILITIES", "empty", "comma list; tasks queued with --capability C go to agents that have C"],
  ["AGENT_APP_DIR", "/app", "the agent's code, a git repo the runtime commits to"],
  ["AGENT_SHARED_DIR", "/shared", "tasks, proposals, status, logs"],
  ["AGENT_DECISIONS_DIR", "/decisions", "operator decisions (read-only for the runtime)"],
  ["AGENT_SCRATCH_DIR", "<os.tmpdir()>/agent-fleet-scratch", "per-task working copies (/scratch in containers)"],
  ["AGENT_TASK_TIMEOUT_SECONDS", "agent.json timeoutSeconds, else 600", "time budget of one program run"],
  ["AGENT_RUN_AS", "agent", "user (name or uid:gid) that runs the agent program when the runtime is root"],
  ["AGENT_EXCLUSIVE_RUN_AS", "false (the image sets true)", "the AGENT_RUN_AS user runs nothing but this agent's programs (one agent per container): after every run, every process it still owns (one that escaped the program's process group with setsid or a double fork) is killed"],
  ["AGENT_LEASE_SECONDS", "30", "a claim whose agent's heartbeat is older than this goes back to pending"],
  ["AGENT_HEARTBEAT_SECONDS", "5", "how often the status file (and so every lease) is renewed"],
  ["AGENT_POLL_MS", "1000", "queue/decision poll interval (file watches wake it earlier)"],
  ["AGENT_MAX_ATTEMPTS", "3", "default attempt limit of a task (a task may set its own)"],
  ["AGENT_BACKOFF_BASE_MS", "1000", "pause after the first failed run, doubled per further failure in a row"],
  ["AGENT_BACKOFF_MAX_MS", "60000", "longest pause between failing runs"],
  ["AGENT_STOP_GRACE_SECONDS", "8", "on SIGTERM: how long the current run may finish before it is killed and handed back"],
  ["AGENT_ROLLBACK_AFTER_FAILURES", "3", "revert an applied change when this many runs in a row fail right after it (0: off)"],
  ["AGENT_OUTPUT_MAX_BYTES", "65536", "program output kept in the log per run (the rest is counted, not kept)"],
  ["AGENT_PATCH_MAX_BYTES", "10485760", "largest change a run may propose"],
  ["AGENT_LOG_MAX_BYTES", "10485760", "log file size before it is rotated to <agent>.1.jsonl"],
];

function intSetting(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw.trim())) throw new SettingsError(`${name} must be a whole number, got "${raw}"`);
  const v = Number(raw.trim());
  if (v < min || v > max) throw new SettingsError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function boolSetting(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SettingsError(`${name} must be exactly \`true\` or \`false\`, got "${raw}"`);
}

export function parseApprovalRequired(raw: string | undefined): boolean {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw === undefined || raw === "") {
    throw new SettingsError("APPROVAL_REQUIRED is not set: it must be exactly `true` or `false`");
  }
  throw new SettingsError(`APPROVAL_REQUIRED must be exactly \`true\` or \`false\`, got "${raw}"`);
}

export function parseCapabilities(raw: string | undefined): string[] {
  const caps = (raw ?? "").split(",").map((c) => c.trim()).filter((c) => c !== "");
  for (const c of caps) {
    if (!NAME_PATTERN.test(c)) {
      throw new SettingsError(`AGENT_CAPABILITIES: "${c}" is not a valid capability (lowercase letters, digits, dashes)`);
    }
  }
  return [...new Set(caps)].sort();
}

export function validateAgentName(name: string | undefined, source = "AGENT_NAME"): string {
  if (name === undefined || name === "") throw new SettingsError(`${source} is not set`);
  if (!NAME_PATTERN.test(name)) {
    throw new SettingsError(`${source} "${name}" is not valid: use lowercase letters, digits and dashes (max 63)`);
  }
  return name;
}

export function defaultScratchDir(): string {
  return path.join(os.tmpdir(), "agent-fleet-scratch");
}

export function loadSettings(env: Env): RuntimeSettings {
  const agentName = validateAgentName(env.AGENT_NAME);
  const approvalRequired = parseApprovalRequired(env.APPROVAL_REQUIRED);
  const timeout = env.AGENT_TASK_TIMEOUT_SECONDS;
  const s: RuntimeSettings = {
    agentName,
    approvalRequired,
    capabilities: parseCapabilities(env.AGENT_CAPABILITIES),
    appDir: path.resolve(env.AGENT_APP_DIR || "/app"),
    sharedDir: path.resolve(env.AGENT_SHARED_DIR || "/shared"),
    decisionsDir: path.resolve(env.AGENT_DECISIONS_DIR || "/decisions"),
    scratchDir: path.resolve(env.AGENT_SCRATCH_DIR || defaultScratchDir()),
    runAs: env.AGENT_RUN_AS || "agent",
    exclusiveRunAs: boolSetting(env, "AGENT_EXCLUSIVE_RUN_AS", false),
    leaseSeconds: intSetting(env, "AGENT_LEASE_SECONDS", 30, 2, 86400),
    heartbeatSeconds: intSetting(env, "AGENT_HEARTBEAT_SECONDS", 5, 1, 3600),
    pollMs: intSetting(env, "AGENT_POLL_MS", 1000, 10, 600000),
    maxAttempts: intSetting(env, "AGENT_MAX_ATTEMPTS", 3, 1, 100),
    backoffBaseMs: intSetting(env, "AGENT_BACKOFF_BASE_MS", 1000, 0, 3600000),
    backoffMaxMs: intSetting(env, "AGENT_BACKOFF_MAX_MS", 60000, 0, 3600000),
    stopGraceSeconds: intSetting(env, "AGENT_STOP_GRACE_SECONDS", 8, 0, 3600),
    rollbackAfterFailures: intSetting(env, "AGENT_ROLLBACK_AFTER_FAILURES", 3, 0, 1000),
    outputMaxBytes: intSetting(env, "AGENT_OUTPUT_MAX_BYTES", 65536, 1024),
    patchMaxBytes: intSetting(env, "AGENT_PATCH_MAX_BYTES", 10 * 1024 * 1024, 1024),
    logMaxBytes: intSetting(env, "AGENT_LOG_MAX_BYTES", 10 * 1024 * 1024, 4096),
  };
  if (timeout !== undefined && timeout !== "") {
    s.taskTimeoutSeconds = intSetting(env, "AGENT_TASK_TIMEOUT_SECONDS", 600, 1, 7 * 86400);
  }
  if (s.heartbeatSeconds * 2 > s.leaseSeconds) {
    throw new SettingsError(
      `AGENT_LEASE_SECONDS (${s.leaseSeconds}) must be at least twice AGENT_HEARTBEAT_SECONDS (${s.heartbeatSeconds}), or leases expire between heartbeats`,
    );
  }
  return s;
}
