import { distinctApprovers, readApprovalVotes, writeApprovalVote } from "../proposals/approvals.js";
import { readDecision, writeDecision, type Decision } from "../proposals/decision.js";
import type { OperatorDirs } from "./dirs.js";
import { REVIEWER_PREFIX } from "../reviews/reviewStore.js";
import { openDecisions } from "./dirs.js";
import { Conflict, HashMismatch, InvalidInput } from "./errors.js";
import { showProposal } from "./proposals.js";
import { parseSha256 } from "./validate.js";

/** Approve or reject a pending proposal by writing its decision file (once, never overwritten). */

export interface DecideInput {
  id: string;
  decision: "approve" | "reject";
  /** Who decides (operator or token name). */
  by: string;
  /** Approve: optional note. */
  note?: string;
  /** Reject: required reason. */
  reason?: string;
  /**
   * The sha256 of the patch the operator reviewed. When given, the decision is refused
   * (HashMismatch) unless it is the patch's sha256 now. Either way the decision records the
   * patch's current sha256, which the runtime checks before it applies.
   */
  sha256?: string;
}

/** The decision as written; with several approvers required, also how many have approved so far. */
export type DecideResult = Decision & { approvals?: { have: number; need: number; approvers: string[] } };

export function decide(dirs: OperatorDirs, d: DecideInput): DecideResult {
  const reason = d.reason?.trim();
  if (d.decision === "reject" && !reason) throw new InvalidInput("reason", "a rejection needs a reason");
  if (!d.by?.trim()) throw new InvalidInput("by", "a decision needs the name of who decides");
  if (d.by.trim().startsWith(REVIEWER_PREFIX))
    throw new InvalidInput(
      "by",
      `names starting with "${REVIEWER_PREFIX}" are reviewer agents' (runtime/reviews), not a person's`,
    );
  const expected = d.sha256 !== undefined ? parseSha256(d.sha256) : undefined;
  const p = showProposal(dirs, d.id);
  if (p.state !== "pending") throw new Conflict(`proposal ${p.id} is ${p.state}, not pending: nothing to decide`);
  if (expected !== undefined && expected !== p.sha256) throw new HashMismatch(p.id, expected, p.sha256);
  const decisionsDir = openDecisions(dirs.decisions);
  const decision: Decision = {
    proposal: p.id,
    decision: d.decision,
    by: d.by,
    at: new Date().toISOString(),
    ...(d.decision === "approve" && d.note ? { note: d.note } : {}),
    ...(d.decision === "reject" ? { reason: reason! } : {}),
    sha256: p.sha256,
  };
  const prev = readDecision(decisionsDir, p.id);
  if (prev.kind === "decided")
    throw new Conflict(
      `proposal ${p.id} already has a decision (${prev.decision.decision} by ${prev.decision.by} at ${prev.decision.at})`,
    );
  const need = p.approvals_required ?? 1;
  if (d.decision === "approve" && need > 1) return approveWithQuorum(decisionsDir, decision, need);
  try {
    writeDecision(decisionsDir, decision);
  } catch (err) {
    // Another operator won the exclusive create between our check and our write.
    if (/already has a decision/.test((err as Error).message)) throw new Conflict((err as Error).message);
    throw err;
  }
  return decision;
}

/**
 * An approval of a proposal that needs `need` distinct approvers: this approver's vote (once per
 * name), and the decision file once the votes on the patch as it is now reach `need`.
 */
function approveWithQuorum(decisionsDir: string, decision: Decision, need: number): DecideResult {
  const { proposal, by, at, sha256 } = decision;
  if (
    !writeApprovalVote(decisionsDir, {
      proposal,
      by,
      at,
      sha256: sha256!,
      ...(decision.note ? { note: decision.note } : {}),
    })
  )
    throw new Conflict(`${by} has approved proposal ${proposal} already: it needs ${need} distinct approvers`);
  const approvers = distinctApprovers({
    by,
    approvers: readApprovalVotes(decisionsDir, proposal)
      .filter((v) => v.sha256 === sha256)
      .map((v) => v.by),
  });
  const approvals = { have: approvers.length, need, approvers };
  if (approvers.length < need) return { ...decision, approvals };
  const final: Decision = { ...decision, by: approvers.join(", "), approvers };
  try {
    writeDecision(decisionsDir, final);
  } catch (err) {
    // Another approver completed the quorum at the same moment: that decision stands.
    if (!/already has a decision/.test((err as Error).message)) throw err;
  }
  return { ...final, approvals };
}
