import * as fs from "node:fs";
import * as path from "node:path";
import { PROPOSAL_ID_PATTERN } from "../ids.js";
import { createFileExclusive, errnoCode } from "../fsAtomic.js";

/**
 * An operator's decision on a proposal: `<decisions dir>/<proposal-id>.json`, written once
 * (exclusive create: a decision is never overwritten) by `agentctl approve|reject` on the host.
 *
 *   { "proposal": "p-…", "decision": "approve" | "reject", "by": "alice",
 *     "at": "2026-11-21T10:31:34.000Z", "note": "…" (approve, optional), "reason": "…" (reject, required),
 *     "sha256": "…" (optional: the sha256 of the patch file the operator reviewed) }
 *
 * `sha256` is optional so decisions written before it existed stay readable; agentctl and the
 * console record it with every approval.
 * The runtime only reads these. A missing file is never a yes; an invalid one is reported and
 * treated as no answer.
 */
export interface Decision {
  proposal: string;
  decision: "approve" | "reject";
  by: string;
  at: string;
  note?: string;
  reason?: string;
  /** sha256 (lowercase hex) of the patch file the operator reviewed and decided on. */
  sha256?: string;
  /** Every approver, when the proposal needed several (./approvals.ts); `by` lists them too. */
  approvers?: string[];
}

/** A patch hash as decisions record it. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function decisionFile(dir: string, proposalId: string): string {
  return path.join(dir, `${proposalId}.json`);
}

export function validateDecision(v: unknown, proposalId: string): Decision {
  if (typeof v !== "object" || v === null) throw new Error("decision file is not a JSON object");
  const o = v as Record<string, unknown>;
  if (o.proposal !== proposalId)
    throw new Error(`decision names proposal ${JSON.stringify(o.proposal)}, expected ${proposalId}`);
  if (o.decision !== "approve" && o.decision !== "reject")
    throw new Error(`"decision" must be "approve" or "reject", got ${JSON.stringify(o.decision)}`);
  if (typeof o.by !== "string" || o.by.trim() === "") throw new Error(`"by" must name who decided`);
  if (typeof o.at !== "string") throw new Error(`"at" must be a timestamp`);
  if (o.decision === "reject" && (typeof o.reason !== "string" || o.reason.trim() === ""))
    throw new Error("a rejection needs a reason");
  if (o.approvers !== undefined && (!Array.isArray(o.approvers) || !o.approvers.every((n) => typeof n === "string")))
    throw new Error(`"approvers" must be a list of names`);
  if (o.sha256 !== undefined && (typeof o.sha256 !== "string" || !SHA256_PATTERN.test(o.sha256)))
    throw new Error(`"sha256" must be 64 lowercase hexadecimal digits, got ${JSON.stringify(o.sha256)}`);
  return {
    proposal: proposalId,
    decision: o.decision,
    by: o.by,
    at: o.at,
    ...(typeof o.note === "string" ? { note: o.note } : {}),
    ...(typeof o.reason === "string" ? { reason: o.reason } : {}),
    ...(typeof o.sha256 === "string" ? { sha256: o.sha256 } : {}),
    ...(Array.isArray(o.approvers) ? { approvers: o.approvers as string[] } : {}),
  };
}

export type ReadDecision =
  { kind: "none" } | { kind: "invalid"; error: string } | { kind: "decided"; decision: Decision };

export function readDecision(dir: string, proposalId: string): ReadDecision {
  let text: string;
  try {
    text = fs.readFileSync(decisionFile(dir, proposalId), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { kind: "none" };
    return { kind: "invalid", error: (err as Error).message };
  }
  try {
    return { kind: "decided", decision: validateDecision(JSON.parse(text), proposalId) };
  } catch (err) {
    return { kind: "invalid", error: (err as Error).message };
  }
}

/** Write a decision once; throws when one exists already. */
export function writeDecision(dir: string, d: Decision): void {
  if (!PROPOSAL_ID_PATTERN.test(d.proposal)) throw new Error(`"${d.proposal}" is not a proposal id`);
  if (!createFileExclusive(decisionFile(dir, d.proposal), JSON.stringify(d, null, 2) + "\n")) {
    const prev = readDecision(dir, d.proposal);
    const what =
      prev.kind === "decided"
        ? `${prev.decision.decision} by ${prev.decision.by} at ${prev.decision.at}`
        : "an unreadable decision file";
    throw new Error(`proposal ${d.proposal} already has a decision (${what})`);
  }
}
