import { PROJECT_NAME, PROJECT_NAME_RULE } from "../../contract/names.js";
import { NAME_PATTERN } from "../ids.js";
import type { AgentLogger } from "../log.js";
import { safeLine } from "../operator/escape.js";
import { MAX_TASK_ATTEMPTS } from "../operator/validate.js";
import type { ProjectRepo } from "../projects/projectRepo.js";
import type { TaskQueue } from "../queue/taskQueue.js";
import { MAX_PRIORITY, MIN_PRIORITY, type TaskRecord } from "../queue/taskRecord.js";
import type { RuntimeSettings } from "../settings.js";
import type { SharedLayout } from "../sharedLayout.js";
import { listStatuses } from "../status.js";
import { agentCreator, OUTBOX_FIELD_LIMITS as F } from "./limits.js";
import type { OutboxEntry, RunFiles } from "./runFiles.js";

/**
 * A coordinator's tasks: after a run, each file the program left in $TASK_OUTBOX is checked and
 * queued as a task `created_by: agent:<name>`, `parent: <the run's task>`; a file that fails any
 * check is rejected with its reason, and nothing else is affected (docs/runtime.md "Coordinators").
 *
 * Who exists: the fleet's agents and capabilities are read from the status board
 * (`agents/<name>/status.json` in the shared dir), which every agent's runtime writes from its
 * first start on. An agent that never started is unknown until it does. Projects: only those
 * this coordinator works on itself (AGENT_PROJECTS), the ones whose repositories it can read.
 */
export interface OutboxOptions {
  settings: Pick<
    RuntimeSettings,
    "agentName" | "canCreateTasks" | "outboxMaxTasks" | "outboxMaxFileBytes" | "outboxMaxRunBytes" | "outboxMaxPending"
  >;
  queue: TaskQueue;
  layout: SharedLayout;
  log: AgentLogger;
  /** The shared projects this agent works on, by name (their tasks' context files come from them). */
  projects?: ReadonlyMap<string, ProjectRepo>;
}

export interface OutboxRejection {
  /** The file's name, escaped. */
  file: string;
  /** Why, escaped. */
  reason: string;
}

export interface OutboxReport {
  created: string[];
  rejected: OutboxRejection[];
}

/** A task file's fields once checked. */
interface TaskSpec {
  title: string;
  instructions?: string;
  description?: string;
  project?: string;
  agent?: string;
  capability?: string;
  priority?: number;
  maxAttempts?: number;
  context: string[];
}

/** A task file that fails a check: its reason goes into the parent task's result. */
class Rejected extends Error {}

const FIELDS = new Set([
  "title",
  "instructions",
  "description",
  "project",
  "agent",
  "capability",
  "priority",
  "max_attempts",
  "context",
]);

const REASON_MAX = 500;
const FILE_NAME_MAX = 200;

export class Outbox {
  constructor(private readonly o: OutboxOptions) {}

