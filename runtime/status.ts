import { errnoCode, listDir, readJsonFile, writeJsonAtomic } from "./fsAtomic.js";
import type { SharedLayout } from "./sharedLayout.js";

/** `agents/<name>/status.json`: rewritten (atomically) at every heartbeat and state change. */
export interface AgentStatus {
  agent: string;
  pid: number;
  hostname: string;
  state: "starting" | "running" | "stopping" | "stopped";
  started_at: string;
  heartbeat_at: string;
  approval_required: boolean;
  capabilities: string[];
  privilege_separation: boolean;
  run_as: string | null;
  current_task: string | null;
  current_task_started_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
  /** The most recent applied change, watched until a run succeeds after it. */
  probation: { proposal_id: string; commit: string; failures: number } | null;
  tasks_done: number;
  tasks_failed: number;
  lease_seconds: number;
  /** An operator paused this agent (control/<agent>.json): it claims nothing until resumed. */
  paused?: boolean;
  /** Over its daily budget: it claims nothing until `until` (next UTC day) or a raised limit. */
  over_budget?: { limit_usd: number; spent_usd: number | null; until: string } | null;
  /**
   * Idle scale-down: since when the agent has had nothing to claim for its idle period (it claims
   * nothing until a task arrives); kept in the status its stop writes, so that a stopped agent
   * reads as idle-stopped, not as down. Null: not idle.
   */
  idle_since?: string | null;
  /** Today's (UTC) reported usage, from the agent's ledger. */
  usage_today?: { usd: number; tokens_in: number; tokens_out: number; runs: number } | null;
  /** Shared projects with a remote: what this agent last pushed, and a failing push's state. */
  projects?: Record<string, ProjectPushStatus>;
}

/** A project's push to its remote, as this agent last saw it. */
export interface ProjectPushStatus {
  remote: string | null;
  /** The branch's commit when this agent last pushed or tried to. */
  head: string | null;
  /** The commit the remote has from this agent's last successful push. */
  pushed: string | null;
  pushed_at: string | null;
  /** Why the last push failed (null: it did not). */
  push_error: string | null;
  /** Failed pushes in a row; retried with backoff until one succeeds. */
  push_failures: number;
  next_push_at: string | null;
}

export function writeStatus(l: SharedLayout, s: AgentStatus): void {
  writeJsonAtomic(l.statusFile(s.agent), s);
}

export function readStatus(l: SharedLayout, agent: string): AgentStatus | undefined {
  try {
    return readJsonFile(l.statusFile(agent)) as AgentStatus;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

export function listStatuses(l: SharedLayout): AgentStatus[] {
  const out: AgentStatus[] = [];
  for (const a of listDir(l.agentsRoot)) {
    try {
      const s = readStatus(l, a);
      if (s) out.push(s);
    } catch {
      /* being replaced; atomic writes make this rare */
    }
  }
  return out.sort((a, b) => (a.agent < b.agent ? -1 : 1));
}

/** Seconds since the agent's last heartbeat. */
export function heartbeatAge(s: AgentStatus, now = Date.now()): number {
  return (now - Date.parse(s.heartbeat_at)) / 1000;
}

/** A lease is alive while its agent's heartbeat is younger than the lease and it has not stopped. */
export function leaseAlive(s: AgentStatus | undefined, leaseSeconds: number, now = Date.now()): boolean {
  if (!s || s.state === "stopped") return false;
  return heartbeatAge(s, now) <= leaseSeconds;
}
