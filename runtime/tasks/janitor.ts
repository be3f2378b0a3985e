import type { AgentLogger } from "../log.js";
import type { TaskQueue } from "../queue/taskQueue.js";
import type { SharedLayout } from "../sharedLayout.js";
import { leaseAlive, readStatus, type AgentStatus } from "../status.js";

/**
 * Return to pending the tasks of other agents whose lease ran out (their heartbeat is older than
 * `leaseSeconds`, or they stopped). Every agent runs this every lease/3; several may race, one
 * rename wins. Never throws: a failure is logged and the next round tries again.
 */
export function reclaimExpiredLeases(queue: TaskQueue, layout: SharedLayout, selfAgent: string, leaseSeconds: number, log: AgentLogger): void {
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
