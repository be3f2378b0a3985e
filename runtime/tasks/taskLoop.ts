import * as path from "node:path";
import { DEFAULT_TIMEOUT_SECONDS, EXIT_RETRY } from "../agentProgram.js";
import { proposalIdForTask } from "../ids.js";
import type { AgentLogger } from "../log.js";
import { patchSha256 } from "../proposals/patchHash.js";
import { parseNumstat, type Proposal, type ProposalState, type ProposalStore } from "../proposals/proposal.js";
import type { ClaimedTask, TaskQueue } from "../queue/taskQueue.js";
import type { TaskRecord, TaskResult } from "../queue/taskRecord.js";
import { lastLines } from "../sandbox.js";
import type { RuntimeSettings } from "../settings.js";
import type { ControlState } from "../agentControl.js";
import type { AgentStatus } from "../status.js";
import { nextUtcDay, type UsageLedger } from "../usage/usageLedger.js";
import type { CurrentProgram } from "../agent/currentProgram.js";
import type { StatusBoard } from "../agent/statusBoard.js";
import { WakeableSleep } from "../agent/wakeableSleep.js";
import type { IdleScaleDown } from "../agent/idleScaleDown.js";
import type { ChangeApplier } from "../changes/changeApplier.js";
import type { RunOutcome, Workspace } from "../workspace/workspace.js";
import type { ProjectRepo } from "../projects/projectRepo.js";
import { Backoff } from "./backoff.js";

export interface TaskLoopOptions {
  settings: Pick<
    RuntimeSettings,
    | "agentName"
    | "capabilities"
    | "approvalRequired"
    | "pollMs"
    | "maxAttempts"
    | "backoffBaseMs"
    | "backoffMaxMs"
    | "rollbackAfterFailures"
    | "patchMaxBytes"
    | "taskTimeoutSeconds"
    | "projects"
    | "budgetUsdPerDay"
    | "budgetUsdPerTask"
    | "reviewApprovals"
  >;
  /** Idle scale-down (absent: the agent never idles out). */
  idle?: IdleScaleDown;
  /** The shared projects this agent works on, by name. */
  projects?: ReadonlyMap<string, ProjectRepo>;
  queue: TaskQueue;
  proposals: ProposalStore;
  program: CurrentProgram;
  workspace: Workspace;
  changes: ChangeApplier;
  /** Where a proposal that waits for an operator's decision is handed over. */
  awaitDecision: (proposalId: string) => void;
  /** The operator's switches for this agent (control/<agent>.json), read before every claim. */
  control: () => ControlState;
  /** This agent's usage ledger: every run's reported usage, and today's total for the daily budget. */
  ledger: UsageLedger;
  board: StatusBoard;
  log: AgentLogger;
}

/**
 * Claims tasks one at a time, runs the agent program on each in a workspace, and turns the
 * outcome into the task's result: a proposal (applied at once in autonomous mode), a retry, or a
 * failure. Failures in a row pause the loop (backoff) and count against the change on probation.
 */
export class TaskLoop {
  private readonly pause = new WakeableSleep();
  private readonly backoff: Backoff;
  private stopping = false;
  /** Runs in a row that the runtime itself could not carry out (not the program's fault). */
  private runErrors = 0;
  /** The control file's last error, reported once per change. */
  private controlError: string | undefined;
  /** The current task's run usage, added to its result (only to that task's: see finishTask). */
  private runUsage: Pick<TaskResult, "usage" | "usage_error"> = {};
  private runUsageTask: string | undefined;

  constructor(private readonly o: TaskLoopOptions) {
    this.backoff = new Backoff(o.settings.backoffBaseMs, o.settings.backoffMaxMs);
  }

  /**
   * Tasks an earlier run of this agent held when it died go back to the queue (attempts + 1);
   * if one already has a proposal, whoever claims it next finishes it without running it again.
   */
  recoverClaims(): void {
    const n = this.o.queue.returnAll(this.o.settings.agentName, (_a, name) =>
      this.o.log.warn("task-returned", { name, reason: "left claimed by an earlier run of this agent" }),
    );
    if (n > 0) this.o.log.info("recovered-claims", { returned: n });
  }

  /** The queue changed. */
  wake(): void {
    this.pause.wake();
  }

