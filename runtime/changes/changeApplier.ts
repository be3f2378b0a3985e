import type { AgentLogger } from "../log.js";
import type { Decision } from "../proposals/decision.js";
import { patchSha256 } from "../proposals/patchHash.js";
import type { ApplyProblem, Proposal, ProposalStore } from "../proposals/proposal.js";
import type { AppRepo } from "../repo/appRepo.js";
import type { SharedLayout } from "../sharedLayout.js";
import type { CurrentProgram } from "../agent/currentProgram.js";
import type { StatusBoard } from "../agent/statusBoard.js";
import type { StartCheck } from "./startCheck.js";
import type { ProjectRepo } from "../projects/projectRepo.js";

export interface ChangeApplierOptions {
  repo: AppRepo;
  proposals: ProposalStore;
  layout: SharedLayout;
  board: StatusBoard;
  program: CurrentProgram;
  startCheck: StartCheck;
  log: AgentLogger;
  /** Free space that must remain on /app's file system after an apply (AGENT_MIN_FREE_BYTES). */
  minFreeBytes?: number;
  /** The shared projects this agent works on, by name (AGENT_PROJECTS). */
  projects?: ReadonlyMap<string, ProjectRepo>;
  /** A change was committed to a project (its remote, if any, is pushed). */
  onProjectCommit?: (project: ProjectRepo) => void;
}

/**
 * What a decision does to /app: an approval is applied exactly once and put through the start
 * check (a failed check reverts it); a rejection is recorded. The applied change then stays on
 * probation in the agent's status until a run succeeds after it.
 */
export class ChangeApplier {
  constructor(private readonly o: ChangeApplierOptions) {}

  /**
   * Apply an approval (exactly once) or record a rejection. `projectLockHeld`: the caller holds
   * the proposal's project lock already (a re-run that holds it from clone to commit).
   */
  async decide(p: Proposal, d: Decision, projectLockHeld = false): Promise<Proposal> {
    const { proposals, repo, board, log } = this.o;
    if (d.decision !== "reject" && p.project) return this.decideForProject(p, d, p.project, projectLockHeld);
    if (d.decision === "reject") {
      const next = proposals.update(p, {
        state: "rejected",
        decided_by: d.by,
        decided_at: d.at,
        reason: d.reason ?? null,
      });
      log.info("proposal-rejected", { proposal: p.id, by: d.by, reason: d.reason });
      return next;
    }
    let decidedBefore = false;
    const applied = await repo.lock.run(async () => {
      p = this.recorded(p);
      if (isSettled(p)) {
        decidedBefore = true;
        return p;
      }
      // "approved" is recorded before the commit, so only a proposal found in that state can
      // already be committed (the runtime died in between); only then is history searched.
      const recovering = p.state === "approved";
      const already = recovering ? await this.recordedIfApplied(p, repo) : undefined;
      if (already) return already;
      const expected = recovering ? (p.approved_sha256 ?? d.sha256) : d.sha256;
      // The bytes whose hash is checked are the bytes git applies (from stdin, not the file).
      const bound = this.bind(p, expected);
      if ("problem" in bound) {
        const next = proposals.update(p, {
          state: "refused",
          reason_code: bound.problem,
          reason: bound.reason,
          decided_by: d.by,
          decided_at: d.at,
        });
        log.error("proposal-refused", { proposal: p.id, reason_code: bound.problem, reason: bound.reason, by: d.by });
        board.setError(`proposal ${p.id} refused: ${bound.reason}`);
        return next;
      }
      let cur = recovering ? p : this.approved(p, d, bound.sha256);
      const t0 = Date.now();
      const result = await repo.apply(cur, bound.patch, false, this.o.minFreeBytes);
      cur = proposals.update(cur, result);
      if (cur.state === "applied") {
        log.info("proposal-applied", {
          proposal: cur.id,
          commit: cur.commit,
          approved_by: d.by,
          decision_at: d.at,
          sha256: bound.sha256,
          apply_ms: Date.now() - t0,
        });
        board.status.probation = { proposal_id: cur.id, commit: cur.commit!, failures: 0 };
        board.write();
      } else if (cur.state === "refused") {
        log.error("proposal-refused", { proposal: cur.id, reason_code: cur.reason_code, reason: cur.reason });
        board.setError(`proposal ${cur.id} refused: ${cur.reason}`);
      } else {
        log.warn("proposal-conflict", { proposal: cur.id, reason_code: cur.reason_code, reason: cur.reason });
      }
      return cur;
    });
    if (applied.state !== "applied" || decidedBefore) return applied;
    // Outside the lock (the next approval need not wait for it), on exactly this commit.
    const failed = await this.o.startCheck.run(applied);
    return failed === undefined ? applied : this.rollback(applied, failed);
  }

