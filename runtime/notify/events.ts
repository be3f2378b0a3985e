import type { NotifyEvent } from "../../contract/notify.js";
import { listDir } from "../fsAtomic.js";
import { DEFAULT_LEASE_SECONDS } from "../operator/status.js";
import { escapeText } from "../operator/escape.js";
import { readDecision } from "../proposals/decision.js";
import { ProposalStore, type Proposal } from "../proposals/proposal.js";
import { TaskQueue } from "../queue/taskQueue.js";
import type { SharedLayout } from "../sharedLayout.js";
import { heartbeatAge, readStatus, type AgentStatus } from "../status.js";

/**
 * The events the console notifies about, derived from the shared dir's state on every scan (the
 * same files `agentctl status`, `tasks` and `proposals` read): nothing in an agent's path waits for
 * them. Each event has a dedup key that names the state it was derived from, so the same state
 * scanned twice is the same event, and a new occurrence (a new failure, a new stale heartbeat) is
 * a new one. Every agent-controlled string is escaped and bounded here, before it is stored in
 * the ledger or leaves the machine.
 */
export interface FleetEvent {
  /** Dedup key: `<event>:<what>[:<occurrence>]`; receivers may drop a key they have seen. */
  key: string;
  event: NotifyEvent;
  /** When it happened (ISO 8601), as far as the files say. */
  at: string;
  agent: string | null;
  task_id: string | null;
  proposal_id: string | null;
  /** One line for a human: escaped, at most NOTIFY_TEXT.summary characters. */
  summary: string;
  /** More detail (an error, a reason): escaped, one line, at most NOTIFY_TEXT.detail characters. */
  detail: string | null;
}

/** Bounds of agent-controlled text in a notification. */
export const NOTIFY_TEXT = { summary: 200, detail: 500, field: 120 } as const;

/** Escaped (control, bidi and invisible characters made visible), on one line, bounded. */
export function safeText(s: unknown, max: number): string {
  const text = escapeText(typeof s === "string" ? s : String(s ?? ""), { multiline: false }).text;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Events whose occurrence is history (a failure, a conflict, a rollback): a sink added today is
 * not sent last month's. The others are states that still need a human (pending, unhealthy, over
 * budget) and are sent whenever they hold.
 */
export const HISTORICAL_EVENTS: ReadonlySet<NotifyEvent> = new Set(["task-failed", "conflict", "rolled-back"]);

function proposalsOf(layout: SharedLayout): Proposal[] {
  const store = new ProposalStore(layout);
  const out: Proposal[] = [];
  for (const n of listDir(layout.proposals)) {
    if (!n.endsWith(".json")) continue;
    try {
      const p = store.get(n.slice(0, -5));
      if (p) out.push(p);
    } catch {
      /* being rewritten or corrupt: the next scan sees it */
    }
  }
  return out;
}

function proposalEvent(p: Proposal, decisionsDir: string): FleetEvent | undefined {
  const base = {
    agent: safeText(p.agent, NOTIFY_TEXT.field),
    task_id: safeText(p.task_id, NOTIFY_TEXT.field),
    proposal_id: p.id,
  };
  const title = safeText(p.task_title, NOTIFY_TEXT.summary);
  const stat = p.diffstat ? ` (+${Number(p.diffstat.added) || 0} -${Number(p.diffstat.removed) || 0})` : "";
  if (p.state === "pending") {
    // Decided but not applied yet: no human is needed any more.
    if (readDecision(decisionsDir, p.id).kind === "decided") return undefined;
    return {
      ...base,
      key: `proposal-pending:${p.id}`,
      event: "proposal-pending",
      at: p.created_at,
      summary: safeText(`${base.agent} proposes${stat}: ${title}`, NOTIFY_TEXT.summary),
      detail: null,
    };
  }
  if (p.state === "conflict")
    return {
      ...base,
      key: `conflict:${p.id}`,
      event: "conflict",
      at: p.updated_at,
      summary: safeText(`${base.agent}'s change did not apply: ${title}`, NOTIFY_TEXT.summary),
      detail: p.reason ? safeText(p.reason, NOTIFY_TEXT.detail) : null,
    };
  if (p.state === "rolled-back")
    return {
      ...base,
      key: `rolled-back:${p.id}`,
      event: "rolled-back",
      at: p.rolled_back_at ?? p.updated_at,
      summary: safeText(`${base.agent}'s change was rolled back: ${title}`, NOTIFY_TEXT.summary),
      detail: p.reason ? safeText(p.reason, NOTIFY_TEXT.detail) : null,
    };
  return undefined;
}

