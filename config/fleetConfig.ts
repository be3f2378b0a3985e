import * as path from "node:path";
import { z } from "zod";
import {
  BUDGET_MAX_USD,
  ENV_NAME,
  IDLE_MAX_MINUTES,
  IDLE_MIN_MINUTES,
  isReservedEnvName,
  MAX_REVIEW_APPROVALS,
  MAX_REVIEWERS,
  type AgentBudget,
  type AgentReviewers,
} from "../contract/env.js";
import {
  BRANCH_NAME,
  CAPABILITY,
  CAPABILITY_RULE,
  DNS_LABEL,
  DNS_LABEL_MAX,
  isLabel,
  PROJECT_NAME,
  PROJECT_NAME_RULE,
} from "../contract/names.js";
import {
  CONSOLE_NAME,
  CONSOLE_TOKEN_NAME,
  CONSOLE_TOKEN_NAME_RULE,
  DEFAULT_CONSOLE_PORT,
} from "../contract/console.js";
import { NOT_A_SECRET, NOTIFY_LIMITS, notifySinkProblems, type NotifyEvent } from "../contract/notify.js";
import { parseCidr, WORLD_CIDRS } from "./cidr.js";
import { EGRESS, parseEgressTarget, type EgressTarget, type NetworkSetting } from "../contract/egress.js";
import { DEFAULT_NETWORK, DEFAULT_REMOTE_ROOT, DEFAULT_RESOURCES, DEFAULTS, type AgentResources } from "./defaults.js";
import { bool, dnsLabel, numeric, positiveInt, text } from "./schemaParts.js";
import { resolveReviewers } from "./reviewers.js";
import { isSecretValue } from "./secretRef.js";
import type { AddProblem, GivenSettings, TargetConfigPart } from "./targetPart.js";
import { codeFolderProblem } from "./codeFolder.js";

export { DEFAULTS } from "./defaults.js";

/**
 * The whole stack config of an agent fleet: the common settings here plus each target's part
 * (targets/<name>/config.ts, assembled by targets/index.ts), shared by the Pulumi program and
 * `agent-fleet check` through the very same function, so both print the very same messages.
 *
 * Every problem is reported at once, each with its key path as Pulumi spells it
 * (`agent-fleet:agents[1].name: …`), and `parseFleetConfig` throws before the program registers
 * a single resource. Defaults live in defaults.ts and in each target's folder (the top-level ones
 * are mirrored in Pulumi.yaml, which a unit test keeps in step).
 */

export const PROJECT = "agent-fleet";

const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const CONFIG_KEY = /^([A-Za-z0-9_.-]+:)?[A-Za-z0-9_.-]+$/;

// --- small building blocks -------------------------------------------------------------------

/** "512m", "2g", "1Gi", "1024" or 1024 (MiB). */
export function parseMemoryMb(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^(\d+)\s*(m|mb|mi|mib|g|gb|gi|gib)?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "m").toLowerCase();
  return unit.startsWith("g") ? n * 1024 : n;
}

