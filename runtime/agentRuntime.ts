import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadAgentProgram, type AgentProgram } from "./agentProgram.js";
import { exists, listDir } from "./fsAtomic.js";
import { git, gitEnv, gitTry, readHead, run } from "./git.js";
import { proposalIdForTask, randomHex } from "./ids.js";
import type { AgentLogger } from "./log.js";
import { readDecision, type Decision } from "./proposals/decision.js";
import { parseNumstat, ProposalStore, type Proposal } from "./proposals/proposal.js";
import { TaskQueue, type ClaimedTask } from "./queue/taskQueue.js";
import type { TaskRecord, TaskResult } from "./queue/taskRecord.js";
import { resolveRunAs, runProgram, type ProgramRun, type RunAs } from "./sandbox.js";
import type { RuntimeSettings } from "./settings.js";
import { ensureSharedLayout, sharedLayout, type SharedLayout } from "./sharedLayout.js";
import { leaseAlive, readStatus, writeStatus, type AgentStatus } from "./status.js";

/** Exit code by which a program says "try this task again later" (sysexits EX_TEMPFAIL). */
export const EXIT_RETRY = 75;

/** Serializes everything that reads or writes /app's history (clone base, apply, revert). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

interface AgentRunOutcome {
  run: ProgramRun;
  base: string;
  patch: string;
  numstat: string;
}

class RuntimeError extends Error {}

/**
 * One agent's loop: claim a task, run the agent program on a scratch copy of /app, turn its
 * change into a proposal, apply approved proposals to /app as commits, roll back a change that
 * breaks the program. Two loops share the process: tasks, and decisions (so an approval is
 * applied promptly even while a long task runs).
 */
export class AgentRuntime {
  readonly layout: SharedLayout;
  readonly queue: TaskQueue;
  readonly proposals: ProposalStore;
  private runAs: RunAs | undefined;
  private readonly appLock = new Mutex();
  private stopping = false;
  private stopController = new AbortController();
  private wakeTasks: (() => void) | undefined;
  private wakeDecisions: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private watchers: fs.FSWatcher[] = [];
  /** Own proposals waiting for a decision. */
  private waiting = new Set<string>();
  /** Invalid decision files already reported (by proposal id + content error). */
  private reportedInvalid = new Map<string, string>();
  private program: AgentProgram | undefined;
  private programError: string | undefined;
  private backoffUntil = 0;
  private runErrors = 0;
  private status: AgentStatus;

  constructor(readonly s: RuntimeSettings, readonly log: AgentLogger) {
    this.layout = sharedLayout(s.sharedDir);
    this.queue = new TaskQueue(this.layout);
    this.proposals = new ProposalStore(this.layout);
    const now = new Date().toISOString();
    this.status = {
      agent: s.agentName, pid: process.pid, hostname: os.hostname(), state: "starting", started_at: now, heartbeat_at: now,
      approval_required: s.approvalRequired, capabilities: s.capabilities, privilege_separation: false, run_as: null,
      current_task: null, current_task_started_at: null, last_error: null, last_error_at: null, consecutive_failures: 0,
      probation: null, tasks_done: 0, tasks_failed: 0, lease_seconds: s.leaseSeconds,
    };
  }

  // ================================================================ start-up

  /** Check every directory and setting; throws an Error naming what is wrong. */
  async prepare(): Promise<void> {
    const s = this.s;
    for (const [what, dir, env] of [["app dir", s.appDir, "AGENT_APP_DIR"], ["decisions dir", s.decisionsDir, "AGENT_DECISIONS_DIR"]] as const) {
      let st: fs.Stats;
      try { st = fs.statSync(dir); } catch { throw new RuntimeError(`${what} ${dir} does not exist (set ${env})`); }
      if (!st.isDirectory()) throw new RuntimeError(`${what} ${dir} is not a directory (${env})`);
    }
    try { fs.readdirSync(s.decisionsDir); } catch (err) { throw new RuntimeError(`decisions dir ${s.decisionsDir} is not readable: ${(err as Error).message}`); }
    const probe = path.join(s.appDir, `.agent-runtime-probe-${process.pid}`);
    try {
      fs.writeFileSync(probe, "");
      fs.unlinkSync(probe);
    } catch (err) {
      throw new RuntimeError(`app dir ${s.appDir} is not writable by the runtime: ${(err as Error).message}`);
    }
    ensureSharedLayout(this.layout, s.agentName);
    const prev = readStatus(this.layout, s.agentName);
    if (prev) {
      this.status.probation = prev.probation ?? null;
      this.status.tasks_done = prev.tasks_done ?? 0;
      this.status.tasks_failed = prev.tasks_failed ?? 0;
    }
    this.writeStatus();
    this.log.open();

    if (process.getuid?.() === 0) {
      this.runAs = resolveRunAs(s.runAs);
      this.status.privilege_separation = true;
      this.status.run_as = `${this.runAs.name} (uid ${this.runAs.uid}, gid ${this.runAs.gid})`;
      this.log.info("privilege-separation", { run_as: this.runAs.name, uid: this.runAs.uid, gid: this.runAs.gid });
    } else {
      this.log.warn("privilege-separation-off", {
        message: `the runtime is not root (uid ${process.getuid?.()}): agent programs run as this same user, so they could write the app dir and the shared state`,
      });
    }
    try {
      fs.mkdirSync(s.scratchDir, { recursive: true, mode: 0o1777 });
      if (this.runAs && (fs.statSync(s.scratchDir).mode & 0o1777) !== 0o1777) fs.chmodSync(s.scratchDir, 0o1777);
    } catch (err) {
      throw new RuntimeError(`scratch dir ${s.scratchDir} cannot be created: ${(err as Error).message} (AGENT_SCRATCH_DIR)`);
    }
    await this.ensureRepo();
    this.reloadProgram();
    await this.cleanScratch();
  }

