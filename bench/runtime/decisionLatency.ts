import * as fs from "node:fs";
import { writeDecision } from "../../runtime/proposals/decision.js";
import { patchSha256 } from "../../runtime/proposals/patchHash.js";
import { ProposalStore } from "../../runtime/proposals/proposal.js";
import { TaskQueue } from "../../runtime/queue/taskQueue.js";
import { sharedLayout } from "../../runtime/sharedLayout.js";
import { startBenchAgent, until } from "./runtimeProcess.js";

/**
 * Decision-to-commit latency: proposals wait (APPROVAL_REQUIRED=true); each is approved by
 * writing its decision file the way `agentctl approve` does; latency = the commit's time
 * (the proposal's applied_at, taken right after `git commit`) minus the decision's time.
 */
export async function decisionLatency(dir: string, agentDir: string, samples: number): Promise<number[]> {
  const agent = startBenchAgent(dir, "bench-latency", agentDir, { AGENT_POLL_MS: "1000" });
  try {
    const layout = sharedLayout(agent.shared);
    await until("shared dir", () => fs.existsSync(layout.pending));
    const queue = new TaskQueue(layout);
    const store = new ProposalStore(layout);
    for (let i = 0; i < samples; i++) {
      const edit = { edits: [{ write: { path: `bench/f${i}.txt`, content: `${i}\n` } }] };
      queue.addTask({
        title: `latency ${i}`,
        instructions: "```json\n" + JSON.stringify(edit) + "\n```\n",
        maxAttempts: 0,
        createdBy: "bench",
      });
    }
    const pending = await until(
      "proposals",
      () => {
        const p = store.list({ state: "pending" });
        return p.length === samples ? p : undefined;
      },
      300_000,
      100,
    );
    const out: number[] = [];
    for (const p of pending) {
      // One approval at a time, to an idle agent (the previous change's start check has run).
      await new Promise((r) => setTimeout(r, 500));
      const at = new Date();
      writeDecision(agent.decisions, {
        proposal: p.id,
        decision: "approve",
        by: "bench",
        at: at.toISOString(),
        sha256: patchSha256(store.patchBytes(p.id)),
      });
      const applied = await until(`apply of ${p.id}`, () => {
        const x = store.get(p.id);
        return x && x.state !== "pending" && x.state !== "approved" ? x : undefined;
      });
      if (applied.state !== "applied" || !applied.applied_at)
        throw new Error(`proposal ${p.id} ended ${applied.state}: ${applied.reason}`);
      out.push(Date.parse(applied.applied_at) - at.getTime());
    }
    return out;
  } finally {
    await agent.stop();
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