const memory = z.unknown().transform((v, ctx) => {
  const mb = parseMemoryMb(v);
  if (mb === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `must be a size in MiB such as 512, "512m" or "2g", got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  if (mb < 64) {
    ctx.addIssue({ code: "custom", message: `must be at least 64 MiB, got ${mb} MiB` });
    return z.NEVER;
  }
  return mb;
});

// --- sections --------------------------------------------------------------------------------

const agentSecretSchema = z.union(
  [
    z.string().regex(ENV_NAME, { error: "a secret name must be a valid environment variable name (A-Z, 0-9, _)" }),
    z.strictObject({
      name: z.string().regex(ENV_NAME, { error: "must be a valid environment variable name (A-Z, 0-9, _)" }),
      key: z.string().regex(CONFIG_KEY, { error: 'must be a config key such as "anthropicApiKey" or "myorg:apiKey"' }),
    }),
  ],
  { error: 'each secret is a name ("ANTHROPIC_API_KEY") or { name, key }' },
);

/**
 * `network`: "none", "full", or a list of "host:port" the agent may reach (through the egress
 * proxy on Docker hosts, by security group on Fargate). Each bad entry is reported at its index.
 */
export const networkSchema = z.unknown().transform((v, ctx): "none" | "full" | EgressTarget[] => {
  if (v === "none" || v === "full") return v;
  if (!Array.isArray(v)) {
    ctx.addIssue({
      code: "custom",
      message: `must be "none", "full" or a list of "host:port", e.g. ["api.anthropic.com:443"], got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  if (v.length > EGRESS.maxEntries) {
    ctx.addIssue({ code: "custom", message: `lists ${v.length} endpoints; at most ${EGRESS.maxEntries}` });
    return z.NEVER;
  }
  const allow: EgressTarget[] = [];
  v.forEach((e: unknown, i) => {
    const t =
      typeof e === "string" ? parseEgressTarget(e) : { error: `${JSON.stringify(e)} is not a "host:port" string` };
    if ("error" in t) ctx.addIssue({ code: "custom", path: [i], message: t.error });
    else if (allow.some((x) => x.host === t.host && x.port === t.port))
      ctx.addIssue({ code: "custom", path: [i], message: `${String(e)} is listed twice` });
    else allow.push(t);
  });
  return allow;
});

/** The resolved form of a `network` value. */
export function networkSetting(
  v: "none" | "full" | EgressTarget[] | undefined,
  fallback: NetworkSetting,
): NetworkSetting {
  if (v === undefined) return fallback;
  if (v === "none" || v === "full") return { mode: v };
  return { mode: "allow", allow: [...v].sort((a, b) => (`${a.host}:${a.port}` < `${b.host}:${b.port}` ? -1 : 1)) };
}

const resourcesSchema = z.strictObject({
  cpus: numeric(
    z
      .number({ error: "must be a number" })
      .positive({ error: "must be greater than 0" })
      .max(64, { error: "must be at most 64" }),
  ).optional(),
  memory: memory.optional(),
  pids: positiveInt(16, 65536).optional(),
});

const usd = numeric(
  z
    .number({ error: "must be an amount in US dollars, e.g. 5 or 0.5" })
    .positive({ error: "must be greater than 0" })
    .max(BUDGET_MAX_USD, { error: `must be at most ${BUDGET_MAX_USD}` }),
);

/** Spending limits (model usage the agent program reports in $TASK_USAGE_FILE). */
const budgetSchema = z.strictObject(
  { usdPerDay: usd.optional(), usdPerTask: usd.optional() },
  { error: "must be a mapping: { usdPerDay, usdPerTask }" },
);

/**
 * Who must approve a proposal: `approvals` distinct humans (with approval required), and reviewer
 * agents: `reviewers` (agent names), of which `quorum` must approve (./reviewers.ts).
 */
const reviewSchema = z.strictObject(
  {
    approvals: positiveInt(1, MAX_REVIEW_APPROVALS).optional(),
    reviewers: z
      .array(dnsLabel(), { error: "must be a list of agent names" })
      .max(MAX_REVIEWERS, { error: `must list at most ${MAX_REVIEWERS} agents` })
      .optional(),
    quorum: positiveInt(1, MAX_REVIEWERS).optional(),
  },
  { error: "must be a mapping: { approvals, reviewers, quorum }" },
);

/** Idle scale-down: stop an agent after `afterMinutes` with nothing to claim; a task for it starts it again. */
const idleSchema = z.strictObject(
  { afterMinutes: positiveInt(IDLE_MIN_MINUTES, IDLE_MAX_MINUTES).optional() },
  { error: "must be a mapping: { afterMinutes }" },
);

const agentSchema = z.strictObject(
  {
    name: dnsLabel(),
    code: z.string({ error: "must be a path to the agent's code folder" }).min(1).optional(),
    capabilities: z
      .array(z.string().regex(CAPABILITY, { error: `a capability is ${CAPABILITY_RULE}` }), {
        error: "must be a list of capability names",
      })
      .default([]),
    env: z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], { error: "an env value must be a string, number or boolean" }),
        { error: "must be a map of environment variables" },
      )
      .default({}),
    secrets: z.array(agentSecretSchema, { error: "must be a list of secret names" }).default([]),
    resources: resourcesSchema.default({}),
    taskTimeoutSeconds: positiveInt(1, 86_400).optional(),
    approvalRequired: bool().optional(),
    allowBinary: bool().optional(),
    canCreateTasks: bool().optional(),
    network: networkSchema.optional(),
    paused: bool().optional(),
    budget: budgetSchema.optional(),
    review: reviewSchema.optional(),
    idle: idleSchema.optional(),
    codeRevision: text(
      z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).max(128),
    ).optional(),
    projects: z
      .array(z.string().regex(PROJECT_NAME, { error: `a project name is ${PROJECT_NAME_RULE}` }), {
        error: "must be a list of project names (from the top-level projects)",
      })
      .default([]),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "each agent must be a mapping with at least a name" : undefined) },
);

/**
 * A remote a project's applied commits are pushed to: a URL with one of these schemes, or the scp
 * form `user@host:path`. Never an option (a leading "-") and never git's `ext::` transport, which
 * runs a command.
 */
const GIT_REMOTE = /^((https|ssh|git|file):\/\/[^\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s-][^\s]*)$/;

const projectSchema = z.strictObject(
  {
    name: text(
      z
        .string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
        .regex(PROJECT_NAME, { error: `must be ${PROJECT_NAME_RULE}` }),
    ),
    source: z.string({ error: "must be a path to the project's folder" }).min(1).optional(),
    branch: text(
      z.string({ error: "must be a string" }).regex(BRANCH_NAME, {
        error: 'must be a git branch name such as "main" or "team/web" (letters, digits, ".", "_", "-", "/")',
      }),
    ).optional(),
    remote: z
      .string({ error: "must be a git URL" })
      .regex(GIT_REMOTE, {
        error: "must be a git URL (https://, ssh://, git://, file://) or user@host:path",
      })
      .optional(),
  },
  { error: (iss) => (iss.code === "invalid_type" ? "each project must be a mapping with at least a name" : undefined) },
);

const sshSchema = z.strictObject({
  user: z
    .string()
    .regex(POSIX_USER, { error: "must be a user name (lowercase letters, digits, '_' or '-')" })
    .default(DEFAULTS.sshUser),
  bootstrapUser: z.string().regex(POSIX_USER, { error: "must be a user name" }).optional(),
  port: positiveInt(1, 65535).default(DEFAULTS.sshPort),
  privateKey: z.unknown().optional(),
  publicKey: z
    .string()
    .regex(SSH_PUBLIC_KEY, { error: 'must be an OpenSSH public key line, e.g. "ssh-ed25519 AAAA… you@laptop"' })
    .optional(),
  allowedCidrs: z
    .array(z.string({ error: "each entry must be a CIDR string" }), { error: "must be a list of CIDR blocks" })
    .optional(),
  hostKey: z
    .string()
    .regex(SSH_PUBLIC_KEY, { error: 'must be the host\'s public key, e.g. "ssh-ed25519 AAAA…" (from ssh-keyscan)' })
    .optional(),
});

