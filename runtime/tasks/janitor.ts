import * as fs from "node:fs";
import { errnoCode } from "../fsAtomic.js";
import type { AgentLogger } from "../log.js";
import type { ProposalStore } from "../proposals/proposal.js";
import type { TaskQueue } from "../queue/taskQueue.js";
import type { SharedLayout } from "../sharedLayout.js";
import { leaseAlive, readStatus, type AgentStatus } from "../status.js";

/**
 * Return to pending the tasks of other agents whose lease ran out (their heartbeat is older than
 * `leaseSeconds`, or they stopped). Every agent runs this every lease/3; several may race, one
 * rename wins. Never throws: a failure is logged and the next round tries again.
 */
export function reclaimExpiredLeases(
  queue: TaskQueue,
  layout: SharedLayout,
  selfAgent: string,
  leaseSeconds: number,
  log: AgentLogger,
): void {
  try {
    queue.reclaimExpired(
      (agent) => !leaseAlive(safeStatus(layout, agent), leaseSeconds),
      (agent, name) => log.warn("lease-expired", { owner: agent, name, action: "returned to pending" }),
      selfAgent,
    );
  } catch (err) {
    log.error("janitor-failed", { error: (err as Error).message });
  }
}

function safeStatus(l: SharedLayout, agent: string): AgentStatus | undefined {
  try {
    return readStatus(l, agent);
  } catch {
    return undefined;
  }
}

/** How often an agent looks for rejected proposals whose patch outlived the retention period. */
export const PRUNE_EVERY_MS = 3600_000;

/**
 * Remove the patch files of this agent's rejected proposals once they are older than
 * `retentionDays` (AGENT_REJECTED_RETENTION_DAYS; counted from when the runtime recorded the
 * rejection), so rejected changes do not fill the shared disk. The proposal JSON stays, marked
 * `patch_pruned_at`, as the record of what was proposed and why it was rejected. Never throws.
 */
export function pruneRejectedPatches(
  proposals: ProposalStore,
  agent: string,
  retentionDays: number,
  log: AgentLogger,
  now = Date.now(),
): number {
  let pruned = 0;
  try {
    const cutoff = now - retentionDays * 86400_000;
    for (const p of proposals.list({ state: "rejected", agent })) {
      if (p.patch_pruned_at) continue;
      const at = Date.parse(p.updated_at);
      if (!Number.isFinite(at) || at > cutoff) continue;
      try {
        fs.unlinkSync(proposals.layout.patchFile(p.id));
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
      }
      proposals.update(p, { patch_pruned_at: new Date(now).toISOString() });
      pruned++;
    }
    if (pruned > 0) log.info("rejected-patches-pruned", { count: pruned, retention_days: retentionDays });
  } catch (err) {
    log.error("prune-failed", { error: (err as Error).message });
  }
  return pruned;
}
