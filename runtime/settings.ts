import * as os from "node:os";
import * as path from "node:path";
import { CONTAINER_PATHS } from "../contract/paths.js";
import {
  BUDGET_MAX_USD,
  IDLE_MAX_SECONDS,
  IDLE_MIN_SECONDS,
  DEFAULT_ALLOW_BINARY,
  DEFAULT_CAN_CREATE_TASKS,
  DEFAULT_CHANGE_MAX_BYTES,
  DEFAULT_REVIEW_APPROVALS,
  ENV,
  MAX_REVIEW_APPROVALS,
  MAX_REVIEWERS,
} from "../contract/env.js";
import { CAPABILITY, CAPABILITY_RULE, DNS_LABEL_MAX, PROJECT_NAME, PROJECT_NAME_RULE } from "../contract/names.js";
import { COORDINATION_DEFAULTS as CD } from "./coordination/limits.js";
import { NAME_PATTERN } from "./ids.js";

/**
 * Runtime settings: environment variables (the agent contract, contract/env.ts; the targets set
 * them) with documented defaults; command-line flags may override them.
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
  /** Binary files and symlinks (inside the repository) may be proposed. */
  allowBinary: boolean;
  /** The most a change may write: the sum of the sizes of the files it creates or changes. */
  changeMaxBytes: number;
  /** Free space that must remain on /app's file system after an apply. */
  minFreeBytes: number;
  /** Days a rejected proposal's patch is kept before the janitor removes it. */
  rejectedRetentionDays: number;
  /** Where the shared projects' repositories are (`<projectsDir>/<name>`). */
  projectsDir: string;
  /** The shared projects this agent works on (sorted); a task for any other is refused. */
  projects: string[];
  /** A coordinator: the tasks its runs write into $TASK_OUTBOX are queued (else reported, ignored). */
  canCreateTasks: boolean;
  outboxMaxTasks: number;
  outboxMaxFileBytes: number;
  outboxMaxRunBytes: number;
  outboxMaxPending: number;
  messageMaxChars: number;
  messageMaxLines: number;
  /** USD of reported model usage per UTC day; over it the agent claims nothing (none: no limit). */
  budgetUsdPerDay?: number;
  /** USD one run may report; a run over it fails (none: no limit). */
  budgetUsdPerTask?: number;
  /** Distinct human approvers each proposal needs (with approval required). */
  reviewApprovals: number;
  /** Reviewer agents of this agent's proposals (sorted; empty: none). */
  reviewers: string[];
  /** How many reviewers must approve (1 to reviewers.length). */
  reviewQuorum: number;
  /** Idle scale-down: seconds with nothing to claim before the agent declares itself idle (none: never). */
  idleAfterSeconds?: number;
}

export type Env = Record<string, string | undefined>;

export class SettingsError extends Error {}