const imageSchema = z.strictObject({
  ref: z
    .string()
    .regex(/^[a-z0-9][^\s]*$/, { error: "must be an image reference such as registry.example.com/agents:1.2" })
    .optional(),
  baseImage: z
    .string()
    .regex(/^[a-zA-Z0-9][^\s]*$/, { error: "must be an image reference such as node:22-bookworm-slim" })
    .optional(),
  buildArgs: z
    .record(
      z.string().regex(ENV_NAME, { error: "a build arg name is letters, digits and _" }),
      text(z.string({ error: "must be a string" })),
    )
    .optional(),
});
/**
 * The review console (`agentctl serve`, docs/console.md): `{ port, tokens: { <name>: <secret> } }`.
 * It runs when at least one token is set; each token is a secret set with
 * `pulumi config set --secret --path 'console.tokens.<name>' <token>`, and its name is who decides.
 */
const consoleSchema = z.strictObject({
  port: positiveInt(1024, 65535).optional(),
  tokens: z.record(z.string(), z.unknown(), { error: "must be a map of token names to secret tokens" }).optional(),
});

/**
 * Notifications (docs/console.md): `[{ on: [events], webhook | command | smtp }]`, delivered by
 * the console. Each sink is checked on its own (contract/notify.ts) so every problem is reported
 * at its key path; an SMTP password must be a secret.
 */
const notifySchema = z
  .array(z.unknown(), { error: "must be a list of sinks: [{ on: [events], webhook | command | smtp }]" })
  .max(NOTIFY_LIMITS.maxSinks, { error: `must list at most ${NOTIFY_LIMITS.maxSinks} sinks` });

/**
 * The common settings of the `agent-fleet` namespace (besides `target` and the targets' own
 * sections). Top-level keys besides these are allowed only when they are secrets (agents name
 * them in `secrets`).
 */
export const SETTINGS = {
  // "" means "not set": Pulumi.yaml has to give optional keys a default, and "" is that default.
  fleetName: z.preprocess((v) => (v === "" ? undefined : v), dnsLabel().optional()),
  approvalRequired: bool().default(DEFAULTS.approvalRequired),
  /** Every agent's network unless it sets its own; default "none" (DEFAULT_NETWORK). */
  network: z.preprocess(
    (v) => (v === "" ? undefined : typeof v === "string" && v.trim().startsWith("[") ? parseJsonList(v) : v),
    networkSchema.optional(),
  ),
  paused: bool().default(DEFAULTS.paused),
  purgeOnDestroy: bool().default(DEFAULTS.purgeOnDestroy),
  hostRoot: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string({ error: "must be an absolute path" })
      .refine((p) => p.startsWith("/"), { error: "must be an absolute path" })
      .optional(),
  ),
  agents: z
    .array(agentSchema, {
      error: (iss) => (iss.input === undefined ? "is required: list at least one agent" : "must be a list of agents"),
    })
    .min(1, { error: "must list at least one agent" })
    .max(500),
  ssh: sshSchema.default({ user: DEFAULTS.sshUser, port: DEFAULTS.sshPort }),
  image: imageSchema.default({}),
  console: consoleSchema.default({}),
  projects: z.array(projectSchema, { error: "must be a list of projects" }).max(100).default([]),
  budget: budgetSchema.default({}),
  review: reviewSchema.default({}),
  idle: idleSchema.default({}),
  notify: notifySchema.default([]),
} as const;

type CommonSettings = { [K in keyof typeof SETTINGS]: z.output<(typeof SETTINGS)[K]> };

/** Every top-level setting of the namespace: `target`, the common ones and each target's section. */
export function settingNames(parts: ReadonlyArray<TargetConfigPart>): string[] {
  return ["target", ...Object.keys(SETTINGS), ...parts.flatMap((p) => (p.section ? [p.section.key] : []))];
}

function targetSchema(names: string[]) {
  return z.enum(names as [string, ...string[]], {
    error: (iss) =>
      iss.input === undefined
        ? `is required: one of ${names.join(", ")}`
        : `must be one of ${names.join(", ")}, got ${JSON.stringify(iss.input)}`,
  });
}

// --- resolved config -------------------------------------------------------------------------

export interface AgentSecretRef {
  /** Environment variable name in the agent's env-file. */
  env: string;
  /** Full config key holding the value, e.g. "agent-fleet:ANTHROPIC_API_KEY". */
  key: string;
}

export interface ResolvedAgent {
  name: string;
  /** Absolute path of the agent's code folder on the machine running Pulumi. */
  codeDir: string;
  capabilities: string[];
  env: Record<string, string>;
  secrets: AgentSecretRef[];
  resources: AgentResources;
  taskTimeoutSeconds?: number;
  /** Effective approval mode: the agent's override, else the stack's. */
  approvalRequired: boolean;
  /** True when the agent sets `approvalRequired` itself (flipping the stack's switch leaves it alone). */
  approvalOverride: boolean;
  /**
   * The agent may propose binary files and symlinks inside its repository (AGENT_ALLOW_BINARY);
   * reviewers then see them flagged loudly. Present only when true (the default is false).
   */
  allowBinary?: true;
  /**
   * A coordinator: the task files its runs write into $TASK_OUTBOX are queued
   * (AGENT_CAN_CREATE_TASKS). Present only when true (DEFAULT_CAN_CREATE_TASKS is false).
   */
  canCreateTasks?: true;
  /**
   * This agent alone is stopped (its container not running; on Fargate its service at 0), its
   * code, queue and history kept. The stack's `paused` stops every agent whatever this says.
   */
  paused: boolean;
  /** Spending limits: the fleet's `budget`, each key overridden by the agent's own. */
  budget?: AgentBudget;
  /** Distinct human approvers each proposal needs: the agent's `review.approvals`, else the stack's. */
  reviewApprovals?: number;
  /** Reviewer agents of its proposals: its own `review.reviewers`, else the fleet's without itself. */
  reviewers?: AgentReviewers;
  /**
   * Idle scale-down: minutes with nothing to claim before the agent is stopped (the agent's
   * `idle.afterMinutes`, else the fleet's); absent: never.
   */
  idleAfterMinutes?: number;
  /** Bump to push the code folder onto the host again (see docs/program.md). */
  codeRevision?: string;
  /** Effective network access: the agent's own, else the fleet's, else DEFAULT_NETWORK. */
  network: NetworkSetting;
  /** Shared projects this agent works on (names of `projects`), as listed. */
  projects: string[];
}

