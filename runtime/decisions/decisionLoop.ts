import type { AgentLogger } from "../log.js";
import { distinctApprovers } from "../proposals/approvals.js";
import { readDecision, type Decision } from "../proposals/decision.js";
import type { Proposal, ProposalStore } from "../proposals/proposal.js";
import type { StatusBoard } from "../agent/statusBoard.js";
import { WakeableSleep } from "../agent/wakeableSleep.js";
import type { ReviewCoordinator } from "../reviews/reviewCoordinator.js";
import type { ChangeApplier } from "../changes/changeApplier.js";

export interface DecisionLoopOptions {
  agentName: string;
  decisionsDir: string;
  pollMs: number;
  proposals: ProposalStore;
  changes: ChangeApplier;
  board: StatusBoard;
  log: AgentLogger;
  /** Queues review tasks for proposals under review by reviewer agents, and counts their verdicts. */
  reviews: ReviewCoordinator;
  /** A proposal ended `conflict` or `refused` here (its task may have been finished from it already). */
  afterNotApplied?: (p: Proposal) => void;
  /** A proposal was applied here (its task may have been finished from it already, as `proposed`). */
  afterApplied?: (p: Proposal) => void;
}

/**
 * Waits for decisions on this agent's proposals and hands them to the change applier. It runs
 * beside the task loop, so an approval is applied promptly even while a long task runs.
 */
export class DecisionLoop {
  /** Own proposals waiting for a decision (or for an apply a crash interrupted). */
  private readonly waiting = new Set<string>();
  /** Invalid decision files already reported (by proposal id + content error). */
  private readonly reportedInvalid = new Map<string, string>();
  private readonly pause = new WakeableSleep();
  private stopping = false;

  constructor(private readonly o: DecisionLoopOptions) {}

  /** Pick up this agent's proposals still pending or approved-but-not-applied (at start). */
  recover(): void {
    for (const p of this.o.proposals.list({ agent: this.o.agentName })) {
      if (p.state === "pending") this.waiting.add(p.id);
      if (p.state === "approved") {
        // Decided, then the runtime died before the commit was recorded: finish (never twice).
        this.waiting.add(p.id);
      }
    }
    if (this.waiting.size > 0) this.o.log.info("proposals-waiting", { count: this.waiting.size });
  }

  /** Wait for a decision on this proposal. */
  track(id: string): void {
    this.waiting.add(id);
  }

  get waitingIds(): string[] {
    return [...this.waiting];
  }

  /** The decisions dir changed. */
  wake(): void {
    this.pause.wake();
  }

  stop(): void {
    this.stopping = true;
    this.pause.wake();
  }

  async run(): Promise<void> {
    while (!this.stopping) {
      await this.checkAll();
      await this.pause.sleep(this.o.pollMs);
    }
  }

  /** One pass over the waiting proposals. */
  async checkAll(): Promise<void> {
    for (const id of [...this.waiting]) {
      if (this.stopping) break;
      try {
        await this.check(id);
      } catch (err) {
        this.o.log.error("decision-error", { proposal: id, error: (err as Error).message });
        this.o.board.setError(`proposal ${id}: ${(err as Error).message}`);
      }
    }
  }

  private async check(id: string): Promise<void> {
    const { proposals, log } = this.o;
    const changes = {
      decide: async (p: Proposal, d: Decision) => {
        const out = await this.o.changes.decide(p, d);
        if (out.state === "conflict" || out.state === "refused") this.o.afterNotApplied?.(out);
        if (out.state === "applied") this.o.afterApplied?.(out);
        return out;
      },
    };
    const p = proposals.get(id);
    if (!p || (p.state !== "pending" && p.state !== "approved")) {
      this.waiting.delete(id);
      return;
    }
    if (p.state === "approved") {
      // Recorded as approved before a crash: finish applying it.
      await changes.decide(p, {
        proposal: id,
        decision: "approve",
        by: p.decided_by ?? "operator",
        at: p.decided_at ?? new Date().toISOString(),
        ...(p.note ? { note: p.note } : {}),
        ...(p.approved_sha256 ? { sha256: p.approved_sha256 } : {}),
      });
      this.waiting.delete(id);
      return;
    }
    if (p.review && p.review.state !== "escalated" && readDecision(this.o.decisionsDir, id).kind !== "decided") {
      // Reviewer agents first (humans may decide at any time: their decision is read below).
      // `approved` and still pending: the runtime died before the apply; the count is the same.
      const { proposal: cur, tally } = this.o.reviews.step(p);
      if (tally.kind === "waiting") return;
      if (tally.kind === "escalated") {
        proposals.update(cur, {
          review: {
            ...cur.review!,
            state: "escalated",
            escalated_at: new Date().toISOString(),
            escalation: tally.reason,
          },
        });
        log.warn("review-escalated", { proposal: id, reason: tally.reason, detail: "it waits for the humans" });
        return;
      }
      // The quorum approved the patch as proposed: applied like an approval by those agents.
      const approved = proposals.update(cur, { review: { ...cur.review!, state: "approved" } });
      log.info("review-approved", { proposal: id, approvers: tally.approvers });
      await changes.decide(approved, {
        proposal: id,
        decision: "approve",
        by: tally.approvers.join(", "),
        approvers: tally.approvers,
        at: new Date().toISOString(),
        ...(p.proposed_sha256 ? { sha256: p.proposed_sha256 } : {}),
      });
      this.waiting.delete(id);
      return;
    }
    if (!p.approval_required && !p.review) {
      // Proposed in autonomous mode, and the runtime died before applying it: apply it now.
      // Its own approval binds to the hash recorded when it was proposed.
      await changes.decide(p, {
        proposal: id,
        decision: "approve",
        by: "autonomous",
        at: new Date().toISOString(),
        ...(p.proposed_sha256 ? { sha256: p.proposed_sha256 } : {}),
      });
      this.waiting.delete(id);
      return;
    }
    const d = readDecision(this.o.decisionsDir, id);
    if (d.kind === "none") return;
    if (d.kind === "invalid") {
      if (this.reportedInvalid.get(id) !== d.error) {
        log.error("decision-invalid", { proposal: id, error: d.error, effect: "ignored: the proposal keeps waiting" });
        this.reportedInvalid.set(id, d.error);
      }
      return;
    }
    const need = p.approvals_required ?? 1;
    const have = distinctApprovers(d.decision);
    if (d.decision.decision === "approve" && have.length < need) {
      // Only an approval by that many distinct people counts (a hand-written or old-style decision does not).
      const error = `the proposal needs ${need} distinct approvers, the decision names ${have.length}`;
      if (this.reportedInvalid.get(id) !== error) {
        log.error("decision-invalid", { proposal: id, error, effect: "ignored: the proposal keeps waiting" });
        this.reportedInvalid.set(id, error);
      }
      return;
    }
    await changes.decide(p, d.decision);
    this.waiting.delete(id);
  }
}
