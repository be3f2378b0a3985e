import type { ReviewsView } from "../operator/proposals.js";
import { reviewerName } from "../reviews/reviewStore.js";

/** `cell` escapes agent-controlled text (control characters, bidi) for one line. */
type Cell = (text: string, max?: number) => string;

/** The STATE column's note for a proposal under review: `(reviewing: 1 of 2 approvals)`, `(escalated: …)`. */
export function reviewState(r: ReviewsView): string {
  const approvals = r.verdicts.filter((v) => v.counts && v.verdict === "approve").length;
  if (r.state === "escalated") return ` (escalated by its reviewers: ${r.escalation ?? "no quorum"})`;
  if (r.state === "reviewing") return ` (reviewing: ${approvals} of ${r.quorum} reviewer approvals)`;
  return "";
}

/** `agentctl diff` header lines: every reviewer's verdict with its reasons, escaped. */
export function reviewLines(r: ReviewsView, cell: Cell): string[] {
  const lines = [
    `# reviewers ${r.reviewers.map(reviewerName).join(", ")} (quorum ${r.quorum}): ${r.state}${r.escalation ? `: ${cell(r.escalation)}` : ""}`,
  ];
  for (const name of r.reviewers) {
    const v = r.verdicts.find((x) => x.reviewer === name);
    const who = `#   ${reviewerName(name)}`;
    if (!v) lines.push(`${who}: no verdict yet`);
    else if (v.verdict === "none") lines.push(`${who}: no verdict (${cell(v.error ?? "unknown", 300)})`);
    else {
      const counts = v.counts ? "" : " (of another patch: does not count)";
      lines.push(`${who}: ${v.verdict}${counts}${v.reasons.length === 0 ? "" : ":"}`);
      for (const reason of v.reasons) lines.push(`#     - ${cell(reason, 500)}`);
    }
  }
  return lines;
}