/** A shared project: a git repository several agents commit to (see docs/runtime.md, "Shared projects"). */
export interface ResolvedProject {
  name: string;
  /** Absolute path of the folder the project is seeded from, on the machine running Pulumi. */
  sourceDir: string;
  /** The branch agents work on and commit to. */
  branch: string;
  /** Where applied commits are pushed (optional). */
  remote?: string;
}

export interface SshSettings {
  user: string;
  bootstrapUser?: string;
  port: number;
  /** Config key of the private key: the nested secret `agent-fleet:ssh.privateKey`. */
  hasPrivateKey: boolean;
  publicKey?: string;
  allowedCidrs: string[];
  hostKey?: string;
}

/** The review console, when the stack sets tokens for it. */
export interface ConsoleSettings {
  port: number;
  /** Names of the tokens (their values are secrets, read by the deployment only). */
  tokenNames: string[];
}

/** A notification sink as the program sees it (its values, secrets included, are read at deployment). */
export interface NotifySinkSummary {
  kind: "webhook" | "command" | "smtp";
  on: NotifyEvent[];
}

/** What every target's config holds; each target adds its own part (targets/<name>/config.ts). */
export interface CommonFleetConfig {
  target: string;
  fleetName: string;
  approvalRequired: boolean;
  /** The fleet-wide default network (each agent's effective one is on the agent). */
  network: NetworkSetting;
  paused: boolean;
  purgeOnDestroy: boolean;
  /** Root of the fleet's files on a Docker host (local, vps, exoscale). */
  hostRoot: string;
  agents: ResolvedAgent[];
  /** Shared projects; each is mounted only into the agents that list it. */
  projects: ResolvedProject[];
  ssh: SshSettings;
  image: { ref?: string; baseImage?: string; buildArgs: Record<string, string> };
  /** Absent: no console runs. */
  console?: ConsoleSettings;
  /** Notification sinks (delivered by the console); [] for none. */
  notify: NotifySinkSummary[];
}

export interface ConfigContext {
  stack: string;
  /** The directory holding Pulumi.yaml; relative `code` paths start here. */
  projectDir: string;
  /**
   * Config keys outside the `agent-fleet` namespace (e.g. "anthropic:apiKey"), with secret
   * values replaced by SecretValue markers, for agents' `secrets` that name them.
   */
  foreign?: Record<string, unknown>;
}

export interface ConfigProblem {
  /** e.g. "agent-fleet:agents[1].name" */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(formatProblems(problems));
    this.name = "ConfigError";
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  const n = problems.length;
  return [
    `Invalid stack config: ${n} problem${n === 1 ? "" : "s"} (nothing was created)`,
    ...problems.map((p) => `  ${p.key}: ${p.message}`),
  ].join("\n");
}

/** ["agents", 1, "name"] -> "agent-fleet:agents[1].name" */
export function keyPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = `${PROJECT}:`;
  segments.forEach((s, i) => {
    if (typeof s === "number") out += `[${s}]`;
    else out += i === 0 ? String(s) : `.${String(s)}`;
  });
  return out;
}

/**
 * Validates the `agent-fleet` namespace of a stack's config (keys without the namespace, values as
 * Pulumi or a stack file gives them, secrets as SecretValue markers) against the common settings
 * and the given targets' parts, and resolves defaults. Throws one ConfigError listing every problem.
 */
export function parseFleetConfig<C extends CommonFleetConfig>(
  raw: Record<string, unknown>,
  ctx: ConfigContext,
  parts: ReadonlyArray<TargetConfigPart<C>>,
): C {
  const result = checkFleetConfig(raw, ctx, parts);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}

/** A valid config may still carry warnings: what the target does not enforce as written. */
export type CheckResult<C> =
  { ok: true; config: C; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[] };

