import * as fs from "node:fs";
import * as path from "node:path";
import { newTaskId } from "../ids.js";
import { errnoCode, exists, fsyncDir, listDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from "../fsAtomic.js";
import type { SharedLayout } from "../sharedLayout.js";
import {
  DEFAULT_PRIORITY,
  eligible,
  parseQueueFileName,
  queueFileName,
  targetOf,
  validateTaskRecord,
  type QueueName,
  type ReviewRequest,
  type TaskRecord,
  type TaskResult,
  type TaskStatus,
} from "./taskRecord.js";

export interface NewTask {
  title: string;
  description?: string;
  /** Instruction text (markdown); copied into the queue, never referenced in place. */
  instructions?: string | Buffer;
  /** Files or directories to copy into the task's context. */
  contextPaths?: string[];
  agent?: string;
  capability?: string;
  /** The shared project the task works on (only agents assigned to it may run it). */
  project?: string;
  priority?: number;
  /** Attempt limit of this task; 0 leaves it to the claiming runtime's AGENT_MAX_ATTEMPTS. */
  maxAttempts: number;
  createdBy: string;
  /** Context files given as contents (already read and checked by the caller), by file name. */
  contextFiles?: Array<{ name: string; data: Buffer }>;
  /** The task whose run created this one (a coordinator's outbox). */
  parent?: string;
  /** Detail of the `queued` history event (default: createdBy). */
  queuedDetail?: string;
  /** A review task (runtime/reviews/): the proposal its agent reviews. */
  review?: ReviewRequest;
}

/** A task this agent holds: its queue name and where its file is now. */
export interface ClaimedTask {
  name: string;
  queueName: QueueName;
  file: string;
  claimedAt: string;
  /** The record, or the reason it could not be read. */
  record: TaskRecord | { error: string; raw: string };
}

export interface ListedTask extends TaskRecord {
  file: string;
}

/**
 * The Maildir-style task queue (docs/runtime.md "Task queue"): writers stage in tasks/tmp and rename
 * into pending/; an agent claims with one rename into claimed/<agent>/ (losers get ENOENT);
 * every later transition is one rename too, so a task is always in exactly one place. No locks.
 */
export class TaskQueue {
  /** Names seen in pending/ at the last scan, not yet tried by this agent. */
  private cache: string[] = [];
  private cacheAt = 0;

  constructor(readonly layout: SharedLayout) {}

  // ---------------------------------------------------------------- writers (agentctl)

  addTask(t: NewTask): TaskRecord {
    const l = this.layout;
    const id = newTaskId();
    const now = new Date().toISOString();
    const priority = t.priority ?? DEFAULT_PRIORITY;
    // Attachments first: a task becomes visible (rename into pending/) only once its files exist.
    const staging = path.join(l.tasksTmp, `.tmp-files-${id}`);
    fs.mkdirSync(staging, { mode: 0o755 });
    let instructionFile: string | null = null;
    const contextFiles: string[] = [];
    try {
      if (t.instructions !== undefined) {
        fs.writeFileSync(path.join(staging, "instructions.md"), t.instructions, { mode: 0o644 });
        instructionFile = path.posix.join("tasks", "files", id, "instructions.md");
      }
      if (t.contextPaths && t.contextPaths.length > 0) {
        const ctxDir = path.join(staging, "context");
        fs.mkdirSync(ctxDir, { mode: 0o755 });
        for (const p of t.contextPaths) {
          const base = path.basename(path.resolve(p));
          if (exists(path.join(ctxDir, base))) throw new Error(`two context paths share the name "${base}"`);
          fs.cpSync(p, path.join(ctxDir, base), { recursive: true, dereference: true, errorOnExist: true });
          contextFiles.push(path.posix.join("tasks", "files", id, "context", base));
        }
      }
      if (t.contextFiles && t.contextFiles.length > 0) {
        const ctxDir = path.join(staging, "context");
        fs.mkdirSync(ctxDir, { recursive: true, mode: 0o755 });
        for (const f of t.contextFiles) {
          if (f.name !== path.basename(f.name) || f.name === "." || f.name === "..")
            throw new Error(`context file name "${f.name}" is not a plain file name`);
          fs.writeFileSync(path.join(ctxDir, f.name), f.data, { mode: 0o644, flag: "wx" });
          contextFiles.push(path.posix.join("tasks", "files", id, "context", f.name));
        }
      }
      fs.renameSync(staging, l.taskFilesOf(id));
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    const record: TaskRecord = {
      id,
      title: t.title,
      description: t.description ?? "",
      instruction_file: instructionFile,
      context_files: contextFiles,
      status: "pending",
      priority,
      agent: t.agent ?? null,
      capability: t.capability ?? null,
      project: t.project ?? null,
      attempts: 0,
      max_attempts: t.maxAttempts,
      claimed_by: null,
      claimed_at: null,
      completed_at: null,
      created_at: now,
      created_by: t.createdBy,
      last_error: null,
      result: null,
      history: [{ at: now, event: "queued", detail: t.queuedDetail ?? t.createdBy }],
      ...(t.parent !== undefined ? { parent: t.parent } : {}),
      ...(t.review ? { review: t.review } : {}),
    };
    const name = queueFileName({ priority, id, target: targetOf(record), attempts: 0 });
    const tmp = path.join(l.tasksTmp, `.tmp-${name}`);
    writeFileAtomic(tmp, JSON.stringify(record, null, 2) + "\n");
    fs.renameSync(tmp, path.join(l.pending, name));
    fsyncDir(l.pending);
    return record;
  }

  // ---------------------------------------------------------------- claiming (agents)

  /**
   * Claim the next task this agent may take: the most urgent priority first. Within it, a short
   * queue is taken oldest first (random among the first 32, so that agents do not all race for
   * the same file); under a backlog each agent walks its own stretch of the queue, starting at a
   * random point and jumping elsewhere when it runs into tasks another agent took, so that many
   * agents rarely collide. The listing is cached and refreshed when it is old or keeps missing.
   */
  claimNext(agent: string, capabilities: readonly string[], maxCacheAgeMs = 1000): ClaimedTask | undefined {
    let rescans = 0;
    for (;;) {
      if (this.cache.length === 0 || this.misses >= 256 || Date.now() - this.cacheAt > maxCacheAgeMs) {
        if (rescans++ > 0 && this.cache.length === 0) return undefined;
        this.rescan(agent, capabilities);
        this.misses = 0;
        this.pos = -1;
        if (this.cache.length === 0) return undefined;
      }
      if (
        this.pos < 0 ||
        this.pos >= this.cache.length ||
        this.cache[this.pos]!.charAt(0) !== this.cache[0]!.charAt(0)
      ) {
        this.pos = Math.floor(Math.random() * this.window());
        this.inARow = 0;
      }
      const name = this.cache[this.pos]!;
      this.cache.splice(this.pos, 1);
      // A stat is lock-free; a rename (even one that fails) takes the file system's rename lock.
      // Stepping over tasks others already took with stats keeps that lock for real claims.
      const claimed = exists(path.join(this.layout.pending, name)) ? this.tryClaim(agent, name) : undefined;
      if (claimed) {
        this.misses = 0;
        this.inARow = 0;
        return claimed;
      }
      this.misses++;
      // Walking into a stretch another agent took: a few steps, then jump elsewhere.
      if (++this.inARow >= 4) this.pos = -1;
    }
  }

  private inARow = 0;
  private misses = 0;
  private pos = -1;

  /** How many entries at the head (same priority) a pick may land on. */
  private window(): number {
    const rank = this.cache[0]!.charAt(0);
    let n = 1;
    while (n < this.cache.length && this.cache[n]!.charAt(0) === rank) n++;
    return n <= 64 ? Math.min(n, 32) : Math.floor(n / 2);
  }

  /** Whether pending/ holds a task this agent could claim now (a look, no claim). */
  hasEligiblePending(agent: string, capabilities: readonly string[]): boolean {
    return listDir(this.layout.pending).some((n) => {
      const q = parseQueueFileName(n);
      return !q || eligible(q, agent, capabilities);
    });
  }

  private rescan(agent: string, capabilities: readonly string[]): void {
    const names = listDir(this.layout.pending);
    const mine: string[] = [];
    for (const n of names) {
      const q = parseQueueFileName(n);
      // Files that are not queue names are claimed by whoever sees them, then failed with the reason.
      if (!q || eligible(q, agent, capabilities)) mine.push(n);
    }
    mine.sort();
    this.cache = mine;
    this.cacheAt = Date.now();
  }

  private claimedDirChecked = false;

  /** One rename decides who owns a task. */
  tryClaim(agent: string, name: string): ClaimedTask | undefined {
    const from = path.join(this.layout.pending, name);
    const to = path.join(this.layout.claimed(agent), name);
    try {
      fs.renameSync(from, to);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      if (!this.claimedDirChecked) {
        if (!exists(this.layout.claimed(agent)))
          throw new Error(`claimed dir ${this.layout.claimed(agent)} does not exist`);
        this.claimedDirChecked = true;
      }
      // NFS replays a retransmitted rename and reports ENOENT although it succeeded the first
      // time: then the file is in our claimed dir and it is ours.
      if (!exists(to)) return undefined;
    }
    return this.loadClaimed(agent, name);
  }

  loadClaimed(agent: string, name: string): ClaimedTask {
    const file = path.join(this.layout.claimed(agent), name);
    const queueName = parseQueueFileName(name) ?? {
      priority: DEFAULT_PRIORITY,
      id: "",
      target: { kind: "any" as const },
      attempts: 0,
    };
    let raw = "";
    let record: ClaimedTask["record"];
    try {
      raw = fs.readFileSync(file, "utf8");
      if (!parseQueueFileName(name))
        throw new Error(`"${name}" is not a queue file name (queue tasks with \`agentctl task add\`)`);
      const r = validateTaskRecord(JSON.parse(raw));
      if (r.id !== queueName.id) throw new Error(`task id ${r.id} does not match its file name ${name}`);
      record = r;
    } catch (err) {
      const msg = err instanceof SyntaxError ? `malformed JSON: ${err.message}` : (err as Error).message;
      record = { error: msg, raw };
    }
    return { name, queueName, file, claimedAt: new Date().toISOString(), record };
  }

  // ---------------------------------------------------------------- transitions (owner)

  /** Rewrite a claimed task's file in place (only its owner does this). */
  rewriteClaimed(c: ClaimedTask, record: TaskRecord): void {
    writeJsonAtomic(c.file, record);
  }

  /**
   * Finish a claimed task: final content first (in place), then one rename into done/ or failed/.
   * Returns false when the task was no longer ours (its lease was taken by the janitor).
   */
  finish(c: ClaimedTask, status: "done" | "failed", record: TaskRecord): boolean {
    if (!exists(c.file)) return false;
    this.rewriteClaimed(c, { ...record, status });
    const dir = status === "done" ? this.layout.done : this.layout.failed;
    try {
      fs.renameSync(c.file, path.join(dir, `${record.id}.json`));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
    fsyncDir(dir);
    return true;
  }

  /** A claimed file that could not be read as a task: keep its bytes, in failed/, with the reason. */
  failUnreadable(c: ClaimedTask, agent: string, error: string, raw: string): string {
    const base =
      c.queueName.id || `bad-${Date.now()}-${c.name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/\.json$/, "")}`;
    const target = path.join(this.layout.failed, `${base}.json`);
    const now = new Date().toISOString();
    writeJsonAtomic(target, {
      id: base,
      title: "(unreadable task file)",
      status: "failed",
      claimed_by: agent,
      claimed_at: c.claimedAt,
      completed_at: now,
      original_name: c.name,
      last_error: error,
      result: { outcome: "failed", error } satisfies TaskResult,
      raw,
    });
    try {
      fs.unlinkSync(c.file);
    } catch {
      /* gone already */
    }
    return target;
  }

  /**
   * Hand a claimed task back to pending (SIGTERM, transient failure): rewrite in place, then one
   * rename, with the attempt count in the new name.
   */
  requeue(c: ClaimedTask, record: TaskRecord, attempts: number): boolean {
    if (!exists(c.file)) return false;
    this.rewriteClaimed(c, { ...record, status: "pending", attempts, claimed_by: null, claimed_at: null });
    const name = queueFileName({ ...c.queueName, attempts });
    try {
      fs.renameSync(c.file, path.join(this.layout.pending, name));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
    return true;
  }

  /**
   * Take a finished task back from done/ into this agent's claimed dir (one rename: if several
   * try, one wins; the others get undefined), to run it again. Used when a proposal that a task
   * was finished from (as `proposed`) turns out not to apply. A crash after the rename leaves an
   * ordinary claim, which goes back to pending like any other.
   */
  reopenDone(agent: string, taskId: string, only: (r: TaskRecord) => boolean): ClaimedTask | undefined {
    const from = path.join(this.layout.done, `${taskId}.json`);
    let r: TaskRecord;
    try {
      r = validateTaskRecord(readJsonFile(from));
    } catch {
      return undefined;
    }
    if (!only(r)) return undefined;
    const name = queueFileName({ priority: r.priority, id: r.id, target: targetOf(r), attempts: r.attempts });
    try {
      fs.renameSync(from, path.join(this.layout.claimed(agent), name));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw err;
    }
    return this.loadClaimed(agent, name);
  }

  /**
   * An operator's retry of a finished task: the record is rewritten in place (with the re-run
   * counted), then moved into pending/ with one rename. Returns false when the task left done/
   * in between.
   */
  retryDone(record: TaskRecord): boolean {
    const from = path.join(this.layout.done, `${record.id}.json`);
    if (!exists(from)) return false;
    writeJsonAtomic(from, record);
    const name = queueFileName({
      priority: record.priority,
      id: record.id,
      target: targetOf(record),
      attempts: record.attempts,
    });
    try {
      fs.renameSync(from, path.join(this.layout.pending, name));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
    fsyncDir(this.layout.pending);
    return true;
  }

  // ---------------------------------------------------------------- janitor

  /**
   * Return the tasks of agents whose lease ran out (`isDead(agent)`) to pending, attempts + 1,
   * with one rename each (several janitors may race: exactly one rename wins). A leftover whose
   * task already reached done/ or failed/ is removed. Also removes stale temporary files.
   */
  reclaimExpired(
    isDead: (agent: string) => boolean,
    onReturn: (agent: string, name: string) => void,
    selfAgent?: string,
  ): number {
    let n = 0;
    for (const agent of listDir(this.layout.claimedRoot)) {
      if (agent === selfAgent || !isDead(agent)) continue;
      n += this.returnAll(agent, onReturn);
    }
    this.sweepTmp();
    return n;
  }

  /** Return every task in one agent's claimed dir to pending (attempts + 1). */
  returnAll(agent: string, onReturn: (agent: string, name: string) => void): number {
    let n = 0;
    for (const name of listDir(this.layout.claimed(agent))) {
      const from = path.join(this.layout.claimed(agent), name);
      const q = parseQueueFileName(name);
      if (
        q &&
        (exists(path.join(this.layout.done, `${q.id}.json`)) || exists(path.join(this.layout.failed, `${q.id}.json`)))
      ) {
        try {
          fs.unlinkSync(from);
        } catch {
          /* someone else did */
        }
        continue;
      }
      const to = path.join(this.layout.pending, q ? queueFileName({ ...q, attempts: q.attempts + 1 }) : name);
      try {
        fs.renameSync(from, to);
        n++;
        onReturn(agent, name);
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
      }
    }
    return n;
  }

  private sweepTmp(maxAgeMs = 3600_000): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.layout.tasksTmp);
    } catch {
      return;
    }
    const now = Date.now();
    for (const n of names) {
      const p = path.join(this.layout.tasksTmp, n);
      try {
        if (now - fs.lstatSync(p).mtimeMs > maxAgeMs) fs.rmSync(p, { recursive: true, force: true });
      } catch {
        /* raced */
      }
    }
  }

  // ---------------------------------------------------------------- reading (agentctl)

  list(state?: TaskStatus): ListedTask[] {
    const out: ListedTask[] = [];
    const states: TaskStatus[] = state ? [state] : ["pending", "claimed", "done", "failed"];
    for (const s of states) {
      if (s === "claimed") {
        for (const agent of listDir(this.layout.claimedRoot)) {
          for (const n of listDir(this.layout.claimed(agent))) {
            const t = this.readListed(path.join(this.layout.claimed(agent), n), "claimed", agent);
            if (t) out.push(t);
          }
        }
      } else {
        const dir = s === "pending" ? this.layout.pending : s === "done" ? this.layout.done : this.layout.failed;
        for (const n of listDir(dir)) {
          const t = this.readListed(path.join(dir, n), s);
          if (t) out.push(t);
        }
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  find(id: string): ListedTask | undefined {
    return this.list().find((t) => t.id === id);
  }

  private readListed(file: string, status: TaskStatus, claimedBy?: string): ListedTask | undefined {
    const name = path.basename(file);
    const q = parseQueueFileName(name);
    let st: fs.Stats;
    let raw: unknown;
    try {
      st = fs.statSync(file);
      raw = readJsonFile(file);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined; // moved while we looked
      return brokenListing(file, status, name, (err as Error).message);
    }
    let r: TaskRecord;
    try {
      r = validateTaskRecord(raw);
    } catch (err) {
      if (
        status === "failed" &&
        typeof raw === "object" &&
        raw !== null &&
        typeof (raw as { id?: unknown }).id === "string"
      ) {
        // An unreadable task kept in failed/ with its reason (see failUnreadable).
        const o = raw as Record<string, unknown>;
        return {
          ...brokenListing(file, status, name, String(o.last_error ?? "")),
          ...(o as object),
          file,
        } as ListedTask;
      }
      return brokenListing(file, status, name, (err as Error).message);
    }
    r.status = status;
    if (q) r.attempts = Math.max(r.attempts, q.attempts);
    if (status === "claimed") {
      r.claimed_by = claimedBy ?? null;
      // Claiming is a bare rename: the rename's ctime is the claim time.
      r.claimed_at = r.claimed_at ?? st.ctime.toISOString();
    }
    return { ...r, file };
  }
}

function brokenListing(file: string, status: TaskStatus, name: string, error: string): ListedTask {
  return {
    id: parseQueueFileName(name)?.id ?? name.replace(/\.json$/, ""),
    title: "(unreadable task file)",
    description: "",
    instruction_file: null,
    context_files: [],
    status,
    priority: DEFAULT_PRIORITY,
    agent: null,
    capability: null,
    attempts: 0,
    max_attempts: 0,
    claimed_by: null,
    claimed_at: null,
    completed_at: null,
    created_at: "",
    created_by: "",
    last_error: error,
    result: null,
    history: [],
    file,
  };
}
