import { backoffDelayMs } from "../tasks/backoff.js";
import { sharedLayout } from "../sharedLayout.js";
import { deliver as send, notificationBody, NOTIFY_SEND, type NotificationBody } from "./deliver.js";
import { deriveEvents, HISTORICAL_EVENTS, type FleetEvent } from "./events.js";
import { Ledger, type Delivery, type SinkState } from "./ledger.js";
import type { Sink } from "./sinks.js";

/**
 * The console's notifier: every scan derives the fleet's events from the shared dir, records the
 * new ones per subscribed sink in the ledger (pending), and lets each sink send its oldest pending
 * notification when it is not busy and not backing off. A failure backs that sink off (doubling
 * from NOTIFY_TIMING.backoffBaseMs to backoffMaxMs) and shows in its state; other sinks carry on.
 * Nothing here is on an agent's path: agents only write the files that are scanned.
 */
export const NOTIFY_TIMING = {
  /** Between scans of the shared dir (well below any agent's lease). */
  scanMs: 1000,
  backoffBaseMs: 1000,
  backoffMaxMs: 5 * 60_000,
  /** A delivered record is forgotten once its event has not been seen for this long. */
  pruneAfterMs: 7 * 24 * 3600_000,
  /** last_seen is refreshed at this precision (so a quiet scan writes nothing). */
  seenPrecisionMs: 3600_000,
} as const;

export interface NotifierOptions {
  shared: string;
  decisions: string;
  fleet: string;
  sinks: readonly Sink[];
  log: (line: string) => void;
  /** Test seam for the clock; default Date.now. */
  now?: () => number;
  /** Test seam for sending; default deliver.ts. */
  deliver?: (sink: Sink, body: NotificationBody) => Promise<void>;
}

export class Notifier {
  private readonly ledger: Ledger;
  private readonly now: () => number;
  private readonly deliver: (sink: Sink, body: NotificationBody) => Promise<void>;
  private readonly busy = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private scanError: string | undefined;

  constructor(private readonly o: NotifierOptions) {
    this.now = o.now ?? Date.now;
    this.deliver = o.deliver ?? send;
    this.ledger = Ledger.open(o.decisions, (m) => o.log(`agentctl serve: notifications: ${m}`));
    const at = new Date(this.now()).toISOString();
    const d = this.ledger.data;
    for (const s of o.sinks) {
      const known = d.sinks[s.id];
      d.sinks[s.id] = {
        id: s.id,
        kind: s.kind,
        label: s.label,
        on: [...s.on],
        first_seen: known?.first_seen ?? at,
        delivered: known?.delivered ?? 0,
        last_delivered_at: known?.last_delivered_at ?? null,
        failures: known?.failures ?? 0,
        last_error: known?.last_error ?? null,
        last_error_at: known?.last_error_at ?? null,
        // A restart may try at once: the operator may have just fixed the sink.
        next_attempt_at: null,
      };
    }
    d.active = o.sinks.map((s) => s.id);
    this.ledger.save();
  }

  get sinkCount(): number {
    return this.o.sinks.length;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.tick();
      this.timer = setTimeout(loop, NOTIFY_TIMING.scanMs);
    };
    loop();
  }

  /** Stops scanning and waits for the attempts in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.busy.values()]);
  }

  /** One scan: record new events, then start what is due. */
  tick(): void {
    try {
      this.record(deriveEvents(sharedLayout(this.o.shared), this.o.decisions, this.now()));
      if (this.scanError) this.o.log(`agentctl serve: notifications: scanning works again`);
      this.scanError = undefined;
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.scanError) this.o.log(`agentctl serve: notifications: cannot scan the shared dir: ${msg}`);
      this.scanError = msg;
    }
    for (const sink of this.o.sinks) this.startNext(sink);
  }

  private record(events: FleetEvent[]): void {
    const d = this.ledger.data;
    const now = this.now();
    const iso = new Date(now).toISOString();
    let changed = false;
    for (const sink of this.o.sinks) {
      const state = d.sinks[sink.id]!;
      const firstSeen = Date.parse(state.first_seen);
      for (const e of events) {
        if (!sink.on.has(e.event)) continue;
        const id = Ledger.deliveryId(sink.id, e.key);
        const known = d.deliveries[id];
        if (known) {
          if (now - Date.parse(known.last_seen) >= NOTIFY_TIMING.seenPrecisionMs) {
            known.last_seen = iso;
            changed = true;
          }
          continue;
        }
        if (HISTORICAL_EVENTS.has(e.event) && !(Date.parse(e.at) >= firstSeen)) continue;
        d.deliveries[id] = {
          sink: sink.id,
          key: e.key,
          event: e,
          state: "pending",
          attempts: 0,
          queued_at: iso,
          delivered_at: null,
          last_seen: iso,
        };
        changed = true;
      }
    }
    for (const [id, r] of Object.entries(d.deliveries)) {
      if (r.state === "delivered" && now - Date.parse(r.last_seen) > NOTIFY_TIMING.pruneAfterMs) {
        delete d.deliveries[id];
        changed = true;
      }
    }
    if (changed) this.ledger.save();
  }

  private nextPending(sinkId: string): Delivery | undefined {
    let best: Delivery | undefined;
    for (const r of Object.values(this.ledger.data.deliveries)) {
      if (r.sink !== sinkId || r.state !== "pending") continue;
      if (!best || r.queued_at < best.queued_at || (r.queued_at === best.queued_at && r.key < best.key)) best = r;
    }
    return best;
  }

  private startNext(sink: Sink): void {
    if (this.stopped || this.busy.has(sink.id)) return;
    const state = this.ledger.data.sinks[sink.id]!;
    if (state.next_attempt_at && Date.parse(state.next_attempt_at) > this.now()) return;
    const r = this.nextPending(sink.id);
    if (!r) return;
    const attempt = this.attempt(sink, state, r).finally(() => {
      this.busy.delete(sink.id);
      // The next one at once: a backlog drains at the sink's pace, not one per scan.
      this.startNext(sink);
    });
    this.busy.set(sink.id, attempt);
  }

  private async attempt(sink: Sink, state: SinkState, r: Delivery): Promise<void> {
    r.attempts++;
    try {
      await this.deliver(sink, notificationBody(this.o.fleet, r.event));
      const at = new Date(this.now()).toISOString();
      r.state = "delivered";
      r.delivered_at = at;
      state.delivered++;
      state.last_delivered_at = at;
      state.failures = 0;
      state.next_attempt_at = null;
    } catch (err) {
      const msg = (err as Error).message.slice(0, NOTIFY_SEND.maxErrorLength);
      state.failures++;
      state.last_error = msg;
      state.last_error_at = new Date(this.now()).toISOString();
      const wait = backoffDelayMs(NOTIFY_TIMING.backoffBaseMs, NOTIFY_TIMING.backoffMaxMs, state.failures);
      state.next_attempt_at = new Date(this.now() + wait).toISOString();
      if (state.failures === 1 || state.failures % 10 === 0)
        this.o.log(`agentctl serve: notifications: ${sink.label} failed (${state.failures}x): ${msg}`);
    }
    this.ledger.save();
  }
}
