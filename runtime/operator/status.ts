import { heartbeatAge, leaseAlive, listStatuses, readStatus, type AgentStatus } from "../status.js";
import { openShared } from "./dirs.js";

/** Fleet status and one agent's health, from the agents' status files. */

/** Lease assumed for a status file that does not say (the runtime's AGENT_LEASE_SECONDS default). */
export const DEFAULT_LEASE_SECONDS = 30;

export interface AgentStatusView extends AgentStatus {
  heartbeat_age_seconds: number;
  /** Heartbeat fresher than the agent's lease, and not stopped. */
  alive: boolean;
  /** Stopped by idle scale-down (not down): woken when a task for it arrives. */
  idle_stopped: boolean;
}

/**
 * An agent whose last run declared itself idle and is no longer alive was stopped by idle
 * scale-down (a start rewrites the status without `idle_since` before anything else).
 */
export function idleStopped(s: AgentStatus | undefined, alive: boolean): boolean {
  return !!s && !alive && s.idle_since != null;
}

const tenths = (n: number) => Math.round(n * 10) / 10;

export function fleetStatus(shared: string, now = Date.now()): AgentStatusView[] {
  return listStatuses(openShared(shared)).map((s) => {
    const alive = leaseAlive(s, s.lease_seconds ?? DEFAULT_LEASE_SECONDS, now);
    return { ...s, heartbeat_age_seconds: tenths(heartbeatAge(s, now)), alive, idle_stopped: idleStopped(s, alive) };
  });
}

export interface HealthReport {
  agent: string;
  healthy: boolean;
  /** Stopped by idle scale-down: not healthy (nothing runs), yet nothing is wrong either. */
  idle_stopped: boolean;
  state: AgentStatus["state"] | null;
  heartbeat_age_seconds: number | null;
  last_error: string | null;
  /** The lease the heartbeat was measured against. */
  lease_seconds: number;
  /** The status file's heartbeat time, when there is one. */
  heartbeat_at: string | null;
}

/**
 * Healthy while the agent's heartbeat is younger than its lease and it has not stopped (the
 * image's HEALTHCHECK). `leaseSeconds` overrides the lease in the status file.
 */
export function agentHealth(shared: string, agent: string, leaseSeconds?: number, now = Date.now()): HealthReport {
  const s = readStatus(openShared(shared), agent);
  const lease = leaseSeconds ?? s?.lease_seconds ?? DEFAULT_LEASE_SECONDS;
  const healthy = !!s && s.state !== "stopped" && heartbeatAge(s, now) <= lease;
  return {
    agent,
    healthy,
    idle_stopped: idleStopped(s, healthy),
    state: s?.state ?? null,
    heartbeat_age_seconds: s ? tenths(heartbeatAge(s, now)) : null,
    last_error: s?.last_error ?? null,
    lease_seconds: lease,
    heartbeat_at: s?.heartbeat_at ?? null,
  };
}
