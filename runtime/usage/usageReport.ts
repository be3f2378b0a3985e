import { TASK_ENV, USAGE_FILE_MAX_BYTES, USAGE_MAX_TOKENS, USAGE_MAX_USD } from "../../contract/env.js";
import { readAgentFile } from "../workspace/agentFile.js";

/**
 * What an agent program reports about its model usage for one run, in `$TASK_USAGE_FILE`:
 * `{ "tokens_in": 1200, "tokens_out": 300, "usd": 0.0123 }` (every field optional, nothing else).
 * The file is the agent's: hostile input. It is read without following a link, only when it is
 * a regular file of the agent user of at most USAGE_FILE_MAX_BYTES, and every value is bounded.
 */
export interface Usage {
  tokens_in: number;
  tokens_out: number;
  usd: number;
}

export type UsageRead = { usage: Usage } | { error: string } | null;

const FIELDS = ["tokens_in", "tokens_out", "usd"] as const;

/** A parsed usage report, or the reason it is refused (naming the field). */
export function parseUsage(text: string): { usage: Usage } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `${TASK_ENV.usageFile} is not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { error: `${TASK_ENV.usageFile} must hold a JSON object { tokens_in, tokens_out, usd }` };
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(FIELDS as readonly string[]).includes(k))
      return {
        error: `${TASK_ENV.usageFile}: unknown field ${JSON.stringify(k.slice(0, 40))} (allowed: ${FIELDS.join(", ")})`,
      };
  const usage: Usage = { tokens_in: 0, tokens_out: 0, usd: 0 };
  for (const k of ["tokens_in", "tokens_out"] as const) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0 || x > USAGE_MAX_TOKENS)
      return { error: `${TASK_ENV.usageFile}: "${k}" must be a whole number from 0 to ${USAGE_MAX_TOKENS}` };
    usage[k] = x;
  }
  if (o.usd !== undefined) {
    if (typeof o.usd !== "number" || !Number.isFinite(o.usd) || o.usd < 0 || o.usd > USAGE_MAX_USD)
      return { error: `${TASK_ENV.usageFile}: "usd" must be a number from 0 to ${USAGE_MAX_USD}` };
    usage.usd = o.usd;
  }
  return { usage };
}

/**
 * Read the usage file the program left: null when there is none. Read as readAgentFile reads
 * (no link followed, no FIFO, only a regular file of `uid`, at most USAGE_FILE_MAX_BYTES).
 */
export function readUsageFile(file: string, uid?: number): UsageRead {
  const r = readAgentFile(file, TASK_ENV.usageFile, USAGE_FILE_MAX_BYTES, uid);
  if (r === null || "error" in r) return r;
  return parseUsage(r.text);
}
