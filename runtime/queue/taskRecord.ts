import { PROJECT_NAME } from "../../contract/names.js";
import type { Usage } from "../usage/usageReport.js";
import { MAX_TASK_RERUNS, NAME_PATTERN, PROPOSAL_ID_PATTERN, TASK_ID_PATTERN } from "../ids.js";

export type TaskStatus = "pending" | "claimed" | "done" | "failed";
export const TASK_STATES: TaskStatus[] = ["pending", "claimed", "done", "failed"];

export interface TaskResult {
  /**
   * proposed: waits for a decision; applied: committed; no-changes; failed; rejected; conflict
   * (its proposal did not apply); refused (the runtime refused to apply it: patch changed after
   * approval, an approval without sha256, no free space); rolled-back.
   */
  outcome:
    "proposed" | "applied" | "no-changes" | "failed" | "rejected" | "conflict" | "refused" | "rolled-back" | "reviewed";
  proposal_id?: string;
  commit?: string;
  exit_code?: number | null;
  error?: string;
  output_tail?: string;
  /** The model usage the last run reported ($TASK_USAGE_FILE), as recorded in the agent's ledger. */
  usage?: Usage;
  /** Why the last run's usage report was refused. */
  usage_error?: string;
  /** Tasks this run queued from $TASK_OUTBOX (a coordinator's run). */
  created_tasks?: string[];
  /** Files of $TASK_OUTBOX that were not queued, each with the reason (file names escaped). */
  outbox_rejected?: Array<{ file: string; reason: string }>;
  /** $TASK_MESSAGES lines this run left that were not recorded (over the per-run cap). */
  messages_dropped?: number;
  /** A review task's verdict (`none`: the reviewer gave none; `error` says why). */
  verdict?: "approve" | "reject" | "none";
}

/**
 * What a review task asks (runtime/reviews/): a reviewer agent's verdict on another agent's
 * proposal. Its patch is the task's context file `<proposal>.patch`.
 */
export interface ReviewRequest {
  proposal: string;
  /** The agent whose proposal it is (never the reviewer). */
  agent: string;
  /** sha256 of the patch as proposed. */
  sha256: string;
}

export interface TaskEvent {
  at: string;
  event: string;
  agent?: string;
  detail?: string;
}

/**
 * A task record: the JSON file that moves between the queue directories. Paths are relative to
 * the shared dir, so they mean the same on the host and in every container.
 */
export interface TaskRecord {
  id: string;
  title: string;
  description: string;
  instruction_file: string | null;
  context_files: string[];
  status: TaskStatus;
  priority: number;
  agent: string | null;
  capability: string | null;
  attempts: number;
  max_attempts: number;
  claimed_by: string | null;
  claimed_at: string | null;
  completed_at: string | null;
  created_at: string;
  created_by: string;
  last_error: string | null;
  result: TaskResult | null;
  history: TaskEvent[];
  /**
   * Times the task was run again because its change did not apply (a stale-base conflict in
   * autonomous mode, or `agentctl retry`); its current proposal is proposalIdForTask(id, reruns).
   */
  reruns?: number;
  /**
   * The shared project the task works on (its program runs in a clone of the project, its change
   * is committed to the project); null: the agent's own code in /app.
   */
  project?: string | null;
  /** The task whose run created this one (a coordinator's outbox); absent for operators' tasks. */
  parent?: string | null;
  /** A review task: the proposal to review (absent: an ordinary task). */
  review?: ReviewRequest | null;
}

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 9;
export const DEFAULT_PRIORITY = 5;

/**
 * Queue file name of a pending or claimed task: `<rank>_<id>_<target>_<attempts>.json`.
 * rank = 9 - priority (so a plain name sort puts urgent tasks first, then oldest first), target is
 * `any`, `agent-<name>` or `cap-<capability>`. An agent picks and claims a task from the name
 * alone (one rename, no read), and the janitor bumps the attempt count with one rename.
 */
export interface QueueName {
  priority: number;
  id: string;
  target: { kind: "any" } | { kind: "agent"; name: string } | { kind: "cap"; name: string };
  attempts: number;
}

const QUEUE_NAME = /^(\d)_(t-[0-9a-z-]+)_(any|agent-[a-z0-9-]+|cap-[a-z0-9-]+)_(\d+)\.json$/;

export function queueFileName(q: QueueName): string {
  const target = q.target.kind === "any" ? "any" : `${q.target.kind}-${q.target.name}`;
  return `${MAX_PRIORITY - q.priority}_${q.id}_${target}_${q.attempts}.json`;
}

export function parseQueueFileName(name: string): QueueName | undefined {
  const m = QUEUE_NAME.exec(name);
  if (!m) return undefined;
  const [, rank, id, target, attempts] = m as unknown as [string, string, string, string, string];
  if (!TASK_ID_PATTERN.test(id)) return undefined;
  let t: QueueName["target"];
  if (target === "any") t = { kind: "any" };
  else if (target.startsWith("agent-")) t = { kind: "agent", name: target.slice(6) };
  else t = { kind: "cap", name: target.slice(4) };
  return { priority: MAX_PRIORITY - Number(rank), id, target: t, attempts: Number(attempts) };
}

