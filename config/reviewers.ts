import type { AgentReviewers } from "../contract/env.js";
import type { AddProblem } from "./targetPart.js";

/** `review.reviewers` and `review.quorum` as written, fleet-wide or for one agent. */
export interface ReviewersInput {
  reviewers?: string[] | undefined;
  quorum?: number | undefined;
}

/**
 * Each agent's reviewer agents (docs/program.md "Reviewer agents"): its own `review.reviewers`,
 * else the fleet's; its own `review.quorum`, else the fleet's, else all of its reviewers. The
 * fleet's list applies to every agent without the agent itself (an agent never reviews its own
 * proposals); an agent's own list naming itself is an error. Problems are reported at the key
 * that causes them. Returns the agents that have reviewers.
 */
export function resolveReviewers(
  fleet: ReviewersInput,
  agents: ReadonlyArray<{ index: number; name: string; review: ReviewersInput | undefined }>,
  add: AddProblem,
): Map<string, AgentReviewers> {
  const names = new Set(agents.map((a) => a.name));
  const known = [...names].sort().join(", ");
  const checkList = (list: string[], at: ReadonlyArray<PropertyKey>, self?: string) =>
    list.forEach((n, j) => {
      if (!names.has(n)) add([...at, j], `no agent is named "${n}" (agents: ${known})`);
      else if (list.indexOf(n) !== j) add([...at, j], `"${n}" is listed twice`);
      else if (n === self) add([...at, j], `${n} cannot review its own proposals: an agent never reviews itself`);
    });
  if (fleet.reviewers) checkList(fleet.reviewers, ["review", "reviewers"]);
  if (fleet.quorum !== undefined && !fleet.reviewers)
    add(["review", "quorum"], "is set but review.reviewers is not: name the reviewer agents");

  const out = new Map<string, AgentReviewers>();
  for (const a of agents) {
    const own = a.review?.reviewers;
    if (own) checkList(own, ["agents", a.index, "review", "reviewers"], a.name);
    const list = [...new Set((own ?? fleet.reviewers ?? []).filter((n) => n !== a.name && names.has(n)))].sort();
    const ownQuorum = a.review?.quorum;
    const quorumAt = ownQuorum !== undefined || own ? ["agents", a.index, "review", "quorum"] : ["review", "quorum"];
    const quorum = ownQuorum ?? (own ? undefined : fleet.quorum) ?? list.length;
    if (list.length === 0) {
      if (ownQuorum !== undefined)
        add(["agents", a.index, "review", "quorum"], `is set but agent ${a.name} has no reviewer agents`);
      continue;
    }
    if (quorum > list.length)
      add(
        quorumAt,
        `${quorum} is more than the ${list.length} reviewer(s) agent ${a.name} has (${list.join(", ")}; an agent never reviews its own proposals)`,
      );
    out.set(a.name, { agents: list, quorum: Math.min(quorum, list.length) });
  }
  return out;
}