  /**
   * Queue the tasks of a finished run (`succeeded`: its program exited 0; otherwise nothing is
   * queued, since a failed or retried run's tasks would be queued again by its next attempt).
   */
  async process(parent: TaskRecord, files: RunFiles, succeeded: boolean): Promise<OutboxReport> {
    const s = this.o.settings;
    const report: OutboxReport = { created: [], rejected: [] };
    const reject = (file: string, reason: string) => {
      report.rejected.push({ file: clip(safeLine(file), FILE_NAME_MAX), reason: clip(safeLine(reason), REASON_MAX) });
      this.o.log.warn("outbox-rejected", { task: parent.id, file, reason });
    };
    if (files.outboxProblem) reject("$TASK_OUTBOX", `$TASK_OUTBOX ${files.outboxProblem}: nothing in it was read`);
    const entries = files.outbox;
    const more = files.outboxMore;
    if (entries.length === 0 && more === 0) return report;
    const gate = !s.canCreateTasks
      ? "ignored: this agent may not create tasks (its config does not set canCreateTasks: true)"
      : !succeeded
        ? "not queued: the run did not succeed (its next attempt writes its tasks again)"
        : undefined;
    if (gate) {
      for (const e of entries) reject(e.name, gate);
      if (more > 0) reject(`(${more} more files)`, gate);
      return report;
    }
    const fleet = this.roster();
    const creator = agentCreator(s.agentName);
    let pending = this.pendingOf(creator);
    let budget = s.outboxMaxRunBytes - entries.reduce((n, e) => n + (e.data?.length ?? 0), 0);
    for (const e of entries) {
      try {
        if (report.created.length >= s.outboxMaxTasks)
          throw new Rejected(`over the cap of ${s.outboxMaxTasks} tasks per run (AGENT_OUTBOX_MAX_TASKS)`);
        const bytes = readable(e, s.outboxMaxFileBytes);
        const spec = parseTaskFile(bytes);
        this.checkTargets(spec, fleet);
        if (pending >= s.outboxMaxPending)
          throw new Rejected(
            `${creator} has ${pending} unfinished tasks, the cap (AGENT_OUTBOX_MAX_PENDING ${s.outboxMaxPending})`,
          );
        const context = await this.readContext(spec, budget);
        budget -= context.reduce((n, c) => n + c.data.length, 0);
        const record = this.o.queue.addTask({
          title: spec.title,
          createdBy: creator,
          maxAttempts: spec.maxAttempts ?? 0,
          parent: parent.id,
          queuedDetail: `${creator}, from ${clip(safeLine(e.name), FILE_NAME_MAX)} of task ${parent.id}`,
          ...(spec.instructions !== undefined ? { instructions: spec.instructions } : {}),
          ...(spec.description !== undefined ? { description: spec.description } : {}),
          ...(spec.project !== undefined ? { project: spec.project } : {}),
          ...(spec.agent !== undefined ? { agent: spec.agent } : {}),
          ...(spec.capability !== undefined ? { capability: spec.capability } : {}),
          ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
          ...(context.length > 0 ? { contextFiles: context } : {}),
        });
        pending++;
        report.created.push(record.id);
        this.o.log.info("outbox-task-queued", { task: parent.id, created: record.id, file: e.name });
      } catch (err) {
        if (err instanceof Rejected) reject(e.name, err.message);
        else reject(e.name, `could not be queued: ${(err as Error).message}`);
      }
    }
    if (more > 0) reject(`(${more} more files)`, `not read: more than ${entries.length} files in $TASK_OUTBOX`);
    return report;
  }

  /** The fleet's agents and their capabilities, from the status board. */
  private roster(): { agents: Set<string>; capabilities: Set<string> } {
    const agents = new Set<string>();
    const capabilities = new Set<string>();
    for (const st of listStatuses(this.o.layout)) {
      if (typeof st.agent !== "string") continue;
      agents.add(st.agent);
      for (const c of Array.isArray(st.capabilities) ? st.capabilities : []) capabilities.add(c);
    }
    return { agents, capabilities };
  }

  /** Tasks `creator` made that are pending or claimed. */
  private pendingOf(creator: string): number {
    let n = 0;
    for (const state of ["pending", "claimed"] as const)
      for (const t of this.o.queue.list(state)) if (t.created_by === creator) n++;
    return n;
  }

  private checkTargets(spec: TaskSpec, fleet: { agents: Set<string>; capabilities: Set<string> }): void {
    const mine = [...(this.o.projects?.keys() ?? [])].sort();
    if (spec.project !== undefined && !mine.includes(spec.project))
      throw new Rejected(
        `unknown project "${spec.project}": a coordinator may create tasks only for its own projects (AGENT_PROJECTS: ${mine.join(", ") || "none"})`,
      );
    if (spec.agent !== undefined && !fleet.agents.has(spec.agent))
      throw new Rejected(`unknown agent "${spec.agent}": no agent of that name has reported to the status board`);
    if (spec.capability !== undefined && !fleet.capabilities.has(spec.capability))
      throw new Rejected(`unknown capability "${spec.capability}": no agent on the status board has it`);
    if (spec.context.length > 0 && spec.project === undefined)
      throw new Rejected(`"context" names files of a project: give "project" too`);
  }

  /**
   * The context files, read from the project's repository at its branch's HEAD (git objects,
   * never a file system path: nothing is followed), all of them within `budget` bytes.
   */
  private async readContext(spec: TaskSpec, budget: number): Promise<Array<{ name: string; data: Buffer }>> {
    if (spec.context.length === 0) return [];
    const project = this.o.projects?.get(spec.project!);
    if (!project) throw new Rejected(`project "${spec.project}" is not one this agent works on`);
    const out: Array<{ name: string; data: Buffer }> = [];
    const names = new Set<string>();
    for (const rel of spec.context) {
      const name = rel.split("/").pop()!;
      if (names.has(name)) throw new Rejected(`two context files are named "${name}"`);
      const r = await project.fileAtHead(rel, budget);
      if ("problem" in r)
        throw new Rejected(
          r.tooLarge
            ? `context file "${rel}" is over the run's byte cap (AGENT_OUTBOX_MAX_RUN_BYTES): ${r.problem}`
            : `context file "${rel}": ${r.problem}`,
        );
      names.add(name);
      budget -= r.data.length;
      out.push({ name, data: r.data });
    }
    return out;
  }
}