  /** No new claims; the current task finishes (or is handed back when its run is aborted). */
  stop(): void {
    this.stopping = true;
    this.pause.wake();
  }

  async run(): Promise<void> {
    const { settings: s, queue, program, board, log } = this.o;
    while (!this.stopping) {
      const wait = this.backoff.remainingMs();
      if (wait > 0) {
        await this.pause.sleep(Math.min(wait, s.pollMs));
        continue;
      }
      if (this.held()) {
        // A paused or over-budget agent is held, not idle: it stays up and reports why.
        this.o.idle?.busy();
        await this.pause.sleep(s.pollMs);
        continue;
      }
      if (!program.program) {
        program.reload();
        if (!program.program) {
          await this.pause.sleep(s.pollMs);
          continue;
        }
      }
      const idle = this.o.idle;
      if (idle?.idle) {
        // Idle: claim nothing (a stop must never find a task in hand) unless one is claimable
        // before the stop comes; then the marker goes first, so the waker leaves the agent up.
        if (!queue.hasEligiblePending(s.agentName, s.capabilities)) {
          await this.pause.sleep(s.pollMs);
          continue;
        }
        idle.leave();
      }
      let claimed: ClaimedTask | undefined;
      try {
        claimed = queue.claimNext(s.agentName, s.capabilities);
      } catch (err) {
        log.error("claim-failed", { error: (err as Error).message });
        board.setError(`claim failed: ${(err as Error).message}`);
        await this.pause.sleep(s.pollMs);
        continue;
      }
      if (!claimed) {
        idle?.nothingToClaim();
        await this.pause.sleep(s.pollMs);
        continue;
      }
      idle?.busy();
      try {
        await this.processTask(claimed);
      } catch (err) {
        // Unexpected (e.g. the shared dir vanished): the task stays claimed, the janitor of
        // another agent or our next start returns it. Log and go on.
        log.error("task-error", { name: claimed.name, error: (err as Error).stack ?? String(err) });
        board.setError(`task ${claimed.queueName.id}: ${(err as Error).message}`);
        await this.pause.sleep(s.pollMs);
      } finally {
        idle?.busy();
        this.runUsageTask = undefined;
        board.status.current_task = null;
        board.status.current_task_started_at = null;
        board.write();
      }
    }
  }

  /**
   * Whether the agent must not claim now: an operator paused it. A change is logged and
   * published in the status at once; the task that runs when the pause comes finishes as usual.
   */
  private held(): boolean {
    const { board, log } = this.o;
    const c = this.o.control();
    if (c.error !== this.controlError) {
      this.controlError = c.error;
      if (c.error) {
        log.error("control-invalid", { error: c.error });
        board.setError(`${c.error} (the agent claims nothing until it is fixed)`);
      }
    }
    const overBudget = this.overBudget();
    if (c.paused !== (board.status.paused === true)) {
      board.status.paused = c.paused;
      log.info(c.paused ? "agent-paused" : "agent-resumed", {
        by: c.record?.by ?? null,
        reason: c.record?.reason ?? c.error ?? null,
      });
      board.write();
    }
    return c.paused || overBudget;
  }

  /**
   * Whether today's reported usage reached the daily budget (AGENT_BUDGET_USD_PER_DAY). It holds
   * until the next UTC day, or until the agent restarts with a higher limit. A ledger that cannot
   * be read counts as over (spending must not go unchecked).
   */
  private overBudget(): boolean {
    const { settings: s, board, log } = this.o;
    let over: NonNullable<AgentStatus["over_budget"]> | null = null;
    try {
      const today = this.o.ledger.today();
      const u = { usd: today.usd, tokens_in: today.tokens_in, tokens_out: today.tokens_out, runs: today.runs };
      if (JSON.stringify(u) !== JSON.stringify(board.status.usage_today)) board.status.usage_today = u;
      if (s.budgetUsdPerDay !== undefined && today.usd >= s.budgetUsdPerDay)
        over = { limit_usd: s.budgetUsdPerDay, spent_usd: today.usd, until: nextUtcDay() };
    } catch (err) {
      if (s.budgetUsdPerDay !== undefined) {
        over = { limit_usd: s.budgetUsdPerDay, spent_usd: null, until: nextUtcDay() };
        board.setError((err as Error).message);
      }
    }
    const was = board.status.over_budget ?? null;
    if ((over === null) !== (was === null) || (over && was && over.until !== was.until)) {
      board.status.over_budget = over;
      if (over) log.warn("over-budget", { ...over, detail: "no new claims until the next UTC day or a higher limit" });
      else log.info("budget-ok", { limit_usd: s.budgetUsdPerDay ?? null });
      board.write();
    }
    return over !== null;
  }