  /**
   * An approval of a change to a shared project: bound to the approved hash like any other,
   * applied exactly once (the project's history is searched for its Proposal-Id after a crash)
   * under the project's lock, committed with the project's trailers. No start check and no
   * probation: those are about the agent's own program in /app.
   */
  private async decideForProject(p: Proposal, d: Decision, name: string, lockHeld: boolean): Promise<Proposal> {
    const { proposals, board, log } = this.o;
    const project = this.o.projects?.get(name);
    if (!project) {
      const reason = `project "${name}" is not one of this agent's projects (AGENT_PROJECTS); it was when the change was proposed`;
      log.error("proposal-refused", { proposal: p.id, reason_code: "not-assigned", reason });
      board.setError(`proposal ${p.id} refused: ${reason}`);
      return proposals.update(p, {
        state: "refused",
        reason_code: "not-assigned",
        reason,
        decided_by: d.by,
        decided_at: d.at,
      });
    }
    let decidedBefore = false;
    const locked = async (): Promise<Proposal> => {
      p = this.recorded(p);
      if (isSettled(p)) {
        decidedBefore = true;
        return p;
      }
      const recovering = p.state === "approved";
      const already = recovering ? await this.recordedIfApplied(p, project) : undefined;
      if (already) return already;
      const bound = this.bind(p, recovering ? (p.approved_sha256 ?? d.sha256) : d.sha256);
      if ("problem" in bound) {
        log.error("proposal-refused", { proposal: p.id, reason_code: bound.problem, reason: bound.reason, by: d.by });
        board.setError(`proposal ${p.id} refused: ${bound.reason}`);
        return proposals.update(p, {
          state: "refused",
          reason_code: bound.problem,
          reason: bound.reason,
          decided_by: d.by,
          decided_at: d.at,
        });
      }
      let cur = recovering ? p : this.approved(p, d, bound.sha256);
      const t0 = Date.now();
      cur = proposals.update(cur, await project.apply(cur, bound.patch, this.o.minFreeBytes));
      if (cur.state === "applied") {
        log.info("proposal-applied", {
          proposal: cur.id,
          project: name,
          commit: cur.commit,
          approved_by: d.by,
          sha256: bound.sha256,
          apply_ms: Date.now() - t0,
        });
      } else if (cur.state === "refused") {
        log.error("proposal-refused", { proposal: cur.id, reason_code: cur.reason_code, reason: cur.reason });
        board.setError(`proposal ${cur.id} refused: ${cur.reason}`);
      } else {
        log.warn("proposal-conflict", {
          proposal: cur.id,
          project: name,
          reason_code: cur.reason_code,
          reason: cur.reason,
        });
      }
      return cur;
    };
    const out = await (lockHeld ? locked() : project.withLock(locked));
    if (out.state === "applied" && !decidedBefore) this.o.onProjectCommit?.(project);
    return out;
  }