/** The bytes of an outbox entry that may be parsed, or the reason it may not. */
function readable(e: OutboxEntry, maxFileBytes: number): Buffer {
  if (e.kind === "symlink") throw new Rejected("is a symbolic link (links in $TASK_OUTBOX are never followed)");
  if (e.kind === "directory") throw new Rejected("is a directory, not a task file");
  if (e.kind !== "file") throw new Rejected("is not a regular file");
  if (!e.name.endsWith(".json")) throw new Rejected('is not a task file (its name must end in ".json")');
  if (e.unread === "too large" || (e.data === undefined && e.size > maxFileBytes))
    throw new Rejected(`is too large: ${e.size} bytes, over AGENT_OUTBOX_MAX_FILE_BYTES (${maxFileBytes})`);
  if (e.unread === "over the run's byte cap")
    throw new Rejected("is over the run's byte cap (AGENT_OUTBOX_MAX_RUN_BYTES)");
  if (e.unread !== undefined || e.data === undefined) throw new Rejected(`could not be read: ${e.unread ?? "no data"}`);
  return e.data;
}

/** Parse and check one task file (hostile bytes). */
export function parseTaskFile(bytes: Buffer): TaskSpec {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Rejected("malformed: not valid UTF-8");
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Rejected(`malformed JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Rejected("malformed: not a JSON object");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new Rejected(`unknown field "${k}"`);
  const str = (k: string): string | undefined => {
    if (o[k] === undefined) return undefined;
    if (typeof o[k] !== "string") throw new Rejected(`field "${k}" must be a string`);
    return o[k];
  };
  const name = (k: string): string | undefined => {
    const n = str(k);
    if (n !== undefined && !NAME_PATTERN.test(n))
      throw new Rejected(`field "${k}" is not a name (lowercase letters, digits, dashes): ${JSON.stringify(n)}`);
    return n;
  };
  const int = (k: string, min: number, max: number): number | undefined => {
    const n = o[k];
    if (n === undefined) return undefined;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max)
      throw new Rejected(`field "${k}" must be a whole number from ${min} to ${max}`);
    return n;
  };
  const title = str("title")?.trim();
  if (!title) throw new Rejected('field "title" is missing or empty');
  if (title.length > F.titleChars) throw new Rejected(`field "title" is longer than ${F.titleChars} characters`);
  const instructions = str("instructions");
  const description = str("description");
  if (!instructions?.trim() && !description?.trim())
    throw new Rejected('a task needs "instructions" (or "description")');
  const agent = name("agent");
  const capability = name("capability");
  if (agent !== undefined && capability !== undefined) throw new Rejected('give "agent" or "capability", not both');
  const context = o.context ?? [];
  if (!Array.isArray(context) || context.some((c) => typeof c !== "string"))
    throw new Rejected('field "context" must be a list of paths inside the project');
  if (context.length > F.contextFiles) throw new Rejected(`field "context" names more than ${F.contextFiles} files`);
  for (const c of context as string[]) checkContextPath(c);
  const project = str("project");
  if (project !== undefined && !PROJECT_NAME.test(project))
    throw new Rejected(`field "project" is not a project name (${PROJECT_NAME_RULE}): ${JSON.stringify(project)}`);
  const priority = int("priority", MIN_PRIORITY, MAX_PRIORITY);
  const maxAttempts = int("max_attempts", 1, MAX_TASK_ATTEMPTS);
  return {
    title,
    context: context as string[],
    ...(instructions !== undefined ? { instructions } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(project !== undefined ? { project } : {}),
    ...(agent !== undefined ? { agent } : {}),
    ...(capability !== undefined ? { capability } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  };
}

/** A context path: relative, inside the project, no `.`/`..`/empty segment, not into `.git`. */
function checkContextPath(c: string): void {
  const shown = JSON.stringify(c.slice(0, 200));
  if (c === "" || c.length > F.contextPathChars)
    throw new Rejected(`context path ${shown} must be 1 to ${F.contextPathChars} characters`);
  if (c.includes("\0")) throw new Rejected(`context path ${shown} holds a NUL byte`);
  if (c.startsWith("/")) throw new Rejected(`context path ${shown} is absolute: give a path inside the project`);
  for (const seg of c.split("/")) {
    if (seg === "..") throw new Rejected(`context path ${shown} leaves the project ("..")`);
    if (seg === "" || seg === ".")
      throw new Rejected(`context path ${shown} is not a plain path (empty or "." segment)`);
    if (seg === ".git") throw new Rejected(`context path ${shown} points into .git`);
  }
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}