  /** Record a run's usage in the ledger (even a failed or aborted run spent it) and keep it for the result. */
  private recordUsage(record: TaskRecord, outcome: RunOutcome): void {
    const { board, log } = this.o;
    this.runUsage = {};
    this.runUsageTask = record.id;
    const u = outcome.usage;
    if (u === null) return;
    if ("error" in u) {
      this.runUsage = { usage_error: u.error };
      log.warn("usage-refused", { task: record.id, error: u.error });
      return;
    }
    this.runUsage = { usage: u.usage };
    try {
      const day = this.o.ledger.record({
        task: record.id,
        attempt: record.attempts + 1,
        run_at: outcome.startedAt,
        at: new Date().toISOString(),
        ...u.usage,
      });
      log.info("usage-recorded", { task: record.id, ...u.usage, day_usd: day.usd });
    } catch (err) {
      log.error("usage-ledger-failed", { task: record.id, error: (err as Error).message });
      board.setError(`usage ledger: ${(err as Error).message}`);
    }
  }

  /** Carry one claimed task to its end: done, failed, handed back, or back to pending for a retry. */
  async processTask(c: ClaimedTask): Promise<void> {
    const { settings: s, queue, proposals, board, log } = this.o;
    const agent = s.agentName;
    if ("error" in c.record) {
      const where = queue.failUnreadable(c, agent, c.record.error, c.record.raw);
      log.error("task-malformed", { name: c.name, error: c.record.error, kept_at: where });
      board.status.tasks_failed++;
      return;
    }
    const record: TaskRecord = {
      ...c.record,
      attempts: Math.max(c.record.attempts, c.queueName.attempts),
      claimed_by: agent,
      claimed_at: c.claimedAt,
    };
    const maxAttempts = record.max_attempts > 0 ? record.max_attempts : s.maxAttempts;

    // Already turned into a proposal by an earlier run (that died before finishing the task)?
    const pid = proposalIdForTask(record.id, record.reruns ?? 0);
    const existing = proposals.get(pid);
    if (existing) {
      if (existing.agent === agent && (existing.state === "pending" || existing.state === "approved"))
        this.o.awaitDecision(pid);
      this.finishFromProposal(c, record, existing, {}, "finished from its existing proposal");
      return;
    }
    if (record.attempts >= maxAttempts) {
      this.finishTask(c, "failed", record, {
        outcome: "failed",
        error: `gave up after ${record.attempts} attempts; last error: ${record.last_error ?? "its agent stopped heartbeating while running it"}`,
      });
      return;
    }

    const project = record.project ? this.o.projects?.get(record.project) : undefined;
    if (record.project && !project) {
      const mine = s.projects.length > 0 ? s.projects.join(", ") : "none";
      this.finishTask(c, "failed", record, {
        outcome: "failed",
        error: `agent ${agent} is not assigned to project "${record.project}" (its projects: ${mine}; AGENT_PROJECTS): queue the task for an agent that works on it`,
      });
      return;
    }
    // The last autonomous re-run after stale-base conflicts holds the project's lock from clone
    // to commit: nobody can move the branch under it, so it cannot conflict again (bounded).
    if (project && !s.approvalRequired && (record.reruns ?? 0) >= AUTONOMOUS_RERUNS) {
      this.o.log.info("project-lock-held-run", { task: record.id, project: project.name, reruns: record.reruns });
      await project.withLock(() => this.runAndPropose(c, record, pid, project, true));
      return;
    }
    await this.runAndPropose(c, record, pid, project, false);
  }