export function checkFleetConfig<C extends CommonFleetConfig>(
  raw: Record<string, unknown>,
  ctx: ConfigContext,
  parts: ReadonlyArray<TargetConfigPart<C>>,
): CheckResult<C> {
  const problems: ConfigProblem[] = [];
  const add: AddProblem = (segments, message) => problems.push({ key: keyPath(segments), message });
  const names = settingNames(parts);
  const sections = new Map(parts.flatMap((p) => (p.section ? [[p.section.key, p.section] as const] : [])));

  const known: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (names.includes(k)) known[k] = v;
    else extra[k] = v;
  }

  // Each setting (and each agent) is parsed on its own, so that the checks below still run on
  // everything that parsed: one bad field never hides the problems of the others.
  const addIssues = (prefix: ReadonlyArray<PropertyKey>, issues: ReadonlyArray<z.core.$ZodIssue>) => {
    for (const issue of issues) {
      const at = [...prefix, ...issue.path];
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) add([...at, k], unknownKeyMessage(k, knownKeysAt(at, sections)));
      } else {
        add(at, issue.message);
      }
    }
  };
  const schemaOf = (name: string): z.ZodType | undefined => {
    if (name === "target") return targetSchema(parts.map((p) => p.name));
    if (name in SETTINGS) return SETTINGS[name as keyof typeof SETTINGS];
    const section = sections.get(name);
    return section ? section.schema.default(section.defaults as never) : undefined;
  };
  const parsedSettings: Record<string, unknown> = {};
  let broken = false;
  for (const name of names) {
    if (name === "agents" || name === "projects") continue;
    const r = schemaOf(name)?.safeParse(known[name]);
    if (!r) continue;
    if (r.success) parsedSettings[name] = r.data;
    else {
      broken = true;
      addIssues([name], r.error.issues);
    }
  }
  const validAgents: Array<{ index: number; agent: z.output<typeof agentSchema> }> = [];
  const agentsList = SETTINGS.agents.safeParse(known.agents);
  if (!agentsList.success && !Array.isArray(known.agents)) {
    broken = true;
    addIssues(["agents"], agentsList.error.issues);
  } else {
    const list = known.agents as unknown[];
    if (list.length === 0) {
      broken = true;
      add(["agents"], "must list at least one agent");
    }
    list.forEach((a, index) => {
      const r = agentSchema.safeParse(a);
      if (r.success) validAgents.push({ index, agent: r.data });
      else {
        broken = true;
        addIssues(["agents", index], r.error.issues);
      }
    });
  }

  // Projects, each on its own like the agents: one bad project never hides another's problems.
  const validProjects: Array<{ index: number; project: z.output<typeof projectSchema> }> = [];
  const projectNames: string[] = [];
  const projectsList = SETTINGS.projects.safeParse(known.projects);
  if (!projectsList.success && !Array.isArray(known.projects)) {
    broken = true;
    addIssues(["projects"], projectsList.error.issues);
  } else if (Array.isArray(known.projects)) {
    (known.projects as unknown[]).forEach((p, index) => {
      const r = projectSchema.safeParse(p);
      const name = (p as { name?: unknown } | null)?.name;
      if (typeof name === "string") projectNames.push(name);
      if (r.success) validProjects.push({ index, project: r.data });
      else {
        broken = true;
        addIssues(["projects", index], r.error.issues);
      }
    });
  }

  // Unknown top-level keys: a secret an agent may name is fine; anything else is most likely a typo.
  const referenced = new Set<string>();
  const agentsRaw = Array.isArray(known.agents) ? (known.agents as unknown[]) : [];
  for (const a of agentsRaw) {
    const secrets = (a as { secrets?: unknown } | null)?.secrets;
    if (Array.isArray(secrets)) for (const x of secrets) referenced.add(secretRef(x)?.key ?? "");
  }
  for (const [k, v] of Object.entries(extra)) {
    if (isSecretValue(v)) continue;
    if (referenced.has(`${PROJECT}:${k}`)) continue; // reported with the agent as "stored in plain text"
    add([k], unknownKeyMessage(k, names));
  }

  const s = parsedSettings as Partial<Omit<CommonSettings, "agents">> & { target?: string };
  const part = parts.find((p) => p.name === s.target);
  const onDockerHost = part?.hostRoot !== "none";
  const usesSsh = part?.usesSsh === true;
  const maxName = part?.nameLimit?.max ?? DNS_LABEL_MAX;

  // Fleet name: prefixes container names, so it must be a DNS label too.
  const fleetName = s.fleetName ?? `${PROJECT}-${ctx.stack}`;
  if (s.fleetName === undefined && !DNS_LABEL.test(fleetName)) {
    add(
      ["fleetName"],
      `the default "${fleetName}" (from the stack name) is not a lowercase DNS label; set fleetName explicitly`,
    );
  } else if (part?.nameLimit && !isLabel(fleetName, maxName)) {
    add(
      ["fleetName"],
      `${s.fleetName === undefined ? `the default "${fleetName}" (from the stack name)` : `"${fleetName}"`} is longer than ${maxName} characters, the limit of target ${part.name} (${part.nameLimit.reason}); set a shorter fleetName`,
    );
  }

  // Agents.
  const seen = new Map<string, number>();
  const agents: ResolvedAgent[] = [];
  validAgents.forEach(({ index: i, agent: a }) => {
    const first = seen.get(a.name);
    if (first !== undefined)
      add(["agents", i, "name"], `"${a.name}" is already used by agents[${first}]; agent names must be unique`);
    else seen.set(a.name, i);
    if (part?.nameLimit && !isLabel(a.name, maxName)) {
      add(
        ["agents", i, "name"],
        `"${a.name}" is ${a.name.length} characters; target ${part.name} allows at most ${maxName} (${part.nameLimit.reason})`,
      );
    }
    agents.push(
      resolveAgent(
        a,
        i,
        {
          raw,
          ctx,
          part,
          stackApproval: s.approvalRequired,
          stackNetwork: networkSetting(s.network, DEFAULT_NETWORK),
          stackBudget: s.budget ?? {},
          stackApprovals: s.review?.approvals,
          stackIdleMinutes: s.idle?.afterMinutes,
        },
        add,
      ),
    );
  });

  const reviewers = resolveReviewers(
    s.review ?? {},
    validAgents.map(({ index, agent }) => ({ index, name: agent.name, review: agent.review })),
    add,
  );
  for (const a of agents) {
    const r = reviewers.get(a.name);
    if (r) a.reviewers = r;
  }

  const projects = resolveProjects(
    validProjects,
    projectNames,
    agents.map((a, k) => ({ index: validAgents[k]!.index, agent: a })),
    ctx,
    add,
  );

  if (part && !onDockerHost) {
    // The waking side exists on Docker hosts only (the host's waker); on Fargate nothing would
    // start an idle agent's service again, so the setting is refused rather than half-kept.
    const idleMessage = `idle scale-down is not supported on target ${part.name} yet (only on Docker hosts: local, vps, exoscale); remove it`;
    if (s.idle?.afterMinutes !== undefined) add(["idle"], idleMessage);
    for (const { index, agent } of validAgents)
      if (agent.idle?.afterMinutes !== undefined) add(["agents", index, "idle"], idleMessage);
  }

  // SSH and firewall.
  const ssh = s.ssh ?? { user: DEFAULTS.sshUser, port: DEFAULTS.sshPort, privateKey: undefined };
  const hasPrivateKey = isSecretValue(ssh.privateKey);
  if (s.ssh && ssh.privateKey !== undefined && !hasPrivateKey) {
    add(
      ["ssh", "privateKey"],
      "must be stored as a secret, not in plain text; set it with `pulumi config set --secret --path ssh.privateKey < ~/.ssh/id_ed25519`",
    );
  }
  const cidrs = ssh.allowedCidrs ?? [];
  cidrs.forEach((c, i) => {
    const parsedCidr = parseCidr(c);
    if ("error" in parsedCidr) add(["ssh", "allowedCidrs", i], parsedCidr.error);
  });
  if (s.ssh && ssh.user === "root") {
    add(
      ["ssh", "user"],
      "must not be root: the host is hardened to refuse root logins; connect as a sudo user (default ops) and, on a fresh machine, set ssh.bootstrapUser: root for the first run",
    );
  }
  if (usesSsh && s.ssh) {
    if (ssh.privateKey === undefined) {
      add(
        ["ssh", "privateKey"],
        `is required for target ${s.target}; set it with \`pulumi config set --secret --path ssh.privateKey < ~/.ssh/id_ed25519\``,
      );
    }
    if (cidrs.length === 0) {
      add(
        ["ssh", "allowedCidrs"],
        `is required for target ${s.target}: list the networks allowed to reach SSH, e.g. ["203.0.113.4/32"] (write "${WORLD_CIDRS[0]}" yourself to allow everyone)`,
      );
    }
    if (ssh.bootstrapUser !== undefined && ssh.publicKey === undefined) {
      add(["ssh", "publicKey"], `is required with ssh.bootstrapUser: it is authorized for ${ssh.user}`);
    }
    if (ssh.bootstrapUser !== undefined && ssh.bootstrapUser === ssh.user) {
      add(["ssh", "bootstrapUser"], "must differ from ssh.user (leave it out when the user already exists)");
    }
  }

  if (s.image && s.image.ref !== undefined && (s.image.baseImage !== undefined || s.image.buildArgs !== undefined)) {
    add(
      ["image", "ref"],
      "a registry image is used as is; remove baseImage and buildArgs, or remove ref to build the image",
    );
  }
  if (s.hostRoot !== undefined && part && !onDockerHost)
    add(["hostRoot"], `does not apply to target ${part.name} (it runs no Docker host)`);
  const hostRoot = path.posix.normalize(
    s.hostRoot ??
      (part?.hostRoot === "project" ? path.join(ctx.projectDir, ".agent-fleet", ctx.stack) : DEFAULT_REMOTE_ROOT),
  );
  if (onDockerHost && (hostRoot === "/" || /[\s'"\\$`]/.test(hostRoot))) {
    add(
      ["hostRoot"],
      `"${hostRoot}" cannot be used as the fleet's root: use a dedicated folder without spaces or quotes`,
    );
  }

  const consoleSettings = s.console ? checkConsole(s.console, add) : undefined;
  if (consoleSettings) {
    validAgents.forEach(({ index, agent }) => {
      if (agent.name === CONSOLE_NAME)
        add(
          ["agents", index, "name"],
          `"${CONSOLE_NAME}" is the review console's name while it runs; rename the agent`,
        );
    });
  }

  const notify = checkNotify(s.notify ?? [], consoleSettings !== undefined, add);
  if (notify.length > 0 && part && !onDockerHost)
    add(
      ["notify"],
      `notifications are not supported on target ${part.name} yet (only on Docker hosts: local, vps, exoscale); remove notify`,
    );

  if (!part || !s.image) return { ok: false, problems: dedupe(problems) };
  const common: CommonFleetConfig = {
    target: part.name,
    fleetName,
    approvalRequired: s.approvalRequired ?? DEFAULTS.approvalRequired,
    network: networkSetting(s.network, DEFAULT_NETWORK),
    paused: s.paused ?? DEFAULTS.paused,
    purgeOnDestroy: s.purgeOnDestroy ?? DEFAULTS.purgeOnDestroy,
    hostRoot,
    agents,
    projects,
    ssh: {
      user: ssh.user,
      ...(ssh.bootstrapUser !== undefined ? { bootstrapUser: ssh.bootstrapUser } : {}),
      port: ssh.port,
      hasPrivateKey,
      ...(ssh.publicKey !== undefined ? { publicKey: ssh.publicKey } : {}),
      allowedCidrs: cidrs,
      ...(ssh.hostKey !== undefined ? { hostKey: ssh.hostKey } : {}),
    },
    image: {
      ...(s.image.ref !== undefined ? { ref: s.image.ref } : {}),
      ...(s.image.baseImage !== undefined ? { baseImage: s.image.baseImage } : {}),
      buildArgs: s.image.buildArgs ?? {},
    },
    ...(consoleSettings ? { console: consoleSettings } : {}),
    notify,
  };
  const given: GivenSettings = { image: s.image, ...(s.ssh ? { ssh: s.ssh } : {}) };
  const section = part.section ? parsedSettings[part.section.key] : undefined;
  const config = part.section && section === undefined ? undefined : part.build(common, section, add, given);
  if (broken || problems.length > 0 || config === undefined) return { ok: false, problems: dedupe(problems) };
  const warnings: ConfigProblem[] = [];
  const warnEntries = (at: ReadonlyArray<PropertyKey>, v: "none" | "full" | EgressTarget[] | undefined) => {
    if (!Array.isArray(v) || !part.egressWarning) return;
    v.forEach((t, j) => {
      const w = part.egressWarning?.(t);
      if (w) warnings.push({ key: keyPath([...at, j]), message: w });
    });
  };
  warnEntries(["network"], s.network);
  for (const { index, agent } of validAgents) warnEntries(["agents", index, "network"], agent.network);
  return { ok: true, config, warnings };
}

/**
 * One agent that parsed, checked against the rest of the config (code folder, env and secret names,
 * secret values stored as secrets, Fargate sizes) and resolved with its defaults. Problems go to `add`.
 */
function resolveAgent(
  a: z.output<typeof agentSchema>,
  i: number,
  o: {
    raw: Record<string, unknown>;
    ctx: ConfigContext;
    part: TargetConfigPart<CommonFleetConfig> | undefined;
    stackApproval: boolean | undefined;
    stackNetwork?: NetworkSetting;
    stackBudget: AgentBudget;
    stackApprovals: number | undefined;
    stackIdleMinutes: number | undefined;
  },
  add: AddProblem,
): ResolvedAgent {
  const { raw, ctx, part, stackApproval, stackNetwork } = o;
  const budget: AgentBudget = { ...o.stackBudget, ...definedOnly(a.budget ?? {}) };
  const code = a.code ?? `agents/${a.name}`;
  const codeDir = path.resolve(ctx.projectDir, code);
  const codeProblem = codeFolderProblem(code, codeDir);
  if (codeProblem) add(["agents", i, "code"], codeProblem);

  if (new Set(a.capabilities).size !== a.capabilities.length)
    add(["agents", i, "capabilities"], "lists a capability twice");

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.env)) {
    if (!ENV_NAME.test(k))
      add(["agents", i, "env", k], "is not a valid environment variable name (A-Z, 0-9, _; not starting with a digit)");
    else if (isReservedEnvName(k))
      add(
        ["agents", i, "env", k],
        "is set by agent-fleet itself (use approvalRequired, capabilities or taskTimeoutSeconds instead)",
      );
    env[k] = String(v);
  }

  const secrets: AgentSecretRef[] = [];
  a.secrets.forEach((entry, j) => {
    const ref = secretRef(entry);
    if (!ref) return; // the schema admits only shapes secretRef reads
    if (isReservedEnvName(ref.env)) add(["agents", i, "secrets", j], `${ref.env} is set by agent-fleet itself`);
    if (ref.env in env)
      add(["agents", i, "secrets", j], `${ref.env} is also in env; a variable is either plain or secret`);
    if (secrets.some((x) => x.env === ref.env)) add(["agents", i, "secrets", j], `${ref.env} is listed twice`);
    const value = lookup(ref.key, raw, ctx);
    const hint = `pulumi config set --secret ${ref.key.startsWith(`${PROJECT}:`) ? ref.key.slice(PROJECT.length + 1) : ref.key} <value>`;
    if (value === undefined)
      add(["agents", i, "secrets", j], `config key ${ref.key} is not set; set it with \`${hint}\``);
    else if (!isSecretValue(value))
      add(
        ["agents", i, "secrets", j],
        `config key ${ref.key} is stored in plain text; store it as a secret with \`${hint}\``,
      );
    secrets.push(ref);
  });

  const asked = {
    cpus: a.resources.cpus ?? DEFAULT_RESOURCES.cpus,
    ...(a.resources.memory !== undefined ? { memoryMb: a.resources.memory } : {}),
  };
  const sized = part?.agentResources ? part.agentResources(asked, ["agents", i, "resources"], add) : asked;
  const cpus = sized.cpus;
  const memoryMb = sized.memoryMb ?? DEFAULT_RESOURCES.memoryMb;
  return {
    name: a.name,
    codeDir,
    capabilities: [...a.capabilities].sort(),
    env: Object.fromEntries(Object.entries(env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))),
    secrets,
    resources: { cpus, memoryMb, pids: a.resources.pids ?? DEFAULT_RESOURCES.pids },
    ...(a.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: a.taskTimeoutSeconds } : {}),
    approvalRequired: a.approvalRequired ?? stackApproval ?? DEFAULTS.approvalRequired,
    approvalOverride: a.approvalRequired !== undefined,
    ...(a.allowBinary === true ? { allowBinary: true as const } : {}),
    ...(a.canCreateTasks === true ? { canCreateTasks: true as const } : {}),
    network: networkSetting(a.network, stackNetwork ?? DEFAULT_NETWORK),
    paused: a.paused ?? false,
    ...(budget.usdPerDay !== undefined || budget.usdPerTask !== undefined ? { budget } : {}),
    ...((a.review?.approvals ?? o.stackApprovals) !== undefined
      ? { reviewApprovals: (a.review?.approvals ?? o.stackApprovals)! }
      : {}),
    ...((a.idle?.afterMinutes ?? o.stackIdleMinutes) !== undefined
      ? { idleAfterMinutes: (a.idle?.afterMinutes ?? o.stackIdleMinutes)! }
      : {}),
    ...(a.codeRevision !== undefined ? { codeRevision: a.codeRevision } : {}),
    projects: [...a.projects],
  };
}

