import { EGRESS, type NetworkSetting } from "./egress.js";
import { CONTAINER_PATHS } from "./paths.js";

/**
 * Environment variables of the agent container: the runtime reads them, every target sets them
 * (Docker hosts through the container spec, Fargate through its container definitions).
 */
export const ENV = {
  agentName: "AGENT_NAME",
  approvalRequired: "APPROVAL_REQUIRED",
  capabilities: "AGENT_CAPABILITIES",
  appDir: "AGENT_APP_DIR",
  sharedDir: "AGENT_SHARED_DIR",
  decisionsDir: "AGENT_DECISIONS_DIR",
  scratchDir: "AGENT_SCRATCH_DIR",
  taskTimeoutSeconds: "AGENT_TASK_TIMEOUT_SECONDS",
  runAs: "AGENT_RUN_AS",
  exclusiveRunAs: "AGENT_EXCLUSIVE_RUN_AS",
  leaseSeconds: "AGENT_LEASE_SECONDS",
  heartbeatSeconds: "AGENT_HEARTBEAT_SECONDS",
  pollMs: "AGENT_POLL_MS",
  maxAttempts: "AGENT_MAX_ATTEMPTS",
  backoffBaseMs: "AGENT_BACKOFF_BASE_MS",
  backoffMaxMs: "AGENT_BACKOFF_MAX_MS",
  stopGraceSeconds: "AGENT_STOP_GRACE_SECONDS",
  rollbackAfterFailures: "AGENT_ROLLBACK_AFTER_FAILURES",
  outputMaxBytes: "AGENT_OUTPUT_MAX_BYTES",
  patchMaxBytes: "AGENT_PATCH_MAX_BYTES",
  logMaxBytes: "AGENT_LOG_MAX_BYTES",
  allowBinary: "AGENT_ALLOW_BINARY",
  changeMaxBytes: "AGENT_CHANGE_MAX_BYTES",
  minFreeBytes: "AGENT_MIN_FREE_BYTES",
  rejectedRetentionDays: "AGENT_REJECTED_RETENTION_DAYS",
  /** The egress proxy's unix socket; set only for an allow-listed agent (the runtime forwards to it). */
  egressSocket: "AGENT_EGRESS_SOCKET",
  /** Loopback port of the runtime's forwarder to that socket. */
  egressProxyPort: "AGENT_EGRESS_PROXY_PORT",
  /** The egress proxy container's rules: JSON `{ agent: ["host:port", ...] }`. */
  egressRules: "AGENT_EGRESS_RULES",
  /** The egress proxy container's folder of per-agent socket folders. */
  egressDir: "AGENT_EGRESS_DIR",
  projectsDir: "AGENT_PROJECTS_DIR",
  projects: "AGENT_PROJECTS",
  budgetUsdPerDay: "AGENT_BUDGET_USD_PER_DAY",
  budgetUsdPerTask: "AGENT_BUDGET_USD_PER_TASK",
  reviewApprovals: "AGENT_REVIEW_APPROVALS",
  /** Coordinators: the agent may queue tasks through $TASK_OUTBOX (off unless set to true). */
  canCreateTasks: "AGENT_CAN_CREATE_TASKS",
  outboxMaxTasks: "AGENT_OUTBOX_MAX_TASKS",
  outboxMaxFileBytes: "AGENT_OUTBOX_MAX_FILE_BYTES",
  outboxMaxRunBytes: "AGENT_OUTBOX_MAX_RUN_BYTES",
  outboxMaxPending: "AGENT_OUTBOX_MAX_PENDING",
  messageMaxChars: "AGENT_MESSAGE_MAX_CHARS",
  messageMaxLines: "AGENT_MESSAGE_MAX_LINES",
  /** Reviewer agents of this agent's proposals (comma list; never the agent itself). */
  reviewers: "AGENT_REVIEWERS",
  /** How many of those reviewers must approve (default: all of them). */
  reviewQuorum: "AGENT_REVIEW_QUORUM",
  /** Idle scale-down: seconds with nothing to claim before the agent declares itself idle (unset: never). */
  idleAfterSeconds: "AGENT_IDLE_AFTER_SECONDS",
} as const;

/**
 * Idle scale-down (`idle: { afterMinutes }`): the bounds the config accepts, and the bounds of the
 * runtime's setting in seconds (which tests may set to a few seconds; the config only sets whole
 * minutes). A week at most: an agent idle that long is better paused.
 */
