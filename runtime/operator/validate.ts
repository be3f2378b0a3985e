import { NAME_PATTERN, PROPOSAL_ID_PATTERN, TASK_ID_PATTERN } from "../ids.js";
import { SHA256_PATTERN } from "../proposals/decision.js";
import { PROPOSAL_STATES, type ProposalState } from "../proposals/proposal.js";
import { MAX_PRIORITY, MIN_PRIORITY, TASK_STATES, type TaskStatus } from "../queue/taskRecord.js";
import { InvalidInput } from "./errors.js";

/**
 * Parsers of operator input shared by agentctl's options and the console's request fields. Each
 * takes the label to name in its message ("--priority" on the command line, "priority" in JSON),
 * so a bad value is reported in the caller's own terms; the rule itself lives here once.
 */

/** Upper bound of a task's own attempt limit. */
export const MAX_TASK_ATTEMPTS = 100;

function wholeNumber(raw: string | number, label: string, min: number, max: number, what: string): number {
  const s = String(raw).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max)
    throw new InvalidInput(label, `${label} must be a whole number from ${what}, got ${JSON.stringify(String(raw))}`);
  return Number(s);
}

export function parsePriority(raw: string | number, label = "priority"): number {
  return wholeNumber(
    raw,
    label,
    MIN_PRIORITY,
    MAX_PRIORITY,
    `${MIN_PRIORITY} (lowest) to ${MAX_PRIORITY} (most urgent)`,
  );
}

export function parseMaxAttempts(raw: string | number, label = "max_attempts"): number {
  return wholeNumber(raw, label, 1, MAX_TASK_ATTEMPTS, `1 to ${MAX_TASK_ATTEMPTS}`);
}

/** A count of lines (0 or more). */
export function parseLineCount(raw: string | number, label = "lines"): number {
  return wholeNumber(raw, label, 0, Number.MAX_SAFE_INTEGER, "0 up");
}

export function parseName(raw: string, label: string): string {
  if (!NAME_PATTERN.test(raw))
    throw new InvalidInput(label, `${label} ${JSON.stringify(raw)} is not valid (lowercase letters, digits, dashes)`);
  return raw;
}

export function parseTaskState(raw: string, label = "state"): TaskStatus {
  if (!TASK_STATES.includes(raw as TaskStatus))
    throw new InvalidInput(label, `${label} must be one of ${TASK_STATES.join(", ")}, got ${JSON.stringify(raw)}`);
  return raw as TaskStatus;
}

export function parseProposalState(raw: string, label = "state"): ProposalState {
  if (!PROPOSAL_STATES.includes(raw as ProposalState))
    throw new InvalidInput(label, `${label} must be one of ${PROPOSAL_STATES.join(", ")}, got ${JSON.stringify(raw)}`);
  return raw as ProposalState;
}

export function parseTaskId(raw: string, label = "id"): string {
  if (!TASK_ID_PATTERN.test(raw))
    throw new InvalidInput(label, `${JSON.stringify(raw)} is not a task id (t-YYMMDD-HHMMSS-xxxxxx)`);
  return raw;
}

export function parseProposalId(raw: string, label = "id"): string {
  if (!PROPOSAL_ID_PATTERN.test(raw))
    throw new InvalidInput(label, `${JSON.stringify(raw)} is not a proposal id (p-YYMMDD-HHMMSS-xxxxxx)`);
  return raw;
}

/** A sha256 in hex (64 digits, either case); returned lowercase. */
export function parseSha256(raw: string, label = "sha256"): string {
  const s = raw.trim().toLowerCase();
  if (!SHA256_PATTERN.test(s))
    throw new InvalidInput(
      label,
      `${label} must be 64 hexadecimal digits (the sha256 shown with the patch), got ${JSON.stringify(raw)}`,
    );
  return s;
}