  /** Run the program on the task and turn the outcome into its result (a proposal, a retry, a failure). */
  private async runAndPropose(
    c: ClaimedTask,
    record: TaskRecord,
    pid: string,
    project: ProjectRepo | undefined,
    projectLockHeld: boolean,
  ): Promise<void> {
    const { settings: s, queue, proposals, board, log } = this.o;
    const agent = s.agentName;
    const now = () => new Date().toISOString();
    board.status.current_task = record.id;
    board.status.current_task_started_at = now();
    board.write();
    log.info("task-claimed", { task: record.id, title: record.title, attempt: record.attempts + 1 });
    record.history = [...record.history, { at: now(), event: "claimed", agent }];

    let outcome: RunOutcome;
    try {
      const program = this.o.program.program!;
      outcome = await this.o.workspace.run(record, program, program.command, this.timeoutSeconds(), undefined, project);
    } catch (err) {
      const msg = (err as Error).message;
      log.error("run-error", { task: record.id, error: msg });
      board.setError(msg);
      this.backoff.fail(++this.runErrors);
      this.transientFailure(c, record, `runtime could not run the task: ${msg}`);
      return;
    }
    const r = outcome.run;
    this.runErrors = 0;
    this.recordUsage(record, outcome);
    if (r.aborted) {
      // Shutdown: hand the task back untouched (this was not the task's fault).
      record.history.push({ at: now(), event: "handed-back", agent, detail: "runtime stopping" });
      queue.requeue(c, record, record.attempts);
      log.info("task-handed-back", { task: record.id });
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
        this.finishTask(
          c,
          "failed",
          { ...record, attempts: record.attempts + 1 },
          { outcome: "failed", exit_code: r.code, error: detail, output_tail: r.outputTail.slice(-2000) },
        );
      }
      await this.afterFailure();
      return;
    }
    this.programSucceeded();
    const spent = this.runUsage.usage?.usd;
    if (s.budgetUsdPerTask !== undefined && spent !== undefined && spent > s.budgetUsdPerTask) {
      const error = `the run reported $${spent} of model usage, over the per-task budget of $${s.budgetUsdPerTask} (AGENT_BUDGET_USD_PER_TASK); its change is not proposed`;
      board.setError(error);
      this.finishTask(c, "failed", { ...record, attempts: record.attempts + 1 }, { outcome: "failed", error });
      return;
    }
    if (outcome.patch.trim() === "") {
      this.finishTask(c, "done", record, {
        outcome: "no-changes",
        exit_code: 0,
        output_tail: r.outputTail.slice(-2000),
      });
      return;
    }
    if (Buffer.byteLength(outcome.patch) > s.patchMaxBytes) {
      this.finishTask(c, "failed", record, {
        outcome: "failed",
        error: `the change is larger than AGENT_PATCH_MAX_BYTES (${s.patchMaxBytes})`,
      });
      return;
    }
    if (outcome.refused) {
      this.finishTask(c, "failed", record, { outcome: "failed", error: `change refused: ${outcome.refused}` });
      return;
    }
    const created = proposals.create(
      {
        id: pid,
        task_id: record.id,
        task_title: record.title,
        agent,
        base_commit: outcome.base,
        created_at: now(),
        approval_required: s.approvalRequired,
        ...(s.approvalRequired && s.reviewApprovals > 1 ? { approvals_required: s.reviewApprovals } : {}),
        state: "pending",
        diffstat: parseNumstat(outcome.numstat),
        patch_file: path.posix.join("proposals", `${pid}.patch`),
        patch_bytes: Buffer.byteLength(outcome.patch),
        decided_by: null,
        decided_at: null,
        note: null,
        reason: null,
        commit: null,
        applied_at: null,
        rolled_back_at: null,
        rollback_commit: null,
        updated_at: now(),
        proposed_sha256: patchSha256(Buffer.from(outcome.patch)),
        ...(project ? { project: project.name } : {}),
        ...(outcome.special.length > 0 ? { special_files: outcome.special } : {}),
      },
      outcome.patch,
    );
    let proposal = created.proposal;
    log.info("proposal-created", {
      proposal: pid,
      task: record.id,
      files: proposal.diffstat.files.length,
      added: proposal.diffstat.added,
      removed: proposal.diffstat.removed,
      approval_required: s.approvalRequired,
    });
    if (!s.approvalRequired && proposal.state === "pending") {
      // The runtime's own approval binds to the hash it recorded when it proposed.
      try {
        proposal = await this.o.changes.decide(
          proposal,
          {
            proposal: pid,
            decision: "approve",
            by: "autonomous",
            at: now(),
            ...(proposal.proposed_sha256 ? { sha256: proposal.proposed_sha256 } : {}),
          },
          projectLockHeld,
        );
      } catch (err) {
        // The apply could not be carried out (e.g. the project's ref stayed locked): the decision
        // loop finishes it from the proposal's recorded state, and the task is done as proposed.
        log.error("apply-error", { proposal: pid, task: record.id, error: (err as Error).message });
        board.setError(`proposal ${pid}: ${(err as Error).message}`);
        proposal = proposals.get(pid) ?? proposal;
        this.o.awaitDecision(pid);
      }
    } else if (proposal.state === "pending") {
      this.o.awaitDecision(pid);
    }
    this.finishFromProposal(c, record, proposal, { exit_code: 0, output_tail: r.outputTail.slice(-2000) });
  }

  /**
   * A task's end once it has a proposal: done with the proposal's outcome, unless the proposal
   * was made in autonomous mode and did not apply because HEAD moved on (stale-base): then the
   * task runs again on the new HEAD, up to AUTONOMOUS_RERUNS times, each re-run recorded in
   * its history. (With approval on, the conflict stays for the operator: `agentctl retry`.)
   */
  private finishFromProposal(
    c: ClaimedTask,
    record: TaskRecord,
    p: Proposal,
    extra: Partial<TaskResult>,
    note?: string,
  ): void {
    const reruns = record.reruns ?? 0;
    if (isStaleAutonomous(p) && reruns < AUTONOMOUS_RERUNS) {
      const detail = `proposal ${p.id} did not apply: ${p.reason ?? "conflict"}; running the task again on the new HEAD (re-run ${reruns + 1} of at most ${AUTONOMOUS_RERUNS})`;
      const next: TaskRecord = {
        ...record,
        reruns: reruns + 1,
        last_error: p.reason,
        history: [
          ...record.history,
          { at: new Date().toISOString(), event: "rerun", agent: this.o.settings.agentName, detail },
        ],
      };
      if (this.o.queue.requeue(c, next, record.attempts))
        this.o.log.warn("task-rerun", { task: record.id, proposal: p.id, reruns: reruns + 1, reason: p.reason });
      return;
    }
    this.finishTask(
      c,
      "done",
      record,
      {
        outcome: outcomeOf(p.state),
        proposal_id: p.id,
        ...(p.commit ? { commit: p.commit } : {}),
        ...(p.reason && (p.state === "conflict" || p.state === "refused") ? { error: p.reason } : {}),
        ...extra,
      },
      note,
    );
  }

  /**
   * A proposal that did not apply after its task was already finished (another agent finished
   * the task from it while it waited, e.g. after a crash): in autonomous mode, take the task back
   * from done/ and run it again on the new HEAD; otherwise the task's result is corrected.
   */
  afterNotApplied(p: Proposal): void {
    if (p.state !== "conflict" && p.state !== "refused") return;
    const c = this.o.queue.reopenDone(
      this.o.settings.agentName,
      p.task_id,
      (r) => r.result?.proposal_id === p.id && r.result.outcome !== p.state,
    );
    if (!c || "error" in c.record) return;
    this.o.log.warn("task-reopened", { task: p.task_id, proposal: p.id, state: p.state });
    this.finishFromProposal(c, c.record, p, {}, `its proposal ${p.id} did not apply`);
  }

  /**
   * An autonomous proposal applied after its task was already finished from it as `proposed`
   * (after a crash, whoever claimed the task next finished it from the waiting proposal, and its
   * agent's restart applied it): the task's result is corrected to `applied` with the commit,
   * and its history says why. With approval on, `proposed` stays (the proposal has the decision).
   */
  afterApplied(p: Proposal): void {
    if (p.state !== "applied" || p.approval_required) return;
    const c = this.o.queue.reopenDone(
      this.o.settings.agentName,
      p.task_id,
      (r) => r.result?.proposal_id === p.id && r.result.outcome === "proposed",
    );
    if (!c || "error" in c.record) return;
    const r = c.record;
    const at = new Date().toISOString();
    const final: TaskRecord = {
      ...r,
      result: { ...r.result!, outcome: "applied", ...(p.commit ? { commit: p.commit } : {}) },
      history: [
        ...r.history,
        {
          at,
          event: "applied",
          agent: this.o.settings.agentName,
          detail: `its proposal ${p.id} was applied after the task was finished from it`,
        },
      ],
    };
    if (this.o.queue.finish(c, "done", final))
      this.o.log.info("task-result-corrected", { task: r.id, proposal: p.id, outcome: "applied" });
  }

  private finishTask(
    c: ClaimedTask,
    status: "done" | "failed",
    record: TaskRecord,
    result: TaskResult,
    note?: string,
  ): void {
    const { settings: s, board, log } = this.o;
    const now = new Date().toISOString();
    const final: TaskRecord = {
      ...record,
      status,
      result: { ...result, ...(this.runUsageTask === record.id ? this.runUsage : {}) },
      completed_at: now,
      claimed_by: s.agentName,
      claimed_at: record.claimed_at ?? c.claimedAt,
      last_error: status === "failed" ? (result.error ?? record.last_error) : record.last_error,
      history: [...record.history, { at: now, event: status, agent: s.agentName, ...(note ? { detail: note } : {}) }],
    };
    const ok = this.o.queue.finish(c, status, final);
    if (!ok) {
      log.warn("lease-lost", {
        task: record.id,
        detail: "the task was returned to the queue while this agent held it",
      });
      return;
    }
    if (status === "done") board.status.tasks_done++;
    else board.status.tasks_failed++;
    log.log(status === "done" ? "info" : "error", status === "done" ? "task-done" : "task-failed", {
      task: record.id,
      ...result,
      output_tail: undefined,
    });
  }

  /** Back to pending with attempts + 1, or failed when that was the last attempt. */
  private transientFailure(c: ClaimedTask, record: TaskRecord, error: string): void {
    const s = this.o.settings;
    const attempts = record.attempts + 1;
    const maxAttempts = record.max_attempts > 0 ? record.max_attempts : s.maxAttempts;
    if (attempts >= maxAttempts) {
      this.finishTask(
        c,
        "failed",
        { ...record, attempts },
        { outcome: "failed", error: `gave up after ${attempts} attempts; last error: ${error}` },
      );
      return;
    }
    const next: TaskRecord = {
      ...record,
      attempts,
      last_error: error,
      history: [...record.history, { at: new Date().toISOString(), event: "retry", agent: s.agentName, detail: error }],
    };
    this.o.queue.requeue(c, next, attempts);
    this.o.log.warn("task-retry", { task: record.id, attempts, error });
  }

  private programFailed(error: string): void {
    const st = this.o.board.status;
    st.consecutive_failures++;
    this.o.board.setError(error);
    this.backoff.fail(st.consecutive_failures);
    if (st.probation) st.probation.failures++;
  }

  private programSucceeded(): void {
    const st = this.o.board.status;
    st.consecutive_failures = 0;
    this.backoff.clear();
    if (st.probation) {
      this.o.log.info("change-confirmed", { proposal: st.probation.proposal_id, commit: st.probation.commit });
      st.probation = null;
    }
  }

  /** N failed runs in a row right after an applied change: revert that change. */
  private async afterFailure(): Promise<void> {
    const st = this.o.board.status;
    const p = st.probation;
    const n = this.o.settings.rollbackAfterFailures;
    if (!p || n === 0 || p.failures < n) return;
    const proposal = this.o.proposals.get(p.proposal_id);
    st.probation = null;
    if (proposal && proposal.state === "applied") {
      await this.o.changes.rollback(
        proposal,
        `the agent program failed ${p.failures} runs in a row right after this change (last: ${st.last_error ?? "?"})`,
      );
    }
  }

  private timeoutSeconds(): number {
    return this.o.settings.taskTimeoutSeconds ?? this.o.program.program?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  }
}

/** How often autonomous mode runs a task again after a stale-base conflict before it reports the conflict. */
export const AUTONOMOUS_RERUNS = 3;

function isStaleAutonomous(p: Proposal): boolean {
  return p.state === "conflict" && p.reason_code === "stale-base" && !p.approval_required;
}

/** A task's outcome from its proposal's state (pending and approved: still `proposed`). */
function outcomeOf(state: ProposalState): TaskResult["outcome"] {
  return state === "pending" || state === "approved" ? "proposed" : state;
}