export const IDLE_MIN_MINUTES = 1;
export const IDLE_MAX_MINUTES = 7 * 24 * 60;
export const IDLE_MIN_SECONDS = 1;
export const IDLE_MAX_SECONDS = IDLE_MAX_MINUTES * 60;

/**
 * The file an idle runtime writes in its agent folder (`agents/<agent>/idle`): one line per
 * proposal of this agent still waiting for a decision. The host-side waker reads it (a plain file
 * a shell reads; the status JSON is for people): it stops the container, and starts it again when
 * a task it can take is pending or a decision for one of those proposals arrives.
 */
export const IDLE_MARKER_FILE = "idle";

/** Distinct human approvers a proposal needs by default, and the most the config accepts. */
export const DEFAULT_REVIEW_APPROVALS = 1;
export const MAX_REVIEW_APPROVALS = 10;

/** The most reviewer agents one agent's proposals may have (each gets one review task per proposal). */
export const MAX_REVIEWERS = 9;

/**
 * Reviewer agents of one agent's proposals (`review: { reviewers, quorum }`): each pending
 * proposal is reviewed by every one of them, and applies once `quorum` approve (see docs/runtime.md).
 */
export interface AgentReviewers {
  /** Agent names, sorted, never the reviewed agent itself. */
  agents: string[];
  /** Approvals needed: 1 to agents.length. */
  quorum: number;
}

/**
 * Per-task variables the runtime gives the agent program (besides TASK_ID, TASK_FILE, …):
 * where it may report its model usage, the per-task budget when one is set, and where it may
 * leave tasks (queued only for a coordinator) and message lines for the comms log.
 */
export const TASK_ENV = {
  usageFile: "TASK_USAGE_FILE",
  budgetUsd: "TASK_BUDGET_USD",
  /** A folder for task files (one JSON file per task); queued only for a coordinator. */
  outbox: "TASK_OUTBOX",
  /** A text file the program appends message lines to (the comms log). */
  messages: "TASK_MESSAGES",
  /** Review tasks only: where the reviewer program writes its verdict. */
  verdictFile: "TASK_VERDICT",
  /** Review tasks only: the proposal's patch (a copy, read-only) and its sha256. */
  reviewPatch: "TASK_REVIEW_PATCH",
  reviewSha256: "TASK_REVIEW_SHA256",
} as const;

/**
 * A reviewer's verdict file (`$TASK_VERDICT`): at most this many bytes, reasons and characters per
 * reason; anything larger is refused, not read (the reviewer then counts as giving no verdict).
 */
export const VERDICT_FILE_MAX_BYTES = 16384;
export const VERDICT_MAX_REASONS = 20;
export const VERDICT_REASON_MAX_CHARS = 2000;

/** Largest usage file the runtime reads (`$TASK_USAGE_FILE`); a larger one is refused, not read. */
export const USAGE_FILE_MAX_BYTES = 4096;
/** Largest token count and dollar amount one usage report may state (anything above is refused). */
export const USAGE_MAX_TOKENS = 1e12;
export const USAGE_MAX_USD = 1e6;
/** Largest budget (USD) the config accepts, per day or per task. */
export const BUDGET_MAX_USD = 1e6;

/** Spending limits of one agent, in US dollars (model usage the program reports). */
export interface AgentBudget {
  /** Over this (sum of today's reports, UTC) the agent claims nothing until the next UTC day. */
  usdPerDay?: number;
  /** A run that reports more than this fails (its change is not proposed). */
  usdPerTask?: number;
}

/** Binary files and symlinks in a change are refused unless the agent opts in (AGENT_ALLOW_BINARY). */
export const DEFAULT_ALLOW_BINARY = false;

/** The most a change may write (sum of the sizes of the files it creates or changes): 64 MiB. */
export const DEFAULT_CHANGE_MAX_BYTES = 64 * 1024 * 1024;

/** Agents may not create tasks unless their config says `canCreateTasks: true`. */
export const DEFAULT_CAN_CREATE_TASKS = false;

/** The proxy variables every common HTTP client reads, both spellings (curl reads lowercase only). */
export const PROXY_ENV_NAMES = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/**
 * Variables the runtime owns: an agent's own `env` and `secrets` must not shadow them (AGENT_*,
 * APPROVAL_REQUIRED and TASK_*, the latter kept free for the runtime's per-task variables).
 */
