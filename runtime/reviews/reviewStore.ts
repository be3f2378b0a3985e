import * as fs from "node:fs";
import * as path from "node:path";
import { VERDICT_MAX_REASONS, VERDICT_REASON_MAX_CHARS } from "../../contract/env.js";
import { createFileExclusive, isTmpName, listDir } from "../fsAtomic.js";
import { NAME_PATTERN, PROPOSAL_ID_PATTERN } from "../ids.js";
import { SHA256_PATTERN } from "../proposals/decision.js";
import type { SharedLayout } from "../sharedLayout.js";
import { readAgentFile } from "../workspace/agentFile.js";

/**
 * What one reviewer agent said about one proposal: `reviews/<proposal-id>/<reviewer>.json` in the
 * shared dir, written once by the reviewer's runtime (exclusive create) from its program's
 * $TASK_VERDICT. `none`: the reviewer gave no verdict (its program failed, timed out, or wrote
 * none or an invalid one; `error` says which). `sha256` is of the patch the reviewer's program was
 * given: a verdict counts only for a proposal whose patch has that sha256.
 */
export interface ReviewRecord {
  proposal: string;
  reviewer: string;
  verdict: "approve" | "reject" | "none";
  reasons: string[];
  sha256: string | null;
  task_id: string;
  at: string;
  error?: string;
}

/** How reviewer agents are named where humans are (Approved-By, decided_by); no person's name starts so. */
export const REVIEWER_PREFIX = "agent:";
export function reviewerName(agent: string): string {
  return `${REVIEWER_PREFIX}${agent}`;
}

/** Largest record file read (a record is the runtime's, but bounded all the same). */
const RECORD_MAX_BYTES = 4 * VERDICT_MAX_REASONS * VERDICT_REASON_MAX_CHARS + 4096;

export class ReviewStore {
  constructor(readonly layout: SharedLayout) {}

  private dir(proposal: string): string {
    return path.join(this.layout.reviewsRoot, proposal);
  }

  /** Record a reviewer's verdict once; false when this reviewer has one for this proposal already. */
  write(r: ReviewRecord): boolean {
    if (!PROPOSAL_ID_PATTERN.test(r.proposal)) throw new Error(`"${r.proposal}" is not a proposal id`);
    if (!NAME_PATTERN.test(r.reviewer)) throw new Error(`"${r.reviewer}" is not an agent name`);
    const dir = this.dir(r.proposal);
    createDir(dir);
    return createFileExclusive(path.join(dir, `${r.reviewer}.json`), JSON.stringify(r, null, 2) + "\n");
  }

  /** The valid records of a proposal, by reviewer name (unreadable or foreign files are skipped). */
  list(proposal: string): ReviewRecord[] {
    if (!PROPOSAL_ID_PATTERN.test(proposal)) return [];
    const out: ReviewRecord[] = [];
    for (const n of listDir(this.dir(proposal)).sort()) {
      if (isTmpName(n) || !n.endsWith(".json")) continue;
      const read = readAgentFile(path.join(this.dir(proposal), n), "review record", RECORD_MAX_BYTES);
      if (read === null || "error" in read) continue;
      try {
        const r = validateRecord(JSON.parse(read.text), proposal, n.slice(0, -5));
        if (r) out.push(r);
      } catch {
        /* not a record */
      }
    }
    return out;
  }
}

/** The proposal's folder in reviews/ (the shared layout made reviews/ itself). */
function createDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

function validateRecord(v: unknown, proposal: string, reviewer: string): ReviewRecord | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.proposal !== proposal || o.reviewer !== reviewer || !NAME_PATTERN.test(reviewer)) return undefined;
  if (o.verdict !== "approve" && o.verdict !== "reject" && o.verdict !== "none") return undefined;
  const reasons = o.reasons;
  if (!Array.isArray(reasons) || reasons.length > VERDICT_MAX_REASONS || !reasons.every((x) => typeof x === "string"))
    return undefined;
  if (o.sha256 !== null && (typeof o.sha256 !== "string" || !SHA256_PATTERN.test(o.sha256))) return undefined;
  if (typeof o.task_id !== "string" || typeof o.at !== "string") return undefined;
  return {
    proposal,
    reviewer,
    verdict: o.verdict,
    reasons: reasons as string[],
    sha256: o.sha256,
    task_id: o.task_id,
    at: o.at,
    ...(typeof o.error === "string" ? { error: o.error } : {}),
  };
}