/** name, default, description: the table in docs/runtime.md mirrors this list. */
export const SETTINGS_DOC: Array<[string, string, string]> = [
  [ENV.agentName, "(required)", "this agent's name: lowercase letters, digits, dashes"],
  [ENV.approvalRequired, "(required)", "`true`: proposals wait for a decision; `false`: applied at once"],
  [ENV.capabilities, "empty", "comma list; tasks queued with --capability C go to agents that have C"],
  [ENV.appDir, CONTAINER_PATHS.app, "the agent's code, a git repo the runtime commits to"],
  [ENV.sharedDir, CONTAINER_PATHS.shared, "tasks, proposals, status, logs"],
  [ENV.decisionsDir, CONTAINER_PATHS.decisions, "operator decisions (read-only for the runtime)"],
  [
    ENV.scratchDir,
    "<os.tmpdir()>/agent-fleet-scratch",
    `per-task working copies (${CONTAINER_PATHS.scratch} in containers)`,
  ],
  [ENV.taskTimeoutSeconds, "agent.json timeoutSeconds, else 600", "time budget of one program run"],
  [ENV.runAs, "agent", "user (name or uid:gid) that runs the agent program when the runtime is root"],
  [
    ENV.exclusiveRunAs,
    "false (the image sets true)",
    "the AGENT_RUN_AS user runs nothing but this agent's programs (one agent per container): after every run, every process it still owns (one that escaped the program's process group with setsid or a double fork) is killed",
  ],
  [ENV.leaseSeconds, "30", "a claim whose agent's heartbeat is older than this goes back to pending"],
  [ENV.heartbeatSeconds, "5", "how often the status file (and so every lease) is renewed"],
  [ENV.pollMs, "1000", "queue/decision poll interval (file watches wake it earlier)"],
  [ENV.maxAttempts, "3", "default attempt limit of a task (a task may set its own)"],
  [ENV.backoffBaseMs, "1000", "pause after the first failed run, doubled per further failure in a row"],
  [ENV.backoffMaxMs, "60000", "longest pause between failing runs"],
  [ENV.stopGraceSeconds, "8", "on SIGTERM: how long the current run may finish before it is killed and handed back"],
  [
    ENV.rollbackAfterFailures,
    "3",
    "revert an applied change when this many runs in a row fail right after it (0: off)",
  ],
  [ENV.outputMaxBytes, "65536", "program output kept in the log per run (the rest is counted, not kept)"],
  [ENV.patchMaxBytes, "10485760", "largest change a run may propose"],
  [ENV.logMaxBytes, "10485760", "log file size before it is rotated to <agent>.1.jsonl"],
  [
    ENV.allowBinary,
    String(DEFAULT_ALLOW_BINARY),
    "`true`: a change may hold binary files and symlinks (listed in the proposal with their sizes); a symlink pointing outside the repository or into `.git` is refused even then",
  ],
  [
    ENV.changeMaxBytes,
    String(DEFAULT_CHANGE_MAX_BYTES),
    "largest total size of the files one change writes (what the patch inflates to)",
  ],
  [
    ENV.minFreeBytes,
    "67108864",
    "free space that must remain on the app dir's file system after an apply (else the proposal is refused: no-space)",
  ],
  [ENV.projectsDir, CONTAINER_PATHS.projects, "the shared projects' git repositories, one per project at <dir>/<name>"],
  [
    ENV.projects,
    "empty",
    "comma list of the shared projects this agent works on; a task for another project fails with that reason",
  ],
  [
    ENV.canCreateTasks,
    String(DEFAULT_CAN_CREATE_TASKS),
    "`true`: a coordinator; the task files its runs write into `$TASK_OUTBOX` are validated and queued (else reported and ignored)",
  ],
  [ENV.outboxMaxTasks, String(CD.outboxMaxTasks), "task files one run may queue; the rest are rejected"],
  [ENV.outboxMaxFileBytes, String(CD.outboxMaxFileBytes), "largest task file in the outbox"],
  [ENV.outboxMaxRunBytes, String(CD.outboxMaxRunBytes), "all task files of one run plus the context files they name"],
  [
    ENV.outboxMaxPending,
    String(CD.outboxMaxPending),
    "tasks this agent created that may be pending or claimed at once; further ones are rejected",
  ],
  [ENV.messageMaxChars, String(CD.messageMaxChars), "characters of one `$TASK_MESSAGES` line (longer lines are cut)"],
  [ENV.messageMaxLines, String(CD.messageMaxLines), "`$TASK_MESSAGES` lines recorded per run (the rest are counted)"],
  [
    ENV.rejectedRetentionDays,
    "14",
    "days the patch of a rejected proposal is kept; then the janitor removes it (the proposal stays, marked pruned)",
  ],
  [
    ENV.budgetUsdPerDay,
    "none",
    "US dollars of model usage (what programs report in $TASK_USAGE_FILE) per UTC day; over it the agent claims nothing until the next UTC day (status `over_budget`)",
  ],
  [
    ENV.budgetUsdPerTask,
    "none",
    "US dollars one run may report; a run reporting more fails and its change is not proposed (the program sees it as $TASK_BUDGET_USD)",
  ],
  [
    ENV.reviewApprovals,
    String(DEFAULT_REVIEW_APPROVALS),
    `distinct human approvers each proposal needs (1-${MAX_REVIEW_APPROVALS}; with approval required); the same name approving twice counts once`,
  ],
  [
    ENV.reviewers,
    "empty",
    "comma list of reviewer agents (never this agent): each proposal gets one review task per reviewer, and applies once AGENT_REVIEW_QUORUM of them approve it; a rejection, or a quorum out of reach, leaves it pending for the humans",
  ],
  [
    ENV.reviewQuorum,
    "all the reviewers",
    `reviewer approvals a proposal needs (1 to the number of reviewers, at most ${MAX_REVIEWERS})`,
  ],
  [
    ENV.idleAfterSeconds,
    "none (never idle)",
    `idle scale-down: after this many seconds (${IDLE_MIN_SECONDS}-${IDLE_MAX_SECONDS}) with nothing to claim the agent declares itself idle (status \`idle_since\`, marker \`agents/<agent>/idle\`) and claims nothing until a task arrives; the host-side waker stops it and starts it again (the config sets whole minutes: \`idle.afterMinutes\`)`,
  ],
];