export const RESERVED_ENV =
  /^(AGENT_[A-Z0-9_]*|APPROVAL_REQUIRED|TASK_[A-Z0-9_]*|HTTPS?_PROXY|https?_proxy|ALL_PROXY|all_proxy|NO_PROXY|no_proxy)$/;

export function isReservedEnvName(name: string): boolean {
  return RESERVED_ENV.test(name);
}

/** A portable environment variable name (what env-files, ECS and POSIX shells accept). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the runtime's environment is made of, for one agent. */
export interface AgentEnvironmentSettings {
  name: string;
  approvalRequired: boolean;
  capabilities: string[];
  /** The agent's own plain variables (never reserved names; the config checks that). */
  env: Record<string, string>;
  taskTimeoutSeconds?: number;
  /** Opt in to binary files and symlinks (inside the repository) in this agent's changes. */
  allowBinary?: boolean;
  /** Default: none (loopback only). */
  network?: NetworkSetting;
  /** Shared projects this agent works on (mounted at /projects/<name>); none: the variables are not set. */
  projects?: string[];
  budget?: AgentBudget;
  /** Distinct human approvers each proposal needs (with approval required); default 1. */
  reviewApprovals?: number;
  /** A coordinator: may queue tasks through $TASK_OUTBOX (set only when true). */
  canCreateTasks?: boolean;
  /** Reviewer agents of this agent's proposals; none: humans (or autonomy) alone. */
  reviewers?: AgentReviewers;
  /** Idle scale-down: minutes with nothing to claim before the agent is stopped (none: never). */
  idleAfterMinutes?: number;
}

/**
 * The runtime's environment for one agent: the same on every target (Docker hosts and Fargate),
 * so that the approval switch and capabilities mean the same thing everywhere. Sorted by key.
 */
export function runtimeEnvironment(s: AgentEnvironmentSettings): Record<string, string> {
  const env: Record<string, string> = {
    ...s.env,
    [ENV.agentName]: s.name,
    [ENV.approvalRequired]: String(s.approvalRequired),
    [ENV.capabilities]: [...s.capabilities].sort().join(","),
    [ENV.appDir]: CONTAINER_PATHS.app,
    [ENV.sharedDir]: CONTAINER_PATHS.shared,
    [ENV.decisionsDir]: CONTAINER_PATHS.decisions,
    [ENV.scratchDir]: CONTAINER_PATHS.scratch,
  };
  if (s.taskTimeoutSeconds !== undefined) env[ENV.taskTimeoutSeconds] = String(s.taskTimeoutSeconds);
  if (s.allowBinary !== undefined) env[ENV.allowBinary] = String(s.allowBinary);
  if (s.network?.mode === "allow") {
    env[ENV.egressSocket] = `${CONTAINER_PATHS.egress}/${EGRESS.socketName}`;
    env[ENV.egressProxyPort] = String(EGRESS.proxyPort);
    for (const k of PROXY_ENV_NAMES) env[k] = `http://127.0.0.1:${EGRESS.proxyPort}`;
  }
  if (s.projects && s.projects.length > 0) {
    env[ENV.projects] = [...s.projects].sort().join(",");
    env[ENV.projectsDir] = CONTAINER_PATHS.projects;
  }
  if (s.budget?.usdPerDay !== undefined) env[ENV.budgetUsdPerDay] = String(s.budget.usdPerDay);
  if (s.budget?.usdPerTask !== undefined) env[ENV.budgetUsdPerTask] = String(s.budget.usdPerTask);
  if (s.reviewApprovals !== undefined && s.reviewApprovals !== DEFAULT_REVIEW_APPROVALS)
    env[ENV.reviewApprovals] = String(s.reviewApprovals);
  // Only when on: agents that are not coordinators keep exactly the environment they had.
  if (s.canCreateTasks === true) env[ENV.canCreateTasks] = "true";
  if (s.reviewers && s.reviewers.agents.length > 0) {
    env[ENV.reviewers] = [...s.reviewers.agents].sort().join(",");
    env[ENV.reviewQuorum] = String(s.reviewers.quorum);
  }
  if (s.idleAfterMinutes !== undefined) env[ENV.idleAfterSeconds] = String(s.idleAfterMinutes * 60);
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
