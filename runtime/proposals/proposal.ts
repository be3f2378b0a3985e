import * as fs from "node:fs";
import { PROPOSAL_ID_PATTERN } from "../ids.js";
import {
  createFileExclusive,
  errnoCode,
  listDir,
  readJsonFile,
  writeFileAtomic,
  writeJsonAtomic,
} from "../fsAtomic.js";
import type { SharedLayout } from "../sharedLayout.js";

export type ProposalState = "pending" | "approved" | "rejected" | "applied" | "conflict" | "refused" | "rolled-back";
export const PROPOSAL_STATES: ProposalState[] = [
  "pending",
  "approved",
  "rejected",
  "applied",
  "conflict",
  "refused",
  "rolled-back",
];

/**
 * Why an approved proposal was not applied (with `reason`, the text for humans):
 * - `stale-base`: its base is no longer HEAD and a 3-way apply failed (state `conflict`; in
 *   autonomous mode the task is run again on the new HEAD, with approval the operator may retry it);
 * - `apply-failed`: git apply failed on its own base (state `conflict`);
 * - `patch-changed`: the patch file's sha256 is not the one approved (state `refused`);
 * - `stale-decision`: the decision records no sha256 (written before decisions carried one), so
 *   it cannot be bound to the patch (state `refused`; retry the task and approve the new proposal);
 * - `no-space`: /app's file system has too little free space for it (state `refused`);
 * - `not-assigned`: its project is no longer one of the agent's (AGENT_PROJECTS; state `refused`).
 */
export type ApplyProblem =
  "stale-base" | "apply-failed" | "patch-changed" | "stale-decision" | "no-space" | "not-assigned";

export interface DiffStat {
  files: Array<{ path: string; added: number; removed: number }>;
  added: number;
  removed: number;
}

/**
 * A proposal: one task's change to one agent's /app, as a git patch (proposals/<id>.patch) with
 * metadata (proposals/<id>.json). Only the agent's own runtime writes it; the operator's decision
 * is a separate file in the decisions dir.
 */
export interface Proposal {
  id: string;
  task_id: string;
  task_title: string;
  agent: string;
  base_commit: string;
  created_at: string;
  approval_required: boolean;
  /** Distinct human approvers this proposal needs (absent: one). */
  approvals_required?: number;
  state: ProposalState;
  diffstat: DiffStat;
  patch_file: string;
  patch_bytes: number;
  decided_by: string | null;
  decided_at: string | null;
  note: string | null;
  reason: string | null;
  commit: string | null;
  applied_at: string | null;
  rolled_back_at: string | null;
  rollback_commit: string | null;
  updated_at: string;
  /** sha256 of the patch file as the runtime wrote it (absent in proposals made before it existed). */
  proposed_sha256?: string | null;
  /** sha256 the approval bound to (the decision's, or proposed_sha256 for an autonomous one). */
  approved_sha256?: string | null;
  /** Why it was not applied (state `conflict` or `refused`). */
  reason_code?: ApplyProblem | null;
  /** When the patch file of a rejected proposal was removed (AGENT_REJECTED_RETENTION_DAYS). */
  patch_pruned_at?: string | null;
  /**
   * Binary files and symlinks the change writes (only with AGENT_ALLOW_BINARY; a reviewer must
   * see them apart from the text diff), with sizes and link targets. Absent when there are none.
   */
  special_files?: SpecialFile[];
  /**
   * The shared project the change is for (its base commit is the project's); absent or null:
   * the agent's own code in /app.
   */
  project?: string | null;
  /** Reviewer agents of this proposal (AGENT_REVIEWERS when it was made); absent: none. */
  review?: ProposalReview;
}

/**
 * A proposal's review by reviewer agents (runtime/reviews/): `reviewing` until the quorum approves
 * (then it is applied like an approval by those agents) or it cannot (`escalated`: it waits for
 * the humans, like any pending proposal). Humans may decide at any time.
 */
export interface ProposalReview {
  reviewers: string[];
  quorum: number;
  state: "reviewing" | "escalated" | "approved";
  /** The review task queued for each reviewer. */
  tasks?: Record<string, string>;
  escalated_at?: string;
  /** Why it was escalated (for humans; the reviewers' own reasons are in their records). */
  escalation?: string;
}

/** A file a change writes that is not plain text. */
export interface SpecialFile {
  path: string;
  kind: "binary" | "symlink" | "submodule";
  /** Size of what the change writes there (for a symlink: the length of its target). */
  bytes: number;
  /** A symlink's target. */
  target?: string;
}

export class ProposalStore {
  constructor(readonly layout: SharedLayout) {}

  /**
   * Write a new proposal: the patch first, then the metadata with an exclusive create, so a
   * visible proposal always has its patch, and a task can never get two proposals (the id is
   * derived from the task id). Returns the existing one when it was written before.
   */
  create(p: Proposal, patch: string): { proposal: Proposal; created: boolean } {
    const existing = this.get(p.id);
    if (existing) return { proposal: existing, created: false };
    writeFileAtomic(this.layout.patchFile(p.id), patch);
    if (!createFileExclusive(this.layout.proposalFile(p.id), JSON.stringify(p, null, 2) + "\n")) {
      return { proposal: this.get(p.id)!, created: false };
    }
    return { proposal: p, created: true };
  }

  update(p: Proposal, changes: Partial<Proposal>): Proposal {
    const next = { ...p, ...changes, updated_at: new Date().toISOString() };
    writeJsonAtomic(this.layout.proposalFile(p.id), next);
    return next;
  }

  get(id: string): Proposal | undefined {
    if (!PROPOSAL_ID_PATTERN.test(id)) return undefined;
    try {
      return readJsonFile(this.layout.proposalFile(id)) as Proposal;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw new Error(`proposal ${id} cannot be read: ${(err as Error).message}`);
    }
  }

  patch(id: string): string {
    return fs.readFileSync(this.layout.patchFile(id), "utf8");
  }

  /** The patch file's bytes, exactly (what is hashed and applied). */
  patchBytes(id: string): Buffer {
    return fs.readFileSync(this.layout.patchFile(id));
  }

  list(filter?: { state?: ProposalState; agent?: string }): Proposal[] {
    const out: Proposal[] = [];
    for (const n of listDir(this.layout.proposals)) {
      if (!n.endsWith(".json")) continue;
      const p = this.get(n.slice(0, -5));
      if (!p) continue;
      if (filter?.state && p.state !== filter.state) continue;
      if (filter?.agent && p.agent !== filter.agent) continue;
      out.push(p);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** Parse `git diff --numstat` output. */
export function parseNumstat(numstat: string): DiffStat {
  const files: DiffStat["files"] = [];
  let added = 0;
  let removed = 0;
  for (const line of numstat.split("\n")) {
    if (!line.trim()) continue;
    const [a, r, ...rest] = line.split("\t");
    const file = { path: rest.join("\t"), added: a === "-" ? 0 : Number(a), removed: r === "-" ? 0 : Number(r) };
    files.push(file);
    added += file.added;
    removed += file.removed;
  }
  return { files, added, removed };
}