/** AGENT_REVIEWERS and AGENT_REVIEW_QUORUM of agent `self`. */
export function parseReviewers(env: Env, self: string): { reviewers: string[]; quorum: number } {
  const names = (env[ENV.reviewers] ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
  for (const n of names) validateAgentName(n, `${ENV.reviewers}: "${n}"`);
  const reviewers = [...new Set(names)].sort();
  if (reviewers.length !== names.length) throw new SettingsError(`${ENV.reviewers} lists an agent twice`);
  if (reviewers.includes(self))
    throw new SettingsError(`${ENV.reviewers} lists ${self} itself: an agent never reviews its own proposals`);
  if (reviewers.length > MAX_REVIEWERS)
    throw new SettingsError(`${ENV.reviewers} lists ${reviewers.length} agents, at most ${MAX_REVIEWERS}`);
  if (reviewers.length === 0) {
    if (env[ENV.reviewQuorum]) throw new SettingsError(`${ENV.reviewQuorum} is set but ${ENV.reviewers} is empty`);
    return { reviewers, quorum: 0 };
  }
  return { reviewers, quorum: intSetting(env, ENV.reviewQuorum, reviewers.length, 1, reviewers.length) };
}

function intSetting(env: Env, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw.trim())) throw new SettingsError(`${name} must be a whole number, got "${raw}"`);
  const v = Number(raw.trim());
  if (v < min || v > max) throw new SettingsError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function usdSetting(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const t = raw.trim();
  if (!/^\d{1,7}(\.\d{1,6})?$/.test(t) || Number(t) <= 0 || Number(t) > BUDGET_MAX_USD)
    throw new SettingsError(
      `${name} must be an amount in US dollars above 0 and at most ${BUDGET_MAX_USD}, got "${raw}"`,
    );
  return Number(t);
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
    throw new SettingsError(`${ENV.approvalRequired} is not set: it must be exactly \`true\` or \`false\``);
  }
  throw new SettingsError(`${ENV.approvalRequired} must be exactly \`true\` or \`false\`, got "${raw}"`);
}

