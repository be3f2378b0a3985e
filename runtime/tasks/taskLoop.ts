import * as path from "node:path";
import { DEFAULT_TIMEOUT_SECONDS, EXIT_RETRY } from "../agentProgram.js";
import { proposalIdForTask } from "../ids.js";
import type { AgentLogger } from "../log.js";
import { patchSha256 } from "../proposals/patchHash.js";
import { parseNumstat, type Proposal, type ProposalState, type ProposalStore } from "../proposals/proposal.js";
import type { ClaimedTask, TaskQueue } from "../queue/taskQueue.js";
import type { ReviewRequest, TaskRecord, TaskResult } from "../queue/taskRecord.js";
import type { ReviewStore } from "../reviews/reviewStore.js";
import { TASK_ENV } from "../../contract/env.js";
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
import { messageLines, type CommsLog } from "../coordination/commsLog.js";
import type { Outbox } from "../coordination/outbox.js";

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
    | "messageMaxChars"
    | "messageMaxLines"
    | "reviewers"
    | "reviewQuorum"
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
  /** Where this agent, as a reviewer, records its verdicts on other agents' proposals. */
  reviews: ReviewStore;
  board: StatusBoard;
  log: AgentLogger;
  /** Queues the tasks a coordinator's run wrote into $TASK_OUTBOX. */
  outbox: Outbox;
  /** Records the lines a run wrote into $TASK_MESSAGES. */
  comms: CommsLog;
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
    if (record.review) {
      await this.runReview(c, record, record.review);
      return;
    }

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
    // Late autonomous re-runs after stale-base conflicts hold the project's lock from clone to
    // commit: nobody can move the branch under them, so they conflict only when the lock was
    // broken under a holder too slow to renew its lease (a starved machine); the next one tries again.
    if (project && !s.approvalRequired && (record.reruns ?? 0) >= LOCKED_RERUNS_FROM) {
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
    const said = this.recordMessages(record, outcome);
    if (r.timedOut || r.code !== 0) {
      const coord = await this.afterRun(record, outcome, false, said);
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
          { outcome: "failed", exit_code: r.code, error: detail, output_tail: r.outputTail.slice(-2000), ...coord },
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
      const coord = await this.afterRun(record, outcome, false, said);
      this.finishTask(
        c,
        "failed",
        { ...record, attempts: record.attempts + 1 },
        { outcome: "failed", error, ...coord },
      );
      return;
    }
    // A run that ends without a proposal: its tasks are queued now, reported in its result.
    const ends = outcome.patch.trim() === "" || Buffer.byteLength(outcome.patch) > s.patchMaxBytes || outcome.refused;
    const coord = ends ? await this.afterRun(record, outcome, true, said) : {};
    if (outcome.patch.trim() === "") {
      this.finishTask(c, "done", record, {
        outcome: "no-changes",
        exit_code: 0,
        output_tail: r.outputTail.slice(-2000),
        ...coord,
      });
      return;
    }
    if (Buffer.byteLength(outcome.patch) > s.patchMaxBytes) {
      this.finishTask(c, "failed", record, {
        outcome: "failed",
        error: `the change is larger than AGENT_PATCH_MAX_BYTES (${s.patchMaxBytes})`,
        ...coord,
      });
      return;
    }
    if (outcome.refused) {
      this.finishTask(c, "failed", record, {
        outcome: "failed",
        error: `change refused: ${outcome.refused}`,
        ...coord,
      });
      return;
    }
    const reviewed = s.reviewers.length > 0;
    const created = proposals.create(
      {
        id: pid,
        task_id: record.id,
        task_title: record.title,
        agent,
        base_commit: outcome.base,
        created_at: now(),
        approval_required: s.approvalRequired,
        ...((s.approvalRequired || reviewed) && s.reviewApprovals > 1 ? { approvals_required: s.reviewApprovals } : {}),
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
        ...(reviewed
          ? { review: { reviewers: [...s.reviewers], quorum: s.reviewQuorum, state: "reviewing" as const } }
          : {}),
      },
      outcome.patch,
    );
    let proposal = created.proposal;
    if (!created.created) {
      // Another run of this task (its lease ran out under a slow runtime and the task was claimed
      // again) proposed first: that proposal is the task's, exactly as when it is found at claim.
      if (proposal.agent === agent && (proposal.state === "pending" || proposal.state === "approved"))
        this.o.awaitDecision(pid);
      this.finishFromProposal(c, record, proposal, {}, "finished from the proposal of its other run");
      return;
    }
    log.info("proposal-created", {
      proposal: pid,
      task: record.id,
      files: proposal.diffstat.files.length,
      added: proposal.diffstat.added,
      removed: proposal.diffstat.removed,
      approval_required: s.approvalRequired,
    });
    if (!s.approvalRequired && !proposal.review && proposal.state === "pending") {
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
    // A run that goes again (stale base, autonomous) writes its tasks again: queue them only once, at the end.
    const queued = willRerun(record, proposal) ? said : await this.afterRun(record, outcome, true, said);
    this.finishFromProposal(c, record, proposal, { exit_code: 0, output_tail: r.outputTail.slice(-2000), ...queued });
  }

  /**
   * A run's $TASK_MESSAGES lines go to this agent's comms log (bounded; a write error is only
   * logged); returns what the task's result says about them.
   */
  private recordMessages(record: TaskRecord, outcome: RunOutcome): Partial<TaskResult> {
    const { settings: s, log } = this.o;
    const files = outcome.files;
    if (files?.messages === undefined) return {};
    const m = messageLines(files.messages, files.messagesMore, {
      maxChars: s.messageMaxChars,
      maxLines: s.messageMaxLines,
    });
    try {
      this.o.comms.record(record.id, m.lines, m.dropped, m.moreBytes);
    } catch (err) {
      log.error("comms-write-failed", { task: record.id, error: (err as Error).message });
    }
    return m.dropped > 0 ? { messages_dropped: m.dropped } : {};
  }

  /**
   * What a run left besides its change, for the task's result (`said`: what recordMessages
   * reported): a coordinator's task files queued (only when the run `succeeded`), each rejected
   * one with its reason.
   */
  private async afterRun(
    record: TaskRecord,
    outcome: RunOutcome,
    succeeded: boolean,
    said: Partial<TaskResult>,
  ): Promise<Partial<TaskResult>> {
    const log = this.o.log;
    if (outcome.filesError !== undefined)
      return { outbox_rejected: [{ file: "$TASK_OUTBOX", reason: `not read: ${outcome.filesError.slice(0, 300)}` }] };
    const files = outcome.files;
    if (!files) return {};
    const out: Partial<TaskResult> = { ...said };
    const rejected = files.messagesProblem
      ? [{ file: "$TASK_MESSAGES", reason: `not recorded: $TASK_MESSAGES ${files.messagesProblem}` }]
      : [];
    let report;
    try {
      report = await this.o.outbox.process(record, files, succeeded);
    } catch (err) {
      log.error("outbox-failed", { task: record.id, error: (err as Error).message });
      report = {
        created: [],
        rejected: [{ file: "$TASK_OUTBOX", reason: `not processed: ${(err as Error).message}` }],
      };
    }
    if (report.created.length > 0) out.created_tasks = report.created;
    if (report.rejected.length + rejected.length > 0) out.outbox_rejected = [...rejected, ...report.rejected];
    return out;
  }

  /**
   * A review task: run the program on the proposal's patch and record its verdict (once; see
   * runtime/reviews/). A program that fails, times out or writes no valid verdict gives none, and
   * a review is never run twice (a reviewer that died while running it gave none either).
   */
  private async runReview(c: ClaimedTask, record: TaskRecord, rq: ReviewRequest): Promise<void> {
    const { settings: s, queue, board, log } = this.o;
    const agent = s.agentName;
    const now = () => new Date().toISOString();
    const finish = (
      verdict: "approve" | "reject" | "none",
      reasons: string[],
      sha256: string | null,
      error?: string,
    ) => {
      const written = this.o.reviews.write({
        proposal: rq.proposal,
        reviewer: agent,
        verdict,
        reasons,
        sha256,
        task_id: record.id,
        at: now(),
        ...(error ? { error } : {}),
      });
      if (!written)
        log.warn("review-duplicate", {
          proposal: rq.proposal,
          task: record.id,
          detail: "this agent's verdict on it is recorded already",
        });
      else log.info("review-verdict", { proposal: rq.proposal, agent: rq.agent, verdict, ...(error ? { error } : {}) });
      const result: TaskResult = {
        outcome: "reviewed",
        proposal_id: rq.proposal,
        verdict,
        ...(error ? { error } : {}),
      };
      this.finishTask(c, verdict === "none" ? "failed" : "done", { ...record, attempts: record.attempts + 1 }, result);
    };
    if (rq.agent === agent) return finish("none", [], null, "an agent never reviews its own proposals");
    if (record.attempts > 0)
      return finish(
        "none",
        [],
        null,
        `its reviewer stopped while reviewing (a review is not run twice): ${record.last_error ?? "no heartbeat"}`,
      );
    board.status.current_task = record.id;
    board.status.current_task_started_at = now();
    board.write();
    log.info("task-claimed", { task: record.id, title: record.title, attempt: 1, review: rq.proposal });
    record.history = [...record.history, { at: now(), event: "claimed", agent }];
    let outcome: RunOutcome;
    try {
      const program = this.o.program.program!;
      outcome = await this.o.workspace.run(record, program, program.command, this.timeoutSeconds());
    } catch (err) {
      log.error("run-error", { task: record.id, error: (err as Error).message });
      return finish("none", [], null, `the runtime could not run the review: ${(err as Error).message}`);
    }
    this.recordUsage(record, outcome);
    const r = outcome.run;
    if (r.aborted) {
      record.history.push({ at: now(), event: "handed-back", agent, detail: "runtime stopping" });
      queue.requeue(c, record, record.attempts);
      return;
    }
    const sha = outcome.review?.sha256 ?? null;
    if (r.timedOut) return finish("none", [], sha, `timed out after ${this.timeoutSeconds()} s`);
    if (r.code !== 0) {
      const tail = lastLines(r.outputTail, 5);
      return finish(
        "none",
        [],
        sha,
        `the reviewer program exited with ${r.code ?? r.signal}${tail ? `: ${tail}` : ""}`,
      );
    }
    const v = outcome.review?.verdict ?? null;
    if (v === null) return finish("none", [], sha, `the reviewer program wrote no verdict to $${TASK_ENV.verdictFile}`);
    if ("error" in v) return finish("none", [], sha, v.error);
    return finish(v.verdict.verdict, v.verdict.reasons, sha);
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
    if (willRerun(record, p)) {
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
      else this.afterDecided(p); // the task was claimed again meanwhile: whoever finishes it from p is caught up
      return;
    }
    if (isStaleAutonomous(p)) {
      const error = `task ${record.id}: its change did not apply after ${reruns} re-runs on a new HEAD (AUTONOMOUS_RERUNS): ${p.reason ?? "conflict"}`;
      this.o.log.error("task-conflict", { task: record.id, proposal: p.id, reruns, reason: p.reason });
      this.o.board.setError(error);
    }
    const finished = this.finishTask(
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
    // The task is finished from a proposal still waiting to be applied (by its own agent's
    // decision loop, after a crash by its agent's restart, or right now by the run that made it
    // after its lease ran out). That applier looks for the finished task only after recording
    // the outcome, and this side looks at the proposal again only after finishing the task: of
    // the two, at least one sees the other's write, so a conflict always runs the task again.
    // (A lost lease: the other claim finishes the task from p and does the same.)
    if (!finished || p.state === "pending" || p.state === "approved") {
      const now = this.o.proposals.get(p.id);
      if (now) this.afterDecided(now);
    }
  }

  /**
   * A proposal was decided (here, by another runtime, or before a crash): a task already
   * finished from it while it waited is brought up to date (run again, or corrected).
   */
  afterDecided(p: Proposal): void {
    if (p.state === "conflict" || p.state === "refused") this.afterNotApplied(p);
    else if (p.state === "applied") this.afterApplied(p);
  }

  /**
   * After a crash at any instant: tasks finished (as `proposed`) from a proposal that was decided
   * since, whose follow-up (a re-run, a corrected result) the crash prevented. Run at start, before
   * the first claim; any agent may do it for any task (reopening is one rename).
   */
  catchUpFinished(): void {
    for (const p of this.o.proposals.list()) this.afterDecided(p);
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
  ): boolean {
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
      return false;
    }
    if (status === "done") board.status.tasks_done++;
    else board.status.tasks_failed++;
    log.log(status === "done" ? "info" : "error", status === "done" ? "task-done" : "task-failed", {
      task: record.id,
      ...result,
      output_tail: undefined,
    });
    return true;
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
export const AUTONOMOUS_RERUNS = 6;

/**
 * From this re-run on, a project task's run holds the project's apply lock from clone to commit
 * (the earlier ones do not, so other agents' applies need not wait). A lock-held run can still
 * conflict when its lease ran out while it was starved of CPU and another agent broke the lock;
 * the remaining re-runs hold the lock again, so a task ends in `conflict` only after that
 * happened AUTONOMOUS_RERUNS - LOCKED_RERUNS_FROM + 1 times in a row.
 */
export const LOCKED_RERUNS_FROM = 3;

/** Whether a task ends in a re-run on the new HEAD: its autonomous proposal went stale, re-runs are left. */
/** An autonomous proposal that did not apply because HEAD moved: its task runs again. */
function isStaleAutonomous(p: Proposal): boolean {
  return p.state === "conflict" && p.reason_code === "stale-base" && !p.approval_required;
}

function willRerun(record: TaskRecord, p: Proposal): boolean {
  return isStaleAutonomous(p) && (record.reruns ?? 0) < AUTONOMOUS_RERUNS;
}

/** A task's outcome from its proposal's state (pending and approved: still `proposed`). */
function outcomeOf(state: ProposalState): TaskResult["outcome"] {
  return state === "pending" || state === "approved" ? "proposed" : state;
}
