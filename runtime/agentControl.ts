import * as fs from "node:fs";
import { errnoCode, writeJsonAtomic } from "./fsAtomic.js";
import type { SharedLayout } from "./sharedLayout.js";

/**
 * `control/<agent>.json`: the operator's switches for one agent, written by agentctl or the
 * console (never by a runtime), read by the agent's runtime before every claim. It lives in the
 * shared dir, so a pause survives the agent's restarts and needs no Pulumi run.
 */
export interface AgentControl {
  agent: string;
  /** No new claims while true; the current task finishes, decisions are still applied. */
  paused: boolean;
  /** Who set the switch (operator or token name). */
  by: string;
  at: string;
  reason: string | null;
}

/** Longest `by` and `reason` a control record may hold (characters). */
export const MAX_CONTROL_BY_LENGTH = 200;
export const MAX_CONTROL_REASON_LENGTH = 2000;

/** What the runtime makes of the control file: `error` when it is unreadable (then it counts as paused). */
export interface ControlState {
  paused: boolean;
  record: AgentControl | null;
  error?: string;
}

/** Problems of a parsed control record, for its agent; empty when it is valid. */
export function controlProblems(v: unknown, agent: string): string[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return ["not a JSON object"];
  const o = v as Record<string, unknown>;
  const p: string[] = [];
  if (o.agent !== agent) p.push(`"agent" is not ${JSON.stringify(agent)}`);
  if (typeof o.paused !== "boolean") p.push(`"paused" must be true or false`);
  if (typeof o.by !== "string" || o.by.length > MAX_CONTROL_BY_LENGTH) p.push(`"by" must be a short string`);
  if (typeof o.at !== "string" || Number.isNaN(Date.parse(o.at))) p.push(`"at" must be a timestamp`);
  if (o.reason !== null && (typeof o.reason !== "string" || o.reason.length > MAX_CONTROL_REASON_LENGTH))
    p.push(`"reason" must be null or at most ${MAX_CONTROL_REASON_LENGTH} characters`);
  return p;
}

/**
 * The agent's switches now. No file: not paused. A file that cannot be read or is not a valid
 * record counts as paused (an operator meant to say something; the agent waits until it is fixed).
 */
export function readControl(l: SharedLayout, agent: string): ControlState {
  let text: string;
  try {
    text = fs.readFileSync(l.controlFile(agent), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { paused: false, record: null };
    return { paused: true, record: null, error: `cannot read ${l.controlFile(agent)}: ${(err as Error).message}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { paused: true, record: null, error: `${l.controlFile(agent)} is not JSON: ${(err as Error).message}` };
  }
  const problems = controlProblems(v, agent);
  if (problems.length > 0)
    return { paused: true, record: null, error: `${l.controlFile(agent)} is invalid: ${problems.join("; ")}` };
  const c = v as AgentControl;
  return { paused: c.paused, record: c };
}

export function writeControl(l: SharedLayout, c: AgentControl): void {
  fs.mkdirSync(l.controlRoot, { recursive: true, mode: 0o755 });
  writeJsonAtomic(l.controlFile(c.agent), c);
}