export function parseCapabilities(raw: string | undefined): string[] {
  const caps = (raw ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
  for (const c of caps) {
    if (!CAPABILITY.test(c)) {
      throw new SettingsError(`${ENV.capabilities}: "${c}" is not a valid capability (${CAPABILITY_RULE})`);
    }
  }
  return [...new Set(caps)].sort();
}

export function parseProjects(raw: string | undefined): string[] {
  const names = (raw ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
  for (const n of names) {
    if (!PROJECT_NAME.test(n)) {
      throw new SettingsError(`${ENV.projects}: "${n}" is not a valid project name (${PROJECT_NAME_RULE})`);
    }
  }
  return [...new Set(names)].sort();
}

export function validateAgentName(name: string | undefined, source: string = ENV.agentName): string {
  if (name === undefined || name === "") throw new SettingsError(`${source} is not set`);
  if (!NAME_PATTERN.test(name)) {
    throw new SettingsError(
      `${source} "${name}" is not valid: use lowercase letters, digits and dashes (max ${DNS_LABEL_MAX})`,
    );
  }
  return name;
}

export function defaultScratchDir(): string {
  return path.join(os.tmpdir(), "agent-fleet-scratch");
}

export function loadSettings(env: Env): RuntimeSettings {
  const agentName = validateAgentName(env[ENV.agentName]);
  const approvalRequired = parseApprovalRequired(env[ENV.approvalRequired]);
  const timeout = env[ENV.taskTimeoutSeconds];
  const s: RuntimeSettings = {
    agentName,
    approvalRequired,
    capabilities: parseCapabilities(env[ENV.capabilities]),
    appDir: path.resolve(env[ENV.appDir] || CONTAINER_PATHS.app),
    sharedDir: path.resolve(env[ENV.sharedDir] || CONTAINER_PATHS.shared),
    decisionsDir: path.resolve(env[ENV.decisionsDir] || CONTAINER_PATHS.decisions),
    scratchDir: path.resolve(env[ENV.scratchDir] || defaultScratchDir()),
    runAs: env[ENV.runAs] || "agent",
    exclusiveRunAs: boolSetting(env, ENV.exclusiveRunAs, false),
    leaseSeconds: intSetting(env, ENV.leaseSeconds, 30, 2, 86400),
    heartbeatSeconds: intSetting(env, ENV.heartbeatSeconds, 5, 1, 3600),
    pollMs: intSetting(env, ENV.pollMs, 1000, 10, 600000),
    maxAttempts: intSetting(env, ENV.maxAttempts, 3, 1, 100),
    backoffBaseMs: intSetting(env, ENV.backoffBaseMs, 1000, 0, 3600000),
    backoffMaxMs: intSetting(env, ENV.backoffMaxMs, 60000, 0, 3600000),
    stopGraceSeconds: intSetting(env, ENV.stopGraceSeconds, 8, 0, 3600),
    rollbackAfterFailures: intSetting(env, ENV.rollbackAfterFailures, 3, 0, 1000),
    outputMaxBytes: intSetting(env, ENV.outputMaxBytes, 65536, 1024),
    patchMaxBytes: intSetting(env, ENV.patchMaxBytes, 10 * 1024 * 1024, 1024),
    logMaxBytes: intSetting(env, ENV.logMaxBytes, 10 * 1024 * 1024, 4096),
    allowBinary: boolSetting(env, ENV.allowBinary, DEFAULT_ALLOW_BINARY),
    changeMaxBytes: intSetting(env, ENV.changeMaxBytes, DEFAULT_CHANGE_MAX_BYTES, 1024),
    minFreeBytes: intSetting(env, ENV.minFreeBytes, 64 * 1024 * 1024, 0),
    rejectedRetentionDays: intSetting(env, ENV.rejectedRetentionDays, 14, 0, 36500),
    projectsDir: path.resolve(env[ENV.projectsDir] || CONTAINER_PATHS.projects),
    projects: parseProjects(env[ENV.projects]),
    canCreateTasks: boolSetting(env, ENV.canCreateTasks, DEFAULT_CAN_CREATE_TASKS),
    outboxMaxTasks: intSetting(env, ENV.outboxMaxTasks, CD.outboxMaxTasks, 0, 10_000),
    outboxMaxFileBytes: intSetting(env, ENV.outboxMaxFileBytes, CD.outboxMaxFileBytes, 256, 16 * 1024 * 1024),
    outboxMaxRunBytes: intSetting(env, ENV.outboxMaxRunBytes, CD.outboxMaxRunBytes, 256, 1024 * 1024 * 1024),
    outboxMaxPending: intSetting(env, ENV.outboxMaxPending, CD.outboxMaxPending, 0, 1_000_000),
    messageMaxChars: intSetting(env, ENV.messageMaxChars, CD.messageMaxChars, 16, 1024 * 1024),
    messageMaxLines: intSetting(env, ENV.messageMaxLines, CD.messageMaxLines, 0, 100_000),
    reviewApprovals: intSetting(env, ENV.reviewApprovals, DEFAULT_REVIEW_APPROVALS, 1, MAX_REVIEW_APPROVALS),
    reviewers: [],
    reviewQuorum: 0,
  };
  const review = parseReviewers(env, agentName);
  s.reviewers = review.reviewers;
  s.reviewQuorum = review.quorum;
  const perDay = usdSetting(env, ENV.budgetUsdPerDay);
  const perTask = usdSetting(env, ENV.budgetUsdPerTask);
  if (perDay !== undefined) s.budgetUsdPerDay = perDay;
  if (perTask !== undefined) s.budgetUsdPerTask = perTask;
  const idle = env[ENV.idleAfterSeconds];
  if (idle !== undefined && idle !== "")
    s.idleAfterSeconds = intSetting(env, ENV.idleAfterSeconds, IDLE_MAX_SECONDS, IDLE_MIN_SECONDS, IDLE_MAX_SECONDS);
  if (timeout !== undefined && timeout !== "") {
    s.taskTimeoutSeconds = intSetting(env, ENV.taskTimeoutSeconds, 600, 1, 7 * 86400);
  }
  if (s.heartbeatSeconds * 2 > s.leaseSeconds) {
    throw new SettingsError(
      `${ENV.leaseSeconds} (${s.leaseSeconds}) must be at least twice ${ENV.heartbeatSeconds} (${s.heartbeatSeconds}), or leases expire between heartbeats`,
    );
  }
  return s;
}
