import { readLedgers, utcDay, type LedgerEntry } from "../usage/usageLedger.js";
import { openShared } from "./dirs.js";
import { InvalidInput } from "./errors.js";
import { parseName } from "./validate.js";

/** The agents' usage ledgers (usage/<agent>/<day>.json), summed per agent and day. */

export interface UsageRow {
  agent: string;
  day: string;
  runs: number;
  tokens_in: number;
  tokens_out: number;
  usd: number;
}

export interface UsageSummary {
  /** Per agent and UTC day, oldest first. */
  days: UsageRow[];
  /** Every run's entry counted in `days`. */
  entries: Array<LedgerEntry & { agent: string }>;
  total: Omit<UsageRow, "agent" | "day">;
}

/** `--since`: a UTC day (`2026-11-29`) or a timestamp (`2026-11-29T12:00:00Z`). */
export function parseSince(raw: string, label = "since"): { day: string; at?: number } {
  const s = raw.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`))) return { day: s };
  const t = /^\d{4}-\d{2}-\d{2}T/.test(s) ? Date.parse(s) : Number.NaN;
  if (Number.isNaN(t))
    throw new InvalidInput(
      label,
      `${label} must be a UTC day (YYYY-MM-DD) or a timestamp (YYYY-MM-DDTHH:MM:SSZ), got ${JSON.stringify(raw)}`,
    );
  return { day: utcDay(t), at: t };
}

const micro = (usd: number) => Math.round(usd * 1e6);

export function usageSummary(shared: string, o: { agent?: string; since?: string } = {}): UsageSummary {
  const layout = openShared(shared);
  const agent = o.agent !== undefined ? parseName(o.agent, "agent") : undefined;
  const since = o.since !== undefined ? parseSince(o.since) : undefined;
  const days: UsageRow[] = [];
  const entries: UsageSummary["entries"] = [];
  let total = { runs: 0, tokens_in: 0, tokens_out: 0, usd: 0 };
  for (const d of readLedgers(layout, { ...(agent ? { agent } : {}), ...(since ? { sinceDay: since.day } : {}) })) {
    const kept = d.entries.filter((e) => since?.at === undefined || Date.parse(e.at) >= since.at);
    if (kept.length === 0) continue;
    const row = { agent: d.agent, day: d.day, runs: 0, tokens_in: 0, tokens_out: 0, usd: 0 };
    for (const e of kept) {
      row.runs++;
      row.tokens_in += e.tokens_in;
      row.tokens_out += e.tokens_out;
      row.usd += micro(e.usd);
      entries.push({ agent: d.agent, ...e });
    }
    total = {
      runs: total.runs + row.runs,
      tokens_in: total.tokens_in + row.tokens_in,
      tokens_out: total.tokens_out + row.tokens_out,
      usd: total.usd + row.usd,
    };
    days.push({ ...row, usd: row.usd / 1e6 });
  }
  return { days, entries, total: { ...total, usd: total.usd / 1e6 } };
}
