import * as fs from "node:fs";
import { ensureSharedLayout } from "../sharedLayout.js";
import { TaskQueue, type ListedTask } from "../queue/taskQueue.js";
import type { TaskRecord, TaskStatus } from "../queue/taskRecord.js";
import { MAX_TASK_RERUNS, proposalIdForTask } from "../ids.js";
import { ProposalStore, type ProposalState } from "../proposals/proposal.js";
import { openShared } from "./dirs.js";
import { Conflict, InvalidInput, NotFound } from "./errors.js";
import { parseMaxAttempts, parseName, parsePriority, parseTaskId } from "./validate.js";

/** Operations on the task queue: add, list, show. */

export interface AddTaskInput {
  title: string;
  /** Short text; a task needs this or `instructions`. */
  description?: string;
  /** Instruction text (markdown), copied into the queue. */
  instructions?: string | Buffer;
  /**
   * Files or directories of the CALLER's file system copied into the task's context. Only for a
   * local operator (agentctl): a network API must never pass paths its clients chose.
   */
  contextPaths?: string[];
  agent?: string;
  capability?: string;
  /** The shared project the task works on (a project name; only agents assigned to it run it). */
  project?: string;
  /** MIN_PRIORITY..MAX_PRIORITY; default DEFAULT_PRIORITY. */
  priority?: number;
  /** 1..MAX_TASK_ATTEMPTS; absent: the claiming runtime's AGENT_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Who queues it (operator name). */
  createdBy: string;
}

/** A task as shown to operators (the record without its queue file path). */
export type TaskView = TaskRecord;

export interface TaskFilter {
  state?: TaskStatus;
  /** Tasks for this agent or claimed by it. */
  agent?: string;
  /** Tasks for this shared project. */
  project?: string;
  /** Tasks created by this task's run (a coordinator's children). */
  parent?: string;
}

export function addTask(shared: string, t: AddTaskInput): TaskRecord {
  const title = t.title?.trim();
  if (!title) throw new InvalidInput("title", "a task needs a title");
  if (t.agent !== undefined && t.capability !== undefined)
    throw new InvalidInput("agent", "give agent or capability, not both");
  if (t.agent !== undefined) parseName(t.agent, "agent");
  if (t.capability !== undefined) parseName(t.capability, "capability");
  if (t.project !== undefined) parseName(t.project, "project");
  if (t.priority !== undefined) parsePriority(t.priority);
  if (t.maxAttempts !== undefined) parseMaxAttempts(t.maxAttempts);
  if (t.instructions === undefined && !t.description)
    throw new InvalidInput("instructions", "a task needs instructions or a description");
  if (!t.createdBy?.trim()) throw new InvalidInput("created_by", "a task needs the name of who queues it");
  for (const p of t.contextPaths ?? []) {
    if (!fs.existsSync(p)) throw new NotFound(`context ${p}: no such file or directory`);
  }
  const layout = openShared(shared);
  ensureSharedLayout(layout);
  return new TaskQueue(layout).addTask({
    title,
    createdBy: t.createdBy,
    maxAttempts: t.maxAttempts ?? 0, // 0: the claiming runtime's AGENT_MAX_ATTEMPTS
    contextPaths: t.contextPaths ?? [],
    ...(t.description !== undefined ? { description: t.description } : {}),
    ...(t.instructions !== undefined ? { instructions: t.instructions } : {}),
    ...(t.agent !== undefined ? { agent: t.agent } : {}),
    ...(t.capability !== undefined ? { capability: t.capability } : {}),
    ...(t.project !== undefined ? { project: t.project } : {}),
    ...(t.priority !== undefined ? { priority: t.priority } : {}),
  });
}

function view({ file: _file, ...t }: ListedTask): TaskView {
  return t;
}

export function listTasks(shared: string, filter: TaskFilter = {}): TaskView[] {
  let list = new TaskQueue(openShared(shared)).list(filter.state);
  if (filter.agent) list = list.filter((t) => t.claimed_by === filter.agent || t.agent === filter.agent);
  if (filter.project) list = list.filter((t) => t.project === filter.project);
  if (filter.parent) list = list.filter((t) => t.parent === filter.parent);
  return list.map(view);
}

/** One task with the path of its queue file (which tells where in the queue it is). */
export function showTask(shared: string, id: string): ListedTask {
  parseTaskId(id);
  const t = new TaskQueue(openShared(shared)).find(id);
  if (!t) throw new NotFound(`no task ${id}`);
  return t;
}

/** Proposal states whose change did not reach /app: their task may be run again. */
export const RETRYABLE_PROPOSAL_STATES: readonly ProposalState[] = ["conflict", "refused"];

export interface RetryResult {
  task: TaskRecord;
  /** The proposal whose change did not apply. */
  previous_proposal: string;
  /** The id the re-run's proposal will have. */
  next_proposal: string;
}

/**
 * Run a finished task again on its agent's current HEAD, because its change did not apply: its
 * proposal is `conflict` (HEAD moved on and a 3-way apply failed) or `refused` (patch changed
 * after approval, an approval without sha256, no free space). The task goes back to pending
 * with a fresh attempt budget and its re-run counted (at most MAX_TASK_RERUNS); the re-run makes
 * a new proposal (`p-…-N`) that is reviewed like any other.
 */
export function retryTask(shared: string, id: string, by: string): RetryResult {
  parseTaskId(id);
  if (!by?.trim()) throw new InvalidInput("by", "a retry needs the name of who asks for it");
  const layout = openShared(shared);
  const queue = new TaskQueue(layout);
  const t = queue.find(id);
  if (!t) throw new NotFound(`no task ${id}`);
  const reruns = t.reruns ?? 0;
  const pid = proposalIdForTask(t.id, reruns);
  const p = new ProposalStore(layout).get(pid);
  const notRetryable = (why: string) =>
    new Conflict(
      `task ${id} cannot be retried: ${why}; only a task whose proposal is ${RETRYABLE_PROPOSAL_STATES.join(" or ")} can`,
    );
  if (t.status !== "done") throw notRetryable(`it is ${t.status}`);
  if (!p) throw notRetryable(`it has no proposal ${pid} (outcome ${t.result?.outcome ?? "none"})`);
  if (!RETRYABLE_PROPOSAL_STATES.includes(p.state)) throw notRetryable(`its proposal ${pid} is ${p.state}`);
  if (reruns >= MAX_TASK_RERUNS) throw notRetryable(`it was run again ${reruns} times already (the limit)`);
  const { file: _file, ...rec } = t;
  const now = new Date().toISOString();
  const next: TaskRecord = {
    ...rec,
    status: "pending",
    reruns: reruns + 1,
    attempts: 0,
    claimed_by: null,
    claimed_at: null,
    completed_at: null,
    result: null,
    last_error: `proposal ${pid} ${p.state}: ${p.reason ?? ""}`.trim(),
    history: [
      ...rec.history,
      {
        at: now,
        event: "retry-requested",
        detail: `by ${by}: proposal ${pid} was ${p.state}; the re-run proposes ${proposalIdForTask(id, reruns + 1)}`,
      },
    ],
  };
  if (!queue.retryDone(next)) throw new Conflict(`task ${id} left done/ while it was being retried; look again`);
  return { task: next, previous_proposal: pid, next_proposal: proposalIdForTask(id, reruns + 1) };
}
