import * as fs from "node:fs";
import * as path from "node:path";
import { NOTIFY_LEDGER_DIR } from "../../contract/notify.js";
import { errnoCode, readJsonFile, writeJsonAtomic } from "../fsAtomic.js";
import type { FleetEvent } from "./events.js";

/**
 * The console's delivery ledger: `<decisions dir>/notify/ledger.json`, rewritten atomically (and
 * fsynced) after every change, so what was delivered survives a restart or a SIGKILL of the
 * console. The decisions dir is written by operators only (agents mount it read-only), so no
 * agent can erase a delivery to get it sent again or mark one delivered to silence it.
 *
 * Delivery is at least once: an event is recorded as pending before it is sent and as delivered
 * right after the sink accepted it; a crash between the two sends it again (with the same key).
 * `agentctl status` and `GET /api/v1/notifications` read the sinks' state from here.
 */
export interface SinkState {
  id: string;
  kind: "webhook" | "command" | "smtp";
  /** Where it delivers, without secrets. */
  label: string;
  on: string[];
  /** When this console first saw the sink (history before it is not sent to it). */
  first_seen: string;
  delivered: number;
  last_delivered_at: string | null;
  /** Failed attempts in a row (0: the last attempt worked, or none failed yet). */
  failures: number;
  last_error: string | null;
  last_error_at: string | null;
  /** No attempt before this time (backoff after failures). */
  next_attempt_at: string | null;
}

export interface Delivery {
  sink: string;
  key: string;
  event: FleetEvent;
  state: "pending" | "delivered";
  attempts: number;
  queued_at: string;
  delivered_at: string | null;
  /** Last scan that still derived the event (hourly precision); old delivered records are pruned. */
  last_seen: string;
}

export interface LedgerData {
  version: 1;
  /** Ids of the sinks the console delivers to now (others are kept with their history). */
  active: string[];
  sinks: Record<string, SinkState>;
  deliveries: Record<string, Delivery>;
}

export function ledgerFile(decisionsDir: string): string {
  return path.join(decisionsDir, NOTIFY_LEDGER_DIR, "ledger.json");
}

const empty = (): LedgerData => ({ version: 1, active: [], sinks: {}, deliveries: {} });

function valid(v: unknown): v is LedgerData {
  const o = v as LedgerData | null;
  return (
    !!o &&
    o.version === 1 &&
    Array.isArray(o.active) &&
    typeof o.sinks === "object" &&
    o.sinks !== null &&
    typeof o.deliveries === "object" &&
    o.deliveries !== null
  );
}

/** The ledger as stored; an empty one when there is none. Throws when it cannot be read. */
export function readLedger(decisionsDir: string): LedgerData {
  try {
    const v = readJsonFile(ledgerFile(decisionsDir));
    if (!valid(v)) throw new Error("not a notification ledger");
    return v;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return empty();
    throw new Error(`notification ledger ${ledgerFile(decisionsDir)}: ${(err as Error).message}`);
  }
}

export class Ledger {
  private constructor(
    readonly file: string,
    readonly data: LedgerData,
  ) {}

  /**
   * Opens (or creates) the ledger. A corrupt one is kept aside as `ledger.json.corrupt-<time>`
   * and a new one started: its sinks count as new, so only what still needs a human is sent again.
   */
  static open(decisionsDir: string, warn: (msg: string) => void): Ledger {
    const file = ledgerFile(decisionsDir);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    try {
      return new Ledger(file, readLedger(decisionsDir));
    } catch (err) {
      const aside = `${file}.corrupt-${Date.now()}`;
      fs.renameSync(file, aside);
      warn(`${(err as Error).message}; kept as ${aside}, starting a new ledger`);
      return new Ledger(file, empty());
    }
  }

  static deliveryId(sink: string, key: string): string {
    return `${sink} ${key}`;
  }

  save(): void {
    writeJsonAtomic(this.file, this.data);
  }
}