function agentEvents(s: AgentStatus, now: number): FleetEvent[] {
  const agent = safeText(s.agent, NOTIFY_TEXT.field);
  const out: FleetEvent[] = [];
  const lease = Number(s.lease_seconds) > 0 ? Number(s.lease_seconds) : DEFAULT_LEASE_SECONDS;
  const age = heartbeatAge(s, now);
  // A stopped agent said goodbye; one whose heartbeat is older than its lease did not. One that
  // declared itself idle was stopped by idle scale-down (idle-stopped, woken by work): not down.
  if (s.state !== "stopped" && s.idle_since == null && Number.isFinite(age) && age > lease) {
    out.push({
      key: `agent-unhealthy:${s.agent}:${s.heartbeat_at}`,
      event: "agent-unhealthy",
      at: new Date(Date.parse(s.heartbeat_at) + lease * 1000).toISOString(),
      agent,
      task_id: s.current_task ? safeText(s.current_task, NOTIFY_TEXT.field) : null,
      proposal_id: null,
      summary: safeText(
        `${agent} stopped reporting: no heartbeat for more than its ${lease}s lease`,
        NOTIFY_TEXT.summary,
      ),
      detail: s.last_error ? safeText(s.last_error, NOTIFY_TEXT.detail) : null,
    });
  }
  if (s.over_budget) {
    const b = s.over_budget;
    out.push({
      key: `budget-exceeded:${s.agent}:${String(b.until)}`,
      event: "budget-exceeded",
      at: new Date(now).toISOString(),
      agent,
      task_id: null,
      proposal_id: null,
      summary: safeText(
        `${agent} is over its daily budget (${Number(b.spent_usd ?? 0).toFixed(2)} of ${Number(b.limit_usd).toFixed(2)} USD): it claims nothing until ${String(b.until)}`,
        NOTIFY_TEXT.summary,
      ),
      detail: null,
    });
  }
  return out;
}

/** Every event the shared dir shows now (unreadable files are skipped: the next scan sees them). */
export function deriveEvents(layout: SharedLayout, decisionsDir: string, now = Date.now()): FleetEvent[] {
  const out: FleetEvent[] = [];
  for (const p of proposalsOf(layout)) {
    const e = proposalEvent(p, decisionsDir);
    if (e) out.push(e);
  }
  for (const t of new TaskQueue(layout).list("failed")) {
    const at = t.completed_at ?? t.history.at(-1)?.at ?? t.created_at;
    const agent = t.claimed_by ?? t.agent;
    out.push({
      key: `task-failed:${t.id}:${at}`,
      event: "task-failed",
      at,
      agent: agent ? safeText(agent, NOTIFY_TEXT.field) : null,
      task_id: t.id,
      proposal_id: null,
      summary: safeText(`task failed after ${t.attempts} attempt(s): ${t.title}`, NOTIFY_TEXT.summary),
      detail: t.last_error ? safeText(t.last_error, NOTIFY_TEXT.detail) : null,
    });
  }
  for (const a of listDir(layout.agentsRoot)) {
    let s: AgentStatus | undefined;
    try {
      s = readStatus(layout, a);
    } catch {
      continue;
    }
    if (s && s.agent === a && typeof s.heartbeat_at === "string") out.push(...agentEvents(s, now));
  }
  return out;
}