  /** /app is a git repo whose history is the audit trail; create it if missing. */
  private async ensureRepo(): Promise<void> {
    const app = this.s.appDir;
    if (!exists(path.join(app, ".git"))) {
      await git(app, ["init", "-q"]);
      await git(app, ["add", "-A"]);
      await git(app, ["commit", "-q", "--allow-empty", "-m", "Initial import of the agent's code\n\nApproved-By: operator"]);
      this.log.info("repo-created", { app_dir: app });
    }
    // A runtime killed while applying leaves lock files and a half-written working tree: that is
    // not an outside change, it is discarded, and the approved proposal is applied again.
    const leftovers = ["index.lock", "HEAD.lock", "REVERT_HEAD", "MERGE_HEAD"].filter((f) => exists(path.join(app, ".git", f)));
    for (const f of leftovers) if (f.endsWith(".lock")) fs.rmSync(path.join(app, ".git", f), { force: true });
    for (const ref of listDir(path.join(app, ".git", "refs", "heads"))) {
      if (ref.endsWith(".lock")) { fs.rmSync(path.join(app, ".git", "refs", "heads", ref), { force: true }); leftovers.push(ref); }
    }
    const midApply = this.proposals.list({ agent: this.s.agentName }).filter((p) => p.state === "approved").map((p) => p.id);
    if (leftovers.length > 0 || midApply.length > 0) {
      const dirty = (await git(app, ["status", "--porcelain", "--untracked-files=all"])).trim();
      if (dirty !== "") {
        await git(app, ["reset", "-q", "--hard", "HEAD"]);
        await git(app, ["clean", "-q", "-fd"]);
        this.log.warn("interrupted-apply-discarded", { leftovers, proposals: midApply, files: dirty.split("\n").length });
      }
    }
    await this.commitOutsideChanges("start");
  }

  /**
   * Changes made to /app outside the runtime (code sync, a hand edit) are committed as they are,
   * so working copies start from the code that is really there and history stays complete.
   */
  private async commitOutsideChanges(when: string): Promise<void> {
    const app = this.s.appDir;
    const dirty = await git(app, ["status", "--porcelain", "--untracked-files=all"]);
    if (dirty.trim() === "") return;
    await git(app, ["add", "-A"]);
    await git(app, ["commit", "-q", "--allow-empty", "-m", `Changes made outside the runtime (found at ${when})\n\nApproved-By: operator`]);
    this.log.info("outside-changes-committed", { files: dirty.trim().split("\n").length });
  }

  private reloadProgram(): void {
    try {
      this.program = loadAgentProgram(this.s.appDir);
      if (this.programError) this.log.info("agent-program-ok", {});
      this.programError = undefined;
    } catch (err) {
      this.program = undefined;
      const msg = (err as Error).message;
      if (msg !== this.programError) this.log.error("agent-program-invalid", { error: msg });
      this.programError = msg;
      this.setError(msg);
    }
  }

  /** Remove working copies left by an earlier run of this agent (they belong to the agent user). */
  private async cleanScratch(): Promise<void> {
    const prefix = `${this.s.agentName}--`;
    for (const n of listDir(this.s.scratchDir)) {
      if (n.startsWith(prefix)) await this.removeScratch(path.join(this.s.scratchDir, n));
    }
  }

  // ================================================================ main