export function targetOf(r: Pick<TaskRecord, "agent" | "capability">): QueueName["target"] {
  if (r.agent) return { kind: "agent", name: r.agent };
  if (r.capability) return { kind: "cap", name: r.capability };
  return { kind: "any" };
}

export function eligible(q: QueueName, agent: string, capabilities: readonly string[]): boolean {
  if (q.target.kind === "any") return true;
  if (q.target.kind === "agent") return q.target.name === agent;
  return capabilities.includes(q.target.name);
}

/** Validate a parsed task file; throws an Error that names the bad field. */
export function validateTaskRecord(v: unknown): TaskRecord {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("task file is not a JSON object");
  const o = v as Record<string, unknown>;
  const str = (k: string, optional = false): void => {
    if (o[k] === undefined || o[k] === null) {
      if (!optional) throw new Error(`task field "${k}" is missing`);
      return;
    }
    if (typeof o[k] !== "string") throw new Error(`task field "${k}" must be a string`);
  };
  str("id");
  if (!TASK_ID_PATTERN.test(o.id as string))
    throw new Error(`task field "id" is not a task id: ${JSON.stringify(o.id)}`);
  str("title");
  if ((o.title as string).trim() === "") throw new Error(`task field "title" is empty`);
  str("description", true);
  str("instruction_file", true);
  for (const k of ["agent", "capability"]) {
    str(k, true);
    if (typeof o[k] === "string" && !NAME_PATTERN.test(o[k] as string))
      throw new Error(`task field "${k}" is not a valid name`);
  }
  str("project", true);
  if (typeof o.project === "string" && !PROJECT_NAME.test(o.project))
    throw new Error(`task field "project" is not a valid project name`);
  str("parent", true);
  if (typeof o.parent === "string" && !TASK_ID_PATTERN.test(o.parent))
    throw new Error(`task field "parent" is not a task id: ${JSON.stringify(o.parent)}`);
  if (
    o.context_files !== undefined &&
    (!Array.isArray(o.context_files) || o.context_files.some((c) => typeof c !== "string"))
  ) {
    throw new Error(`task field "context_files" must be a list of strings`);
  }
  if (
    o.reruns !== undefined &&
    (typeof o.reruns !== "number" || !Number.isInteger(o.reruns) || o.reruns < 0 || o.reruns > MAX_TASK_RERUNS)
  ) {
    throw new Error(`task field "reruns" must be a whole number from 0 to ${MAX_TASK_RERUNS}`);
  }
  if (o.review !== undefined && o.review !== null) {
    const r = o.review as Record<string, unknown>;
    if (
      typeof r !== "object" ||
      typeof r.proposal !== "string" ||
      !PROPOSAL_ID_PATTERN.test(r.proposal) ||
      typeof r.agent !== "string" ||
      !NAME_PATTERN.test(r.agent) ||
      typeof r.sha256 !== "string" ||
      !/^[0-9a-f]{64}$/.test(r.sha256)
    )
      throw new Error(`task field "review" must be { proposal, agent, sha256 }`);
  }
  for (const k of ["priority", "attempts", "max_attempts"]) {
    if (o[k] !== undefined && (typeof o[k] !== "number" || !Number.isInteger(o[k]) || (o[k] as number) < 0)) {
      throw new Error(`task field "${k}" must be a non-negative integer`);
    }
  }
  for (const p of [o.instruction_file, ...((o.context_files as string[] | undefined) ?? [])]) {
    if (typeof p === "string" && (p.startsWith("/") || p.split("/").includes(".."))) {
      throw new Error(`task file path "${p}" must be relative to the shared dir, without ".."`);
    }
  }
  return {
    id: o.id as string,
    title: o.title as string,
    description: (o.description as string | undefined) ?? "",
    instruction_file: (o.instruction_file as string | undefined) ?? null,
    context_files: (o.context_files as string[] | undefined) ?? [],
    status: (o.status as TaskStatus | undefined) ?? "pending",
    priority: (o.priority as number | undefined) ?? DEFAULT_PRIORITY,
    agent: (o.agent as string | undefined) ?? null,
    capability: (o.capability as string | undefined) ?? null,
    attempts: (o.attempts as number | undefined) ?? 0,
    max_attempts: (o.max_attempts as number | undefined) ?? 0,
    claimed_by: (o.claimed_by as string | undefined) ?? null,
    claimed_at: (o.claimed_at as string | undefined) ?? null,
    completed_at: (o.completed_at as string | undefined) ?? null,
    created_at: (o.created_at as string | undefined) ?? "",
    created_by: (o.created_by as string | undefined) ?? "",
    last_error: (o.last_error as string | undefined) ?? null,
    result: (o.result as TaskResult | undefined) ?? null,
    history: Array.isArray(o.history) ? (o.history as TaskEvent[]) : [],
    reruns: (o.reruns as number | undefined) ?? 0,
    project: (o.project as string | undefined) ?? null,
    ...(typeof o.parent === "string" ? { parent: o.parent } : {}),
    ...(o.review ? { review: o.review as ReviewRequest } : {}),
  };
}
