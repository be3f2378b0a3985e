import type { ProposalReview } from "../proposals/proposal.js";
import { reviewerName, type ReviewRecord } from "./reviewStore.js";

/**
 * Where a proposal's review stands, from its reviewers' records:
 * - `approved` once `quorum` reviewers approved the proposal's patch and none rejected it;
 * - `escalated` as soon as a reviewer rejects it, or the approvals can no longer reach the
 *   quorum (reviewers that gave no verdict: crashed, timed out, wrote none);
 * - `waiting` otherwise.
 * Only records of the proposal's reviewers count, and only verdicts on the patch as proposed
 * (`sha256`): a verdict on another patch counts as no verdict.
 */
export type Tally =
  | { kind: "waiting"; approvers: string[]; outstanding: string[] }
  | { kind: "approved"; approvers: string[] }
  | { kind: "escalated"; reason: string };

export function tally(
  review: Pick<ProposalReview, "reviewers" | "quorum">,
  records: readonly ReviewRecord[],
  sha256: string | null | undefined,
): Tally {
  const byReviewer = new Map(records.filter((r) => review.reviewers.includes(r.reviewer)).map((r) => [r.reviewer, r]));
  const counts = (r: ReviewRecord) => sha256 !== undefined && sha256 !== null && r.sha256 === sha256;
  const rejected = review.reviewers.filter((n) => {
    const r = byReviewer.get(n);
    return r?.verdict === "reject" && counts(r);
  });
  if (rejected.length > 0) return { kind: "escalated", reason: `rejected by ${rejected.map(reviewerName).join(", ")}` };
  const approvers = review.reviewers.filter((n) => {
    const r = byReviewer.get(n);
    return r?.verdict === "approve" && counts(r);
  });
  if (approvers.length >= review.quorum) return { kind: "approved", approvers: approvers.map(reviewerName) };
  const outstanding = review.reviewers.filter((n) => !byReviewer.has(n));
  if (approvers.length + outstanding.length < review.quorum) {
    const silent = review.reviewers.filter((n) => byReviewer.has(n) && !approvers.includes(n));
    const why = silent.map((n) => {
      const r = byReviewer.get(n)!;
      return `${reviewerName(n)} ${r.verdict === "none" ? "gave no verdict" : "reviewed another patch"}`;
    });
    return {
      kind: "escalated",
      reason: `${approvers.length} of ${review.reviewers.length} reviewers approved, ${review.quorum} needed (${why.join(", ")})`,
    };
  }
  return { kind: "waiting", approvers: approvers.map(reviewerName), outstanding };
}
