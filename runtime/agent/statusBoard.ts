import * as os from "node:os";
import type { RuntimeSettings } from "../settings.js";
import type { SharedLayout } from "../sharedLayout.js";
import { readStatus, writeStatus, type AgentStatus } from "../status.js";

/**
 * This agent's status record (`agents/<agent>/status.json`): the parts of the runtime change
 * its fields, `write()` publishes it (and so renews the agent's lease).
 */
export class StatusBoard {
  readonly status: AgentStatus;

  constructor(
    private readonly layout: SharedLayout,
    s: Pick<RuntimeSettings, "agentName" | "approvalRequired" | "capabilities" | "leaseSeconds">,
  ) {
    const now = new Date().toISOString();
    this.status = {
      agent: s.agentName,
      pid: process.pid,
      hostname: os.hostname(),
      state: "starting",
      started_at: now,
      heartbeat_at: now,
      approval_required: s.approvalRequired,
      capabilities: s.capabilities,
      privilege_separation: false,
      run_as: null,
      current_task: null,
      current_task_started_at: null,
      last_error: null,
      last_error_at: null,
      consecutive_failures: 0,
      probation: null,
      tasks_done: 0,
      tasks_failed: 0,
      lease_seconds: s.leaseSeconds,
      paused: false,
      over_budget: null,
      usage_today: null,
      idle_since: null,
    };
  }

  /** Counters and the change on probation carry over from an earlier run of this agent. */
  restore(): void {
    const prev = readStatus(this.layout, this.status.agent);
    if (!prev) return;
    this.status.probation = prev.probation ?? null;
    this.status.tasks_done = prev.tasks_done ?? 0;
    this.status.tasks_failed = prev.tasks_failed ?? 0;
  }

  /** Publish the record with a fresh heartbeat; a failed write is reported, never thrown. */
  write(): void {
    this.status.heartbeat_at = new Date().toISOString();
    try {
      writeStatus(this.layout, this.status);
    } catch (err) {
      process.stderr.write(`agent-runtime: cannot write status: ${(err as Error).message}\n`);
    }
  }

  setError(msg: string | null): void {
    this.status.last_error = msg;
    this.status.last_error_at = msg ? new Date().toISOString() : this.status.last_error_at;
  }
}
