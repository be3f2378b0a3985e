import { PROPOSAL_ID_PATTERN } from "../ids.js";
import type { Proposal } from "../proposals/proposal.js";

/**
 * The commit messages the runtime writes to /app. Their trailers are the audit trail, and
 * `Proposal-Id:` is also the record of truth that keeps a proposal from being applied twice.
 */
export const TRAILER = {
  proposal: "Proposal-Id",
  task: "Task-Id",
  approvedBy: "Approved-By",
  reverts: "Reverts",
  rolledBack: "Rolled-Back-Proposal",
  project: "Project",
  agent: "Agent",
} as const;

export const INITIAL_IMPORT_MESSAGE = `Initial import of the agent's code\n\n${TRAILER.approvedBy}: operator`;

export function outsideChangesMessage(when: string): string {
  return `Changes made outside the runtime (found at ${when})\n\n${TRAILER.approvedBy}: operator`;
}

/** The commit of an applied proposal; `head` is what it was applied onto. */
export function applyMessage(p: Proposal, head: string): string {
  return appliedMessage(p, head, [`${TRAILER.proposal}: ${p.id}`, `${TRAILER.task}: ${p.task_id}`]);
}

/**
 * An applied proposal's commit: the task's title, where it was applied, then `trailers` and who
 * approved it (the one layout of /app's and a project's commits).
 */
function appliedMessage(p: Proposal, head: string, trailers: string[]): string {
  const title = p.task_title.split("\n")[0]!.slice(0, 72) || p.task_id;
  const moved =
    head !== p.base_commit
      ? ` (3-way applied onto ${head.slice(0, 12)}; proposed on ${p.base_commit.slice(0, 12)})`
      : "";
  return [
    title,
    "",
    `Change proposed by agent ${p.agent} for task ${p.task_id}${moved}.`,
    "",
    ...trailers,
    `${TRAILER.approvedBy}: ${p.decided_by ?? "autonomous"}`,
    "",
  ].join("\n");
}

/** The commit that reverts an applied proposal (`p.commit`), with the reason. */
export function rollbackMessage(p: Proposal, reason: string): string {
  return [
    `Roll back "${p.task_title.split("\n")[0]!.slice(0, 60)}"`,
    "",
    reason,
    "",
    `${TRAILER.reverts}: ${p.commit}`,
    `${TRAILER.rolledBack}: ${p.id}`,
    `${TRAILER.approvedBy}: runtime`,
    "",
  ].join("\n");
}

/** The commit of a proposal applied to a shared project; `head` is what it was applied onto. */
export function projectApplyMessage(p: Proposal, head: string): string {
  return appliedMessage(p, head, [
    `${TRAILER.project}: ${p.project ?? ""}`,
    `${TRAILER.proposal}: ${p.id}`,
    `${TRAILER.task}: ${p.task_id}`,
    `${TRAILER.agent}: ${p.agent}`,
  ]);
}

/**
 * `git log` arguments that find the commit of one proposal: its `Proposal-Id:` line exactly
 * (a substring search for `p-X` would also find the commit of `p-X-1`, its task's re-run).
 */
export function proposalGrep(proposalId: string): string[] {
  if (!PROPOSAL_ID_PATTERN.test(proposalId)) throw new Error(`not a proposal id: ${JSON.stringify(proposalId)}`);
  return [`--grep=^${TRAILER.proposal}: ${proposalId}$`];
}