  /**
   * The proposal as recorded now (call holding the apply lock; a decided one is not applied again).
   * The caller's copy may be older: a task finished from a waiting proposal after a crash, or claimed
   * twice after a lease ran out, can bring the same proposal to two appliers (two loops of one
   * runtime, or runtimes in different containers); only the first may apply it, or its change
   * would land twice (or a 3-way apply of the same change would "conflict" and run the task again).
   */
  private recorded(p: Proposal): Proposal {
    return this.o.proposals.get(p.id) ?? p;
  }

  /**
   * A proposal found "approved" may already be committed (the runtime died between the commit and
   * recording it): when `repo`'s history has its commit, it is recorded as applied and returned.
   */
  private async recordedIfApplied(
    p: Proposal,
    repo: { findApplied(id: string): Promise<string | undefined | null> },
  ): Promise<Proposal | undefined> {
    const found = await repo.findApplied(p.id);
    if (!found) return undefined;
    return this.o.proposals.update(p, {
      state: "applied",
      commit: found,
      applied_at: p.applied_at ?? new Date().toISOString(),
      reason: null,
      reason_code: null,
    });
  }

  /**
   * The patch bytes an approval binds to: only when the decision names a sha256 and the patch
   * file has exactly that hash now. A decision without one (written before decisions carried it)
   * cannot be bound and is refused as `stale-decision`: the operator retries the task and
   * approves the new proposal.
   */
  /** The proposal recorded approved by `d`, bound to the sha256 of the patch about to be applied. */
  private approved(p: Proposal, d: Decision, sha256: string): Proposal {
    return this.o.proposals.update(p, {
      state: "approved",
      decided_by: d.by,
      decided_at: d.at,
      note: d.note ?? null,
      approved_sha256: sha256,
    });
  }

  private bind(
    p: Proposal,
    expected: string | undefined | null,
  ): { patch: Buffer; sha256: string } | { problem: ApplyProblem; reason: string } {
    if (!expected) {
      return {
        problem: "stale-decision",
        reason:
          "the approval records no sha256 of the patch, so it cannot be bound to what is applied; retry the task (agentctl retry) and approve its new proposal",
      };
    }
    let patch: Buffer;
    try {
      patch = this.o.proposals.patchBytes(p.id);
    } catch (err) {
      return { problem: "patch-changed", reason: `the patch file cannot be read: ${(err as Error).message}` };
    }
    const actual = patchSha256(patch);
    if (actual !== expected) {
      return {
        problem: "patch-changed",
        reason: `the patch file changed after approval: its sha256 is ${actual}, the approval was for ${expected}`,
      };
    }
    return { patch, sha256: actual };
  }

  /** Revert an applied proposal's commit, recording why; takes the repo lock. */
  rollback(p: Proposal, reason: string): Promise<Proposal> {
    return this.o.repo.lock.run(() => this.rollbackLocked(p, reason));
  }

  private async rollbackLocked(p: Proposal, reason: string): Promise<Proposal> {
    const { proposals, repo, board, log } = this.o;
    if (!p.commit) return p;
    log.error("rolling-back", { proposal: p.id, commit: p.commit, reason });
    const rv = await repo.revert({ ...p, commit: p.commit }, reason);
    if (!rv.ok) {
      log.error("rollback-failed", { proposal: p.id, error: rv.error });
      board.setError(`rollback of ${p.id} failed: ${rv.error}`);
      return p;
    }
    const next = proposals.update(p, {
      state: "rolled-back",
      reason,
      rolled_back_at: new Date().toISOString(),
      rollback_commit: rv.commit,
    });
    board.setError(`rolled back ${p.id}: ${reason}`);
    board.status.probation = null;
    this.o.program.reload();
    board.write();
    log.warn("rolled-back", { proposal: p.id, commit: p.commit, rollback_commit: rv.commit, reason });
    return next;
  }
}

/** Decided for good: applied, refused, in conflict, rejected or rolled back (nothing left to apply). */
function isSettled(p: Proposal): boolean {
  return p.state !== "pending" && p.state !== "approved";
}
