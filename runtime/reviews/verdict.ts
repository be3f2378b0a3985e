import { TASK_ENV, VERDICT_FILE_MAX_BYTES, VERDICT_MAX_REASONS, VERDICT_REASON_MAX_CHARS } from "../../contract/env.js";
import { readAgentFile } from "../workspace/agentFile.js";

/**
 * What a reviewer agent's program decides about a proposal, in `$TASK_VERDICT`:
 * `{ "verdict": "approve" | "reject", "reasons": ["…"] }` (reasons required to reject, optional
 * to approve; nothing else). The file is the agent's: hostile input, read like $TASK_USAGE_FILE
 * (readAgentFile) and bounded (VERDICT_FILE_MAX_BYTES, VERDICT_MAX_REASONS, VERDICT_REASON_MAX_CHARS).
 */
export interface Verdict {
  verdict: "approve" | "reject";
  reasons: string[];
}

export type VerdictRead = { verdict: Verdict } | { error: string } | null;

const FIELDS = ["verdict", "reasons"];

/** A parsed verdict, or the reason it is refused (naming the field). */
export function parseVerdict(text: string): { verdict: Verdict } | { error: string } {
  const name = TASK_ENV.verdictFile;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `${name} is not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { error: `${name} must hold a JSON object { verdict, reasons }` };
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!FIELDS.includes(k))
      return { error: `${name}: unknown field ${JSON.stringify(k.slice(0, 40))} (allowed: ${FIELDS.join(", ")})` };
  if (o.verdict !== "approve" && o.verdict !== "reject")
    return { error: `${name}: "verdict" must be "approve" or "reject"` };
  const reasons = o.reasons ?? [];
  if (!Array.isArray(reasons) || reasons.length > VERDICT_MAX_REASONS)
    return { error: `${name}: "reasons" must be a list of at most ${VERDICT_MAX_REASONS} strings` };
  for (const r of reasons)
    if (typeof r !== "string" || r.trim() === "" || [...r].length > VERDICT_REASON_MAX_CHARS)
      return {
        error: `${name}: every reason must be a non-empty string of at most ${VERDICT_REASON_MAX_CHARS} characters`,
      };
  if (o.verdict === "reject" && reasons.length === 0)
    return { error: `${name}: a rejection needs at least one reason in "reasons"` };
  return { verdict: { verdict: o.verdict, reasons: reasons as string[] } };
}

/** The verdict the program left (null: none), read without following links, as `uid`'s file only. */
export function readVerdictFile(file: string, uid?: number): VerdictRead {
  const r = readAgentFile(file, TASK_ENV.verdictFile, VERDICT_FILE_MAX_BYTES, uid);
  if (r === null || "error" in r) return r;
  return parseVerdict(r.text);
}
