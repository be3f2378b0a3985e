import * as fs from "node:fs";
import { errnoCode, isTmpName, listDir, readJsonFile, writeJsonAtomic } from "../fsAtomic.js";
import type { SharedLayout } from "../sharedLayout.js";
import type { Usage } from "./usageReport.js";

/**
 * An agent's usage ledger: one file per UTC day, `usage/<agent>/<YYYY-MM-DD>.json`, holding every
 * run's report and the day's totals. Only the agent's runtime writes it, always whole (tmp +
 * fsync + rename), so a SIGKILL at any instant leaves the previous version or the new one. An
 * entry is keyed by task and run start: writing the same run again replaces it (never counted twice).
 */
export interface LedgerEntry extends Usage {
  task: string;
  /** 1-based attempt of the task this run was. */
  attempt: number;
  /** When the run started (with `task`, the entry's key). */
  run_at: string;
  /** When the runtime recorded it. */
  at: string;
}

export interface LedgerDay extends Usage {
  agent: string;
  day: string;
  runs: number;
  entries: LedgerEntry[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day of a time, `YYYY-MM-DD`. */
export function utcDay(t: number | Date = Date.now()): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Midnight UTC after `t` (when a daily budget starts again). */
export function nextUtcDay(t: number = Date.now()): string {
  const d = new Date(t);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}

/** Sums in micro-dollars, so that many small reports add up exactly. */
const micro = (usd: number) => Math.round(usd * 1e6);

function totals(agent: string, day: string, entries: LedgerEntry[]): LedgerDay {
  let usd = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  for (const e of entries) {
    usd += micro(e.usd);
    tokensIn += e.tokens_in;
    tokensOut += e.tokens_out;
  }
  return { agent, day, usd: usd / 1e6, tokens_in: tokensIn, tokens_out: tokensOut, runs: entries.length, entries };
}

/** A day's ledger file; an empty day when there is none. Throws when the file is not a ledger. */
export function readLedgerDay(l: SharedLayout, agent: string, day: string): LedgerDay {
  let v: unknown;
  try {
    v = readJsonFile(l.usageFile(agent, day));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return totals(agent, day, []);
    throw new Error(`usage ledger ${l.usageFile(agent, day)} is unreadable: ${(err as Error).message}`);
  }
  const entries = (v as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new Error(`usage ledger ${l.usageFile(agent, day)} has no entries list`);
  return totals(agent, day, entries as LedgerEntry[]);
}

export class UsageLedger {
  /** Today's ledger as last read or written (the runtime is its only writer). */
  private cached: LedgerDay | undefined;

  constructor(
    private readonly layout: SharedLayout,
    private readonly agent: string,
  ) {}

  /** Add (or replace) one run's entry in its day's file; returns that day's totals. */
  record(e: LedgerEntry): LedgerDay {
    const day = utcDay(Date.parse(e.at));
    const current = readLedgerDay(this.layout, this.agent, day);
    const entries = current.entries.filter((x) => !(x.task === e.task && x.run_at === e.run_at));
    entries.push(e);
    const next = totals(this.agent, day, entries);
    fs.mkdirSync(this.layout.usageDir(this.agent), { recursive: true, mode: 0o755 });
    writeJsonAtomic(this.layout.usageFile(this.agent, day), next);
    this.cached = next;
    return next;
  }

  /** Today's totals (UTC). */
  today(now: number = Date.now()): LedgerDay {
    const day = utcDay(now);
    if (this.cached?.day !== day) this.cached = readLedgerDay(this.layout, this.agent, day);
    return this.cached;
  }
}

/** Every ledger day of the shared dir (or of one agent), from `sinceDay` on, oldest first. */
export function readLedgers(l: SharedLayout, o: { agent?: string; sinceDay?: string } = {}): LedgerDay[] {
  const agents = o.agent ? [o.agent] : listDir(l.usageRoot).sort();
  const out: LedgerDay[] = [];
  for (const agent of agents) {
    for (const f of listDir(l.usageDir(agent)).sort()) {
      if (isTmpName(f) || !f.endsWith(".json")) continue;
      const day = f.slice(0, -".json".length);
      if (!DAY.test(day) || (o.sinceDay !== undefined && day < o.sinceDay)) continue;
      out.push(readLedgerDay(l, agent, day));
    }
  }
  return out.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.agent < b.agent ? -1 : 1));
}
