import { TASK_ENV } from "../../contract/env.js";
import type { AgentLogger } from "../log.js";
import type { Proposal, ProposalStore } from "../proposals/proposal.js";
import type { TaskQueue } from "../queue/taskQueue.js";
import { MAX_PRIORITY } from "../queue/taskRecord.js";
import { tally, type Tally } from "./quorum.js";
import type { ReviewStore } from "./reviewStore.js";

export interface ReviewCoordinatorOptions {
  agentName: string;
  queue: TaskQueue;
  proposals: ProposalStore;
  reviews: ReviewStore;
  log: AgentLogger;
}

/**
 * The reviewed agent's side of a review: queues one review task per reviewer agent for each of
 * its proposals under review (once; again after a crash only for reviewers without one), then
 * counts the verdicts (./quorum.ts). The decision loop acts on the count.
 */
export class ReviewCoordinator {
  constructor(private readonly o: ReviewCoordinatorOptions) {}

  step(p: Proposal): { proposal: Proposal; tally: Tally } {
    const review = p.review!;
    if (!p.proposed_sha256)
      return { proposal: p, tally: { kind: "escalated", reason: "the proposal records no sha256 to review" } };
    const tasks = { ...(review.tasks ?? {}) };
    let queued = false;
    for (const reviewer of review.reviewers) {
      // A reviewer never reviews its own agent's proposals (the config and settings refuse it too).
      if (reviewer === p.agent || tasks[reviewer]) continue;
      const t = this.o.queue.addTask({
        title: `review ${p.id} of ${p.agent}: ${p.task_title}`.slice(0, 200),
        description: `Review proposal ${p.id} of agent ${p.agent} (task ${p.task_id}). Its patch is $${TASK_ENV.reviewPatch}; write your verdict to $${TASK_ENV.verdictFile}.`,
        contextPaths: [this.o.proposals.layout.patchFile(p.id)],
        agent: reviewer,
        priority: MAX_PRIORITY,
        maxAttempts: 1,
        createdBy: `agent:${this.o.agentName}`,
        review: { proposal: p.id, agent: p.agent, sha256: p.proposed_sha256 },
      });
      tasks[reviewer] = t.id;
      queued = true;
      this.o.log.info("review-queued", { proposal: p.id, reviewer, task: t.id });
    }
    const cur = queued ? this.o.proposals.update(p, { review: { ...review, tasks } }) : p;
    return { proposal: cur, tally: tally(review, this.o.reviews.list(p.id), p.proposed_sha256) };
  }
}