  async start(): Promise<void> {
    await this.recover();
    this.status.state = "running";
    this.writeStatus();
    this.log.info("started", {
      approval_required: this.s.approvalRequired, capabilities: this.s.capabilities, app_dir: this.s.appDir,
      shared_dir: this.s.sharedDir, decisions_dir: this.s.decisionsDir, scratch_dir: this.s.scratchDir, pid: process.pid,
    });
    this.timers.push(setInterval(() => this.heartbeat(), this.s.heartbeatSeconds * 1000));
    const janitorEvery = Math.max(1000, Math.floor((this.s.leaseSeconds * 1000) / 3));
    this.timers.push(setInterval(() => this.janitor(), janitorEvery));
    this.janitor();
    this.watch(this.layout.pending, () => this.wake("tasks"));
    this.watch(this.s.decisionsDir, () => this.wake("decisions"));
    await Promise.all([this.taskLoop(), this.decisionLoop()]);
    await this.cleanups;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) w.close();
    this.status.state = "stopped";
    this.status.current_task = null;
    this.writeStatus();
    this.log.info("stopped", {});
    this.log.close();
  }

  /** SIGTERM: finish (or, after the grace period, hand back) the current task, then exit. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.status.state = "stopping";
    this.writeStatus();
    this.log.info("stopping", { grace_seconds: this.s.stopGraceSeconds });
    const t = setTimeout(() => this.stopController.abort(), this.s.stopGraceSeconds * 1000);
    t.unref();
    this.wake("tasks");
    this.wake("decisions");
  }

  private watch(dir: string, onChange: () => void): void {
    try {
      const w = fs.watch(dir, { persistent: false }, onChange);
      w.on("error", () => { /* polling still runs */ });
      this.watchers.push(w);
    } catch {
      // NFS and some overlay setups have no change notification: the poll interval covers them.
    }
  }

  /** A wake-up that came while the loop was busy: its next sleep returns at once. */
  private wokenWhileBusy = { tasks: false, decisions: false };

  private wake(which: "tasks" | "decisions"): void {
    const fn = which === "tasks" ? this.wakeTasks : this.wakeDecisions;
    if (fn) fn();
    else this.wokenWhileBusy[which] = true;
  }

  private sleep(ms: number, which: "tasks" | "decisions"): Promise<void> {
    if (this.wokenWhileBusy[which]) {
      this.wokenWhileBusy[which] = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (which === "tasks") this.wakeTasks = undefined; else this.wakeDecisions = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      if (which === "tasks") this.wakeTasks = done; else this.wakeDecisions = done;
    });
  }

  private async recover(): Promise<void> {
    // Tasks an earlier run of this agent held when it died go back to the queue (attempts + 1);
    // if one already has a proposal, whoever claims it next finishes it without running it again.
    const n = this.queue.returnAll(this.s.agentName, (_a, name) => this.log.warn("task-returned", { name, reason: "left claimed by an earlier run of this agent" }));
    if (n > 0) this.log.info("recovered-claims", { returned: n });
    for (const p of this.proposals.list({ agent: this.s.agentName })) {
      if (p.state === "pending") this.waiting.add(p.id);
      if (p.state === "approved") {
        // Decided, then the runtime died before the commit was recorded: finish (never twice).
        this.waiting.add(p.id);
      }
    }
    if (this.waiting.size > 0) this.log.info("proposals-waiting", { count: this.waiting.size });
  }

  private heartbeat(): void {
    this.writeStatus();
  }

  private writeStatus(): void {
    this.status.heartbeat_at = new Date().toISOString();
    try {
      writeStatus(this.layout, this.status);
    } catch (err) {
      process.stderr.write(`agent-runtime: cannot write status: ${(err as Error).message}\n`);
    }
  }

  private setError(msg: string | null): void {
    this.status.last_error = msg;
    this.status.last_error_at = msg ? new Date().toISOString() : this.status.last_error_at;
  }

  private janitor(): void {
    try {
      this.queue.reclaimExpired(
        (agent) => !leaseAlive(safeStatus(this.layout, agent), this.s.leaseSeconds),
        (agent, name) => this.log.warn("lease-expired", { owner: agent, name, action: "returned to pending" }),
        this.s.agentName,
      );
    } catch (err) {
      this.log.error("janitor-failed", { error: (err as Error).message });
    }
  }

  // ================================================================ task loop

  private async taskLoop(): Promise<void> {
    while (!this.stopping) {
      const wait = this.backoffUntil - Date.now();
      if (wait > 0) {
        await this.sleep(Math.min(wait, this.s.pollMs), "tasks");
        continue;
      }
      if (!this.program) {
        this.reloadProgram();
        if (!this.program) {
          await this.sleep(this.s.pollMs, "tasks");
          continue;
        }
      }
      let claimed: ClaimedTask | undefined;
      try {
        claimed = this.queue.claimNext(this.s.agentName, this.s.capabilities);
      } catch (err) {
        this.log.error("claim-failed", { error: (err as Error).message });
        this.setError(`claim failed: ${(err as Error).message}`);
        await this.sleep(this.s.pollMs, "tasks");
        continue;
      }
      if (!claimed) {
        await this.sleep(this.s.pollMs, "tasks");
        continue;
      }
      try {
        await this.processTask(claimed);
      } catch (err) {
        // Unexpected (e.g. the shared dir vanished): the task stays claimed, the janitor of
        // another agent or our next start returns it. Log and go on.
        this.log.error("task-error", { name: claimed.name, error: (err as Error).stack ?? String(err) });
        this.setError(`task ${claimed.queueName.id}: ${(err as Error).message}`);
        await this.sleep(this.s.pollMs, "tasks");
      } finally {
        this.status.current_task = null;
        this.status.current_task_started_at = null;
        this.writeStatus();
      }
    }
  }

  private async processTask(c: ClaimedTask): Promise<void> {
    const agent = this.s.agentName;
    if ("error" in c.record) {
      const where = this.queue.failUnreadable(c, agent, c.record.error, c.record.raw);
      this.log.error("task-malformed", { name: c.name, error: c.record.error, kept_at: where });
      this.status.tasks_failed++;
      return;
    }
    const record: TaskRecord = { ...c.record, attempts: Math.max(c.record.attempts, c.queueName.attempts), claimed_by: agent, claimed_at: c.claimedAt };
    const maxAttempts = record.max_attempts > 0 ? record.max_attempts : this.s.maxAttempts;
    const now = () => new Date().toISOString();

    // Already turned into a proposal by an earlier run (that died before finishing the task)?
    const pid = proposalIdForTask(record.id);
    const existing = this.proposals.get(pid);
    if (existing) {
      if (existing.agent === agent && (existing.state === "pending" || existing.state === "approved")) this.waiting.add(pid);
      this.finishTask(c, "done", record, {
        outcome: existing.state === "applied" ? "applied" : existing.state === "conflict" ? "conflict" : existing.state === "rejected" ? "rejected" : "proposed",
        proposal_id: pid, ...(existing.commit ? { commit: existing.commit } : {}),
      }, "finished from its existing proposal");
      return;
    }
    if (record.attempts >= maxAttempts) {
      this.finishTask(c, "failed", record, { outcome: "failed", error: `gave up after ${record.attempts} attempts; last error: ${record.last_error ?? "its agent stopped heartbeating while running it"}` });
      return;
    }

    this.status.current_task = record.id;
    this.status.current_task_started_at = now();
    this.writeStatus();
    this.log.info("task-claimed", { task: record.id, title: record.title, attempt: record.attempts + 1 });
    record.history = [...record.history, { at: now(), event: "claimed", agent }];

    let outcome: AgentRunOutcome;
    try {
      outcome = await this.runAgent(record, this.program!);
    } catch (err) {
      const msg = (err as Error).message;
      this.log.error("run-error", { task: record.id, error: msg });
      this.setError(msg);
      this.backoff(++this.runErrors);
      this.transientFailure(c, record, `runtime could not run the task: ${msg}`);
      return;
    }
    const r = outcome.run;
    this.runErrors = 0;
    if (r.aborted) {
      // Shutdown: hand the task back untouched (this was not the task's fault).
      record.history.push({ at: now(), event: "handed-back", agent, detail: "runtime stopping" });
      this.queue.requeue(c, record, record.attempts);
      this.log.info("task-handed-back", { task: record.id });
      return;
    }
    if (r.timedOut || r.code !== 0) {
      const why = r.timedOut
        ? `timed out after ${this.timeoutSeconds()} s`
        : `agent program exited with ${r.code ?? r.signal}`;
      const tail = lastLines(r.outputTail, 5);
      const detail = tail ? `${why}: ${tail}` : why;
      this.programFailed(detail);
      if (r.timedOut || r.code === EXIT_RETRY) {
        this.transientFailure(c, record, detail);
      } else {
        this.finishTask(c, "failed", { ...record, attempts: record.attempts + 1 }, { outcome: "failed", exit_code: r.code, error: detail, output_tail: r.outputTail.slice(-2000) });
      }
      await this.afterFailure();
      return;
    }
    await this.programSucceeded();
    if (outcome.patch.trim() === "") {
      this.finishTask(c, "done", record, { outcome: "no-changes", exit_code: 0, output_tail: r.outputTail.slice(-2000) });
      return;
    }
    if (Buffer.byteLength(outcome.patch) > this.s.patchMaxBytes) {
      this.finishTask(c, "failed", record, { outcome: "failed", error: `the change is larger than AGENT_PATCH_MAX_BYTES (${this.s.patchMaxBytes})` });
      return;
    }
    const created = this.proposals.create({
      id: pid, task_id: record.id, task_title: record.title, agent, base_commit: outcome.base, created_at: now(),
      approval_required: this.s.approvalRequired, state: "pending", diffstat: parseNumstat(outcome.numstat),
      patch_file: path.posix.join("proposals", `${pid}.patch`), patch_bytes: Buffer.byteLength(outcome.patch),
      decided_by: null, decided_at: null, note: null, reason: null, commit: null, applied_at: null,
      rolled_back_at: null, rollback_commit: null, updated_at: now(),
    }, outcome.patch);
    let proposal = created.proposal;
    this.log.info("proposal-created", { proposal: pid, task: record.id, files: proposal.diffstat.files.length, added: proposal.diffstat.added, removed: proposal.diffstat.removed, approval_required: this.s.approvalRequired });
    if (!this.s.approvalRequired && proposal.state === "pending") {
      proposal = await this.decide(proposal, { proposal: pid, decision: "approve", by: "autonomous", at: now() });
    } else if (proposal.state === "pending") {
      this.waiting.add(pid);
    }
    const resultOutcome: TaskResult["outcome"] = proposal.state === "applied" || proposal.state === "conflict" || proposal.state === "rolled-back" ? proposal.state : "proposed";
    this.finishTask(c, "done", record, { outcome: resultOutcome, proposal_id: pid, exit_code: 0, ...(proposal.commit ? { commit: proposal.commit } : {}), output_tail: r.outputTail.slice(-2000) });
  }

  private finishTask(c: ClaimedTask, status: "done" | "failed", record: TaskRecord, result: TaskResult, note?: string): void {
    const now = new Date().toISOString();
    const final: TaskRecord = {
      ...record, status, result, completed_at: now, claimed_by: this.s.agentName, claimed_at: record.claimed_at ?? c.claimedAt,
      last_error: status === "failed" ? (result.error ?? record.last_error) : record.last_error,
      history: [...record.history, { at: now, event: status, agent: this.s.agentName, ...(note ? { detail: note } : {}) }],
    };
    const ok = this.queue.finish(c, status, final);
    if (!ok) {
      this.log.warn("lease-lost", { task: record.id, detail: "the task was returned to the queue while this agent held it" });
      return;
    }
    if (status === "done") this.status.tasks_done++; else this.status.tasks_failed++;
    this.log.log(status === "done" ? "info" : "error", status === "done" ? "task-done" : "task-failed", { task: record.id, ...result, output_tail: undefined });
  }

  private transientFailure(c: ClaimedTask, record: TaskRecord, error: string): void {
    const attempts = record.attempts + 1;
    const maxAttempts = record.max_attempts > 0 ? record.max_attempts : this.s.maxAttempts;
    if (attempts >= maxAttempts) {
      this.finishTask(c, "failed", { ...record, attempts }, { outcome: "failed", error: `gave up after ${attempts} attempts; last error: ${error}` });
      return;
    }
    const next: TaskRecord = { ...record, attempts, last_error: error, history: [...record.history, { at: new Date().toISOString(), event: "retry", agent: this.s.agentName, detail: error }] };
    this.queue.requeue(c, next, attempts);
    this.log.warn("task-retry", { task: record.id, attempts, error });
  }

  private programFailed(error: string): void {
    this.status.consecutive_failures++;
    this.setError(error);
    this.backoff(this.status.consecutive_failures);
    if (this.status.probation) this.status.probation.failures++;
  }

  /** Pause before the next claim: base, doubled per failure in a row, capped. */
  private backoff(failuresInARow: number): void {
    const delay = Math.min(this.s.backoffMaxMs, this.s.backoffBaseMs * 2 ** Math.min(failuresInARow - 1, 20));
    this.backoffUntil = Date.now() + delay;
  }

  private async programSucceeded(): Promise<void> {
    this.status.consecutive_failures = 0;
    this.backoffUntil = 0;
    if (this.status.probation) {
      this.log.info("change-confirmed", { proposal: this.status.probation.proposal_id, commit: this.status.probation.commit });
      this.status.probation = null;
    }
  }

  /** N failed runs in a row right after an applied change: revert that change. */
  private async afterFailure(): Promise<void> {
    const p = this.status.probation;
    const n = this.s.rollbackAfterFailures;
    if (!p || n === 0 || p.failures < n) return;
    const proposal = this.proposals.get(p.proposal_id);
    this.status.probation = null;
    if (proposal && proposal.state === "applied") {
      await this.appLock.run(() => this.rollback(proposal, `the agent program failed ${p.failures} runs in a row right after this change (last: ${this.status.last_error ?? "?"})`));
    }
  }

  private timeoutSeconds(): number {
    return this.s.taskTimeoutSeconds ?? this.program?.timeoutSeconds ?? 600;
  }

  // ================================================================ running the agent program

  /** Spawn something as the agent user (or as ourselves in development). */
  private asAgent(cmd: string, args: string[], cwd: string, home?: string) {
    return run(cmd, args, { cwd, env: gitEnv({}, home), ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}), maxStdout: this.s.patchMaxBytes + 1 });
  }

  /**
   * Remove a run's scratch dir: the agent user removes what it created (the runtime, without
   * CAP_DAC_OVERRIDE, cannot), then the runtime removes its own files and the dir.
   */
  private async removeScratch(dir: string): Promise<void> {
    if (this.runAs) {
      // Removes everything the agent made anywhere in the run's dir; the runtime's own files and
      // dirs are refused ("Operation not permitted", "Permission denied") and removed below.
      const r = await this.asAgent("rm", ["-rf", "--", dir], this.s.scratchDir);
      const other = r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.includes("Operation not permitted") && !l.includes("Permission denied"));
      if (other.length > 0) this.log.warn("scratch-cleanup", { dir, error: other.join("; ") });
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      this.log.warn("scratch-cleanup-failed", { dir, error: (err as Error).message });
    }
  }

  /**
   * With one agent per container the agent user owns nothing but this run's processes, so what
   * it still runs after the program exited escaped the program's process group (setsid, double
   * fork) and could tamper with later runs: kill it. `kill -KILL -1` run as that user reaches
   * exactly the processes it owns (Linux spares the caller). Only with AGENT_EXCLUSIVE_RUN_AS:
   * on a machine where the user is shared, this would kill other agents' programs too.
   */
  private async killLeftovers(runAs: RunAs, taskId: string): Promise<void> {
    await this.cleanups; // earlier runs' scratch cleanups run as the agent user too
    const r = await run("sh", ["-c", "kill -KILL -1 2>/dev/null; exit 0"], { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, uid: runAs.uid, gid: runAs.gid });
    if (r.code !== 0) this.log.warn("leftover-kill-failed", { task: taskId, code: r.code, signal: r.signal, error: r.stderr.trim() });
  }

  /** Cleanups run in the background, one after another; stop() waits for them. */
  private cleanups: Promise<void> = Promise.resolve();

  /**
   * The task's run, in `<scratch>/<agent>--<task>-<rand>/` (root-owned, sticky, world-writable,
   * like /tmp): the runtime writes task.json, instructions.md and context/ there (read-only for
   * the agent) and makes home/ and tmp/; the agent user clones /app into repo/, runs the program
   * there and prints the patch, which the runtime reads from its stdout. The runtime never runs
   * git inside the agent-controlled copy itself.
   */
  private async runAgent(task: TaskRecord, program: AgentProgram, command = program.command, timeoutS = this.timeoutSeconds(), atCommit?: string): Promise<AgentRunOutcome> {
    const s = this.s;
    const base = path.join(s.scratchDir, `${s.agentName}--${task.id}-${randomHex(6)}`);
    const work = path.join(base, "repo");
    const home = path.join(base, "home");
    const tmp = path.join(base, "tmp");
    try {
      for (const d of [base, home, tmp]) {
        fs.mkdirSync(d);
        fs.chmodSync(d, 0o1777);
      }
      fs.writeFileSync(path.join(base, "task.json"), JSON.stringify(task, null, 2) + "\n", { mode: 0o644 });
      const instructions = path.join(base, "instructions.md");
      if (task.instruction_file) fs.copyFileSync(path.join(this.layout.root, task.instruction_file), instructions);
      else fs.writeFileSync(instructions, `# ${task.title}\n\n${task.description}\n`);
      fs.chmodSync(instructions, 0o644);
      const ctx = path.join(base, "context");
      fs.mkdirSync(ctx, { mode: 0o755 });
      for (const f of task.context_files) {
        fs.cpSync(path.join(this.layout.root, f), path.join(ctx, path.basename(f)), { recursive: true });
      }
      for (const f of walk(ctx)) fs.chmodSync(f.path, f.dir ? 0o755 : 0o644);

      const cloneAtHead = async () => {
        const head = await readHead(s.appDir);
        const cl = await this.asAgent("git", [
          // The transport clears GIT_CONFIG_* for the serving side: trust /app there explicitly.
          "clone", "-q", "--shared", "--upload-pack", "git -c safe.directory='*' upload-pack", s.appDir, work,
        ], s.scratchDir, home);
        if (cl.code !== 0) throw new Error(`git clone of ${s.appDir} as ${this.runAs?.name ?? "this user"} failed: ${cl.stderr.trim()}`);
        return head;
      };
      let baseCommit = await this.appLock.run(cloneAtHead);
      if (atCommit && atCommit !== baseCommit) {
        const co = await this.asAgent("git", ["checkout", "-q", "--detach", atCommit], work, home);
        if (co.code !== 0) throw new Error(`git checkout ${atCommit} in the working copy failed: ${co.stderr.trim()}`);
        baseCommit = atCommit;
      }

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...program.env,
        HOME: home,
        TMPDIR: tmp,
        AGENT_NAME: s.agentName,
        AGENT_CAPABILITIES: s.capabilities.join(","),
        TASK_ID: task.id,
        TASK_TITLE: task.title,
        TASK_FILE: path.join(base, "task.json"),
        TASK_INSTRUCTIONS: instructions,
        TASK_CONTEXT_DIR: ctx,
        TASK_ATTEMPT: String(task.attempts + 1),
      };
      const started = Date.now();
      const run = await runProgram({
        command, cwd: work, env, timeoutMs: timeoutS * 1000, stdin: JSON.stringify(task) + "\n",
        maxOutputBytes: s.outputMaxBytes, signal: this.stopController.signal,
        ...(this.runAs ? { runAs: this.runAs } : {}),
        onLine: (stream, line) => this.log.info("program-output", { task: task.id, stream, line }),
      });
      this.log.info("program-exited", { task: task.id, code: run.code, signal: run.signal, timed_out: run.timedOut, ms: Date.now() - started, output_bytes: run.outputBytes });
      if (this.runAs && s.exclusiveRunAs) await this.killLeftovers(this.runAs, task.id);
      if (run.code !== 0 || run.aborted || run.timedOut) return { run, base: baseCommit, patch: "", numstat: "" };

      const add = await this.asAgent("git", ["add", "-A"], work, home);
      if (add.code !== 0) throw new Error(`git add in the working copy failed: ${add.stderr.trim()}`);
      // One call prints the numstat, then the patch.
      const diff = await this.asAgent("git", ["diff", "--cached", "--numstat", "--patch", "--binary", "--full-index", "--no-color", "--no-ext-diff", baseCommit], work, home);
      if (diff.code !== 0) throw new Error(`git diff in the working copy failed: ${diff.stderr.trim()}`);
      if (diff.truncated) throw new Error(`the change is larger than AGENT_PATCH_MAX_BYTES (${s.patchMaxBytes})`);
      const at = diff.stdout.search(/^diff --git /m);
      if (at < 0) return { run, base: baseCommit, patch: "", numstat: "" };
      return { run, base: baseCommit, patch: diff.stdout.slice(at), numstat: diff.stdout.slice(0, at) };
    } finally {
      this.cleanups = this.cleanups.then(() => this.removeScratch(base));
    }
  }

  // ================================================================ decisions and apply

  private async decisionLoop(): Promise<void> {
    while (!this.stopping) {
      for (const id of [...this.waiting]) {
        if (this.stopping) break;
        try {
          await this.checkDecision(id);
        } catch (err) {
          this.log.error("decision-error", { proposal: id, error: (err as Error).message });
          this.setError(`proposal ${id}: ${(err as Error).message}`);
        }
      }
      await this.sleep(this.s.pollMs, "decisions");
    }
  }

  private async checkDecision(id: string): Promise<void> {
    const p = this.proposals.get(id);
    if (!p || (p.state !== "pending" && p.state !== "approved")) {
      this.waiting.delete(id);
      return;
    }
    if (p.state === "approved") {
      // Recorded as approved before a crash: finish applying it.
      await this.decide(p, { proposal: id, decision: "approve", by: p.decided_by ?? "operator", at: p.decided_at ?? new Date().toISOString(), ...(p.note ? { note: p.note } : {}) });
      this.waiting.delete(id);
      return;
    }
    if (!p.approval_required) {
      // Proposed in autonomous mode, and the runtime died before applying it: apply it now.
      await this.decide(p, { proposal: id, decision: "approve", by: "autonomous", at: new Date().toISOString() });
      this.waiting.delete(id);
      return;
    }
    const d = readDecision(this.s.decisionsDir, id);
    if (d.kind === "none") return;
    if (d.kind === "invalid") {
      if (this.reportedInvalid.get(id) !== d.error) {
        this.log.error("decision-invalid", { proposal: id, error: d.error, effect: "ignored: the proposal keeps waiting" });
        this.reportedInvalid.set(id, d.error);
      }
      return;
    }
    await this.decide(p, d.decision);
    this.waiting.delete(id);
  }

  /** Apply an approval (exactly once) or record a rejection. */
  private async decide(p: Proposal, d: Decision): Promise<Proposal> {
    if (d.decision === "reject") {
      const next = this.proposals.update(p, { state: "rejected", decided_by: d.by, decided_at: d.at, reason: d.reason ?? null });
      this.log.info("proposal-rejected", { proposal: p.id, by: d.by, reason: d.reason });
      return next;
    }
    const applied = await this.appLock.run(async () => {
      // "approved" is recorded before the commit, so only a proposal found in that state can
      // already be committed (the runtime died in between); only then is history searched.
      const recovering = p.state === "approved";
      let cur = recovering ? p : this.proposals.update(p, { state: "approved", decided_by: d.by, decided_at: d.at, note: d.note ?? null });
      const t0 = Date.now();
      const result = await this.apply(cur, recovering);
      cur = this.proposals.update(cur, result);
      if (cur.state === "applied") {
        this.log.info("proposal-applied", { proposal: cur.id, commit: cur.commit, approved_by: d.by, decision_at: d.at, apply_ms: Date.now() - t0 });
        this.status.probation = { proposal_id: cur.id, commit: cur.commit!, failures: 0 };
        this.writeStatus();
      } else {
        this.log.warn("proposal-conflict", { proposal: cur.id, reason: cur.reason });
      }
      return cur;
    });
    // Outside the lock (the next approval need not wait for it), on exactly this commit.
    return applied.state === "applied" ? this.startCheck(applied) : applied;
  }

  private async apply(p: Proposal, recovering: boolean): Promise<Partial<Proposal>> {
    const app = this.s.appDir;
    const now = new Date().toISOString();
    if (recovering) {
      // Never twice: the commit's trailer is the record of truth (the state file may lag after a crash).
      const found = (await git(app, ["log", "--format=%H", "-F", `--grep=Proposal-Id: ${p.id}`, "HEAD"])).trim().split("\n")[0];
      if (found) return { state: "applied", commit: found, applied_at: p.applied_at ?? now };
    }
    let head = await readHead(app);
    const threeWay = head !== p.base_commit;
    if (threeWay) {
      // A failed 3-way apply leaves conflict state that is reset below: anything made outside the
      // runtime is committed first so that the reset cannot lose it. (A plain apply is atomic.)
      await this.commitOutsideChanges(`apply of ${p.id}`);
      head = await readHead(app);
    }
    const patchFile = this.layout.patchFile(p.id);
    const args = ["apply", "--index", "--whitespace=nowarn"];
    if (threeWay) args.push("--3way");
    const ap = await gitTry(app, [...args, patchFile]);
    if (ap.code !== 0) {
      if (threeWay) await gitTry(app, ["reset", "-q", "--hard", "HEAD"]);
      const why = head !== p.base_commit
        ? `its base ${p.base_commit.slice(0, 12)} is no longer HEAD (${head.slice(0, 12)}) and a 3-way apply failed: ${ap.stderr.trim()}`
        : `git apply failed: ${ap.stderr.trim()}`;
      return { state: "conflict", reason: why };
    }
    const title = p.task_title.split("\n")[0]!.slice(0, 72) || p.task_id;
    const msg = [
      title, "",
      `Change proposed by agent ${p.agent} for task ${p.task_id}${head !== p.base_commit ? ` (3-way applied onto ${head.slice(0, 12)}; proposed on ${p.base_commit.slice(0, 12)})` : ""}.`,
      "",
      `Proposal-Id: ${p.id}`,
      `Task-Id: ${p.task_id}`,
      `Approved-By: ${p.decided_by ?? "autonomous"}`,
      "",
    ].join("\n");
    await git(app, ["commit", "-q", "--allow-empty", "--no-verify", "-F", "-"], {
      input: msg,
      env: gitEnv({ GIT_AUTHOR_NAME: p.agent, GIT_AUTHOR_EMAIL: `${p.agent}@agent-fleet.invalid` }),
    });
    const commit = await readHead(app);
    return { state: "applied", commit, applied_at: new Date().toISOString(), reason: null };
  }

  /** The agent program must still start after a change: agent.json valid and its check passing. */
  private async startCheck(p: Proposal): Promise<Proposal> {
    let program: AgentProgram;
    try {
      program = loadAgentProgram(this.s.appDir);
    } catch (err) {
      const why = `after this change the agent program no longer starts: ${(err as Error).message}`;
      return this.appLock.run(() => this.rollback(p, why));
    }
    this.program = program;
    this.programError = undefined;
    if (!program.check) return p;
    const pseudo: TaskRecord = {
      id: p.task_id, title: `start check after ${p.id}`, description: "", instruction_file: null, context_files: [], status: "claimed",
      priority: 0, agent: null, capability: null, attempts: 0, max_attempts: 1, claimed_by: this.s.agentName, claimed_at: null,
      completed_at: null, created_at: "", created_by: "runtime", last_error: null, result: null, history: [],
    };
    const out = await this.runAgent(pseudo, program, program.check, program.checkTimeoutSeconds, p.commit!);
    if (out.run.code === 0) {
      this.log.info("start-check-passed", { proposal: p.id });
      return p;
    }
    const why = out.run.timedOut ? `timed out after ${program.checkTimeoutSeconds} s` : `exited with ${out.run.code ?? out.run.signal}`;
    const reason = `the start check (${program.check.join(" ")}) ${why} after this change: ${lastLines(out.run.outputTail, 5)}`;
    return this.appLock.run(() => this.rollback(p, reason));
  }

  /** Revert an applied proposal's commit (called with the app lock held). */
  private async rollback(p: Proposal, reason: string): Promise<Proposal> {
    const app = this.s.appDir;
    if (!p.commit) return p;
    this.log.error("rolling-back", { proposal: p.id, commit: p.commit, reason });
    const rv = await gitTry(app, ["revert", "--no-commit", p.commit]);
    if (rv.code !== 0) {
      await gitTry(app, ["revert", "--abort"]);
      await gitTry(app, ["reset", "-q", "--hard", "HEAD"]);
      this.log.error("rollback-failed", { proposal: p.id, error: rv.stderr.trim() });
      this.setError(`rollback of ${p.id} failed: ${rv.stderr.trim()}`);
      return p;
    }
    const msg = [
      `Roll back "${p.task_title.split("\n")[0]!.slice(0, 60)}"`, "", reason, "",
      `Reverts: ${p.commit}`, `Rolled-Back-Proposal: ${p.id}`, "Approved-By: runtime", "",
    ].join("\n");
    await git(app, ["commit", "-q", "--allow-empty", "--no-verify", "-F", "-"], { input: msg });
    const commit = (await git(app, ["rev-parse", "HEAD"])).trim();
    const next = this.proposals.update(p, { state: "rolled-back", reason, rolled_back_at: new Date().toISOString(), rollback_commit: commit });
    this.setError(`rolled back ${p.id}: ${reason}`);
    this.status.probation = null;
    this.reloadProgram();
    this.writeStatus();
    this.log.warn("rolled-back", { proposal: p.id, commit: p.commit, rollback_commit: commit, reason });
    return next;
  }
}

function safeStatus(l: SharedLayout, agent: string): AgentStatus | undefined {
  try {
    return readStatus(l, agent);
  } catch {
    return undefined;
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join(" | ");
}

function walk(dir: string): Array<{ path: string; dir: boolean }> {
  const out: Array<{ path: string; dir: boolean }> = [{ path: dir, dir: true }];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push({ path: p, dir: false });
  }
  return out;
}