/** Pulumi hands a top-level list set with `pulumi config set` as a JSON string. */
function parseJsonList(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** The console section: every token name valid and every token a secret; a port alone is a mistake. */
function checkConsole(c: z.output<typeof consoleSchema>, add: AddProblem): ConsoleSettings | undefined {
  const names = Object.keys(c.tokens ?? {}).sort();
  if (names.length === 0) {
    if (c.port !== undefined)
      add(
        ["console", "tokens"],
        "is required to run the console: set at least one with `pulumi config set --secret --path 'console.tokens.<name>' <token>` (the name is recorded as Approved-By)",
      );
    return undefined;
  }
  for (const name of names) {
    if (!CONSOLE_TOKEN_NAME.test(name))
      add(["console", "tokens", name], `is not a token name (${CONSOLE_TOKEN_NAME_RULE})`);
    else if (!isSecretValue(c.tokens![name]))
      add(
        ["console", "tokens", name],
        `must be stored as a secret, not in plain text; set it with \`pulumi config set --secret --path 'console.tokens.${name}' <token>\``,
      );
  }
  return { port: c.port ?? DEFAULT_CONSOLE_PORT, tokenNames: names };
}

/** The notification sinks: each checked at its key path; the console must run to deliver them. */
function checkNotify(list: unknown[], consoleRuns: boolean, add: AddProblem): NotifySinkSummary[] {
  if (list.length > 0 && !consoleRuns)
    add(
      ["notify"],
      "needs the review console, which delivers notifications: set a token with `pulumi config set --secret --path 'console.tokens.<name>' <token>`",
    );
  const out: NotifySinkSummary[] = [];
  list.forEach((sink, i) => {
    const problems = notifySinkProblems(sink, isSecretValue);
    for (const p of problems) {
      const password = p.message === NOT_A_SECRET;
      add(
        ["notify", i, ...p.path],
        password
          ? `must be stored as a secret, not in plain text; set it with \`pulumi config set --secret --path 'notify[${i}].smtp.password' <password>\``
          : p.message,
      );
    }
    if (problems.length > 0) return;
    const o = sink as Record<string, unknown>;
    out.push({
      kind: o.webhook !== undefined ? "webhook" : o.command !== undefined ? "command" : "smtp",
      on: [...new Set(o.on as NotifyEvent[])],
    });
  });
  return out;
}

/** Default branch of a project. */
export const DEFAULT_PROJECT_BRANCH = "main";

/**
 * The shared projects, checked against each other and against the agents that list them: unique
 * names, an existing source folder (default projects/<name>), agents naming only known projects.
 */
function resolveProjects(
  list: ReadonlyArray<{ index: number; project: z.output<typeof projectSchema> }>,
  allNames: ReadonlyArray<string>,
  agents: ReadonlyArray<{ index: number; agent: ResolvedAgent }>,
  ctx: ConfigContext,
  add: AddProblem,
): ResolvedProject[] {
  const seen = new Map<string, number>();
  const out: ResolvedProject[] = [];
  const defined = [...new Set(allNames)];
  list.forEach(({ index: i, project: p }) => {
    const first = seen.get(p.name);
    if (first !== undefined)
      add(["projects", i, "name"], `"${p.name}" is already used by projects[${first}]; project names must be unique`);
    else seen.set(p.name, i);
    const source = p.source ?? `projects/${p.name}`;
    const sourceDir = path.resolve(ctx.projectDir, source);
    const problem = codeFolderProblem(source, sourceDir);
    if (problem) add(["projects", i, p.source === undefined ? "name" : "source"], `source ${problem}`);
    out.push({
      name: p.name,
      sourceDir,
      branch: p.branch ?? DEFAULT_PROJECT_BRANCH,
      ...(p.remote !== undefined ? { remote: p.remote } : {}),
    });
  });
  agents.forEach(({ index: i, agent: a }) => {
    a.projects.forEach((name, j) => {
      if (!defined.includes(name))
        add(
          ["agents", i, "projects", j],
          `unknown project "${name}"; ${defined.length === 0 ? "no projects are defined (add it to projects)" : `defined: ${defined.join(", ")}`}`,
        );
    });
    if (new Set(a.projects).size !== a.projects.length) add(["agents", i, "projects"], "lists a project twice");
  });
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function secretRef(entry: unknown): AgentSecretRef | undefined {
  if (typeof entry === "string") return { env: entry, key: `${PROJECT}:${entry}` };
  if (entry && typeof entry === "object") {
    const { name, key } = entry as { name?: unknown; key?: unknown };
    if (typeof name === "string" && typeof key === "string") {
      return { env: name, key: key.includes(":") ? key : `${PROJECT}:${key}` };
    }
  }
  return undefined;
}

function lookup(fullKey: string, raw: Record<string, unknown>, ctx: ConfigContext): unknown {
  const prefix = `${PROJECT}:`;
  if (fullKey.startsWith(prefix)) return raw[fullKey.slice(prefix.length)];
  return ctx.foreign?.[fullKey];
}

/** The keys a nested object accepts, for "did you mean" hints. */
function knownKeysAt(
  p: ReadonlyArray<PropertyKey>,
  targetSections: ReadonlyMap<string, { schema: z.ZodObject }>,
): string[] {
  const [head, second, third] = p;
  if (head === "projects" && typeof second === "number") return Object.keys(projectSchema.shape);
  if (head === "agents" && typeof second === "number") {
    if (third === "budget") return Object.keys(budgetSchema.shape);
    if (third === "review") return Object.keys(reviewSchema.shape);
    if (third === "idle") return Object.keys(idleSchema.shape);
    return third === "resources" ? Object.keys(resourcesSchema.shape) : Object.keys(agentSchema.shape);
  }
  const sections: Record<string, { shape: object }> = {
    ssh: sshSchema,
    image: imageSchema,
    console: consoleSchema,
    budget: budgetSchema,
    review: reviewSchema,
    idle: idleSchema,
  };
  for (const [key, section] of targetSections) sections[key] = section.schema;
  return p.length === 1 && typeof head === "string" && sections[head] ? Object.keys(sections[head].shape) : [];
}

function unknownKeyMessage(key: string, candidates?: readonly string[]): string {
  const near = candidates?.find((c) => editDistance(c.toLowerCase(), key.toLowerCase()) <= 2);
  return `unknown setting${near ? `; did you mean "${near}"?` : ""}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const byKey = (a: ConfigProblem, b: ConfigProblem) => a.key.localeCompare(b.key, "en", { numeric: true });
  return [...problems].sort(byKey).filter((p) => {
    const k = `${p.key}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
