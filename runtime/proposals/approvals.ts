import * as fs from "node:fs";
import * as path from "node:path";
import { createFileExclusive, errnoCode, isTmpName } from "../fsAtomic.js";
import { patchSha256 } from "./patchHash.js";

/**
 * Approvals of a proposal that needs several distinct human approvers (`review.approvals` in the
 * stack config, AGENT_REVIEW_APPROVALS; recorded in the proposal as `approvals_required`). Each
 * approver's vote is `<decisions dir>/<p-id>.approvals/<sha256 of the name>.json`, created once
 * (the same name approving twice is refused, so it counts once). The vote that completes the
 * quorum writes the proposal's decision file with every approver's name; the runtime checks that
 * the decision names that many distinct approvers before it applies anything.
 */
export interface ApprovalVote {
  proposal: string;
  by: string;
  at: string;
  /** The patch's sha256 the approver reviewed. */
  sha256: string;
  note?: string;
}

export function approvalsDir(decisionsDir: string, proposalId: string): string {
  return path.join(decisionsDir, `${proposalId}.approvals`);
}

/** One vote per approver name; false when this name has voted already. */
export function writeApprovalVote(decisionsDir: string, v: ApprovalVote): boolean {
  const dir = approvalsDir(decisionsDir, v.proposal);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, `${patchSha256(Buffer.from(v.by, "utf8"))}.json`);
  return createFileExclusive(file, JSON.stringify(v, null, 2) + "\n");
}

/** The valid votes for a proposal (unreadable or foreign files are skipped), oldest first. */
export function readApprovalVotes(decisionsDir: string, proposalId: string): ApprovalVote[] {
  const dir = approvalsDir(decisionsDir, proposalId);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => !isTmpName(n) && n.endsWith(".json"));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw err;
  }
  const out: ApprovalVote[] = [];
  for (const n of names) {
    try {
      const v = JSON.parse(fs.readFileSync(path.join(dir, n), "utf8")) as ApprovalVote;
      if (v.proposal === proposalId && typeof v.by === "string" && typeof v.sha256 === "string") out.push(v);
    } catch {
      /* not a vote */
    }
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** Distinct approver names of a decision (its `approvers`, else its `by`). */
export function distinctApprovers(d: { by: string; approvers?: string[] }): string[] {
  return [...new Set((d.approvers ?? [d.by]).map((n) => n.trim()).filter((n) => n !== ""))];
}
