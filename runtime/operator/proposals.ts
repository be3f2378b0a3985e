import { readApprovalVotes, type ApprovalVote } from "../proposals/approvals.js";
import * as fs from "node:fs";
import { errnoCode } from "../fsAtomic.js";
import { readDecision, type Decision } from "../proposals/decision.js";
import { ProposalStore, type Proposal, type ProposalState } from "../proposals/proposal.js";
import type { SharedLayout } from "../sharedLayout.js";
import { ReviewStore, type ReviewRecord } from "../reviews/reviewStore.js";
import { openShared, type OperatorDirs } from "./dirs.js";
import { NotFound } from "./errors.js";
import { patchSha256 } from "./patchHash.js";
import { parseProposalId } from "./validate.js";

/** Proposals with the operator's decision laid over the state their runtime last wrote. */

export interface ProposalView extends Proposal {
  /** The decision file, when there is one (a pending proposal may be decided, not yet applied). */
  decision: Decision | null;
  /** `state`, or the decision's outcome while the runtime has not acted on it yet. */
  effective_state: ProposalState;
  /** sha256 of the patch file's bytes (what an approval binds to); null when the patch is gone (pruned). */
  sha256: string | null;
  /** With several approvers required: the approvals so far (each bound to the sha256 it reviewed). */
  approvals?: ApprovalVote[];
  /** With reviewer agents: their verdicts so far (escape the reasons before showing them). */
  reviews?: ReviewsView;
}

/** A proposal's review by reviewer agents, as humans see it. */
export interface ReviewsView {
  reviewers: string[];
  quorum: number;
  state: "reviewing" | "escalated" | "approved";
  escalation: string | null;
  /** One per reviewer that has answered; `counts`: a verdict on the patch as proposed. */
  verdicts: Array<ReviewRecord & { counts: boolean }>;
}

export interface ProposalWithPatch extends ProposalView {
  sha256: string;
  /** The patch bytes (may be anything the agent produced: escape before showing). */
  patchBytes: Buffer;
}

export interface ProposalFilter {
  /** The stored state (what the runtime wrote). */
  state?: ProposalState;
  agent?: string;
}

function readPatch(layout: SharedLayout, id: string): Buffer {
  try {
    return fs.readFileSync(layout.patchFile(id));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new NotFound(`proposal ${id} has no patch file`);
    throw err;
  }
}

function viewOf(p: Proposal, decisions: string, patch: Buffer | null, layout: SharedLayout): ProposalView {
  const r = readDecision(decisions, p.id);
  const decision = r.kind === "decided" ? r.decision : null;
  const effective: ProposalState =
    p.state === "pending" && decision ? (decision.decision === "approve" ? "approved" : "rejected") : p.state;
  const approvals = (p.approvals_required ?? 1) > 1 ? { approvals: readApprovalVotes(decisions, p.id) } : {};
  const reviews = p.review ? { reviews: reviewsOf(p, layout) } : {};
  return {
    ...p,
    decision,
    effective_state: effective,
    sha256: patch ? patchSha256(patch) : null,
    ...approvals,
    ...reviews,
  };
}

function reviewsOf(p: Proposal, layout: SharedLayout): ReviewsView {
  const r = p.review!;
  return {
    reviewers: r.reviewers,
    quorum: r.quorum,
    state: r.state,
    escalation: r.escalation ?? null,
    verdicts: new ReviewStore(layout)
      .list(p.id)
      .filter((v) => r.reviewers.includes(v.reviewer))
      .map((v) => ({ ...v, counts: v.verdict !== "none" && !!p.proposed_sha256 && v.sha256 === p.proposed_sha256 })),
  };
}

export function listProposals(dirs: OperatorDirs, filter: ProposalFilter = {}): ProposalView[] {
  const layout = openShared(dirs.shared);
  const store = new ProposalStore(layout);
  const out: ProposalView[] = [];
  for (const p of store.list({
    ...(filter.state ? { state: filter.state } : {}),
    ...(filter.agent ? { agent: filter.agent } : {}),
  })) {
    let patch: Buffer | null;
    try {
      patch = readPatch(layout, p.id);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      patch = null; // pruned after a decision: listed, not reviewable
    }
    out.push(viewOf(p, dirs.decisions, patch, layout));
  }
  return out;
}

/** The stored proposal alone (no decision, no patch); NotFound when there is none. */
export function getProposal(shared: string, id: string): Proposal {
  parseProposalId(id);
  const layout = openShared(shared);
  const p = new ProposalStore(layout).get(id);
  if (!p) throw new NotFound(`no proposal ${id} in ${layout.proposals}`);
  return p;
}

/** One proposal with its patch bytes and their sha256. */
export function showProposal(dirs: OperatorDirs, id: string): ProposalWithPatch {
  const p = getProposal(dirs.shared, id);
  const layout = openShared(dirs.shared);
  const patchBytes = readPatch(layout, p.id);
  return { ...viewOf(p, dirs.decisions, patchBytes, layout), sha256: patchSha256(patchBytes), patchBytes };
}
