import { readLedger, type SinkState } from "./ledger.js";

/**
 * The notification sinks as `agentctl status` and `GET /api/v1/notifications` show them, read
 * from the console's ledger in the decisions dir (so the host agentctl sees them without asking
 * the console).
 */
export interface SinkView extends Omit<SinkState, "first_seen"> {
  /** ok: the last attempt worked or none failed; failing: the last attempt(s) failed. */
  state: "ok" | "failing";
  /** Notifications recorded for this sink and not delivered yet. */
  pending: number;
}

/** The sinks the console delivers to now, in the order of the config; [] without a ledger. */
export function notificationSinks(decisionsDir: string): SinkView[] {
  const d = readLedger(decisionsDir);
  const pending = new Map<string, number>();
  for (const r of Object.values(d.deliveries))
    if (r.state === "pending") pending.set(r.sink, (pending.get(r.sink) ?? 0) + 1);
  return d.active.flatMap((id) => {
    const s = d.sinks[id];
    if (!s) return [];
    return [
      {
        id: s.id,
        kind: s.kind,
        label: s.label,
        on: s.on,
        state: s.failures > 0 ? "failing" : "ok",
        pending: pending.get(id) ?? 0,
        delivered: s.delivered,
        last_delivered_at: s.last_delivered_at,
        failures: s.failures,
        last_error: s.last_error,
        last_error_at: s.last_error_at,
        next_attempt_at: s.next_attempt_at,
      },
    ];
  });
}
