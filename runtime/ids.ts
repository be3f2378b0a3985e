/**
 * Task and proposal ids: safe as file names, sortable by creation time, short enough to type.
 * Shape: `t-YYMMDD-HHMMSS-xxxxxx` (UTC) where x is from an alphabet without look-alikes
 * (no 0/o, 1/l/i). The suffix only has to be unique, not secret: Math.random (seeded per process
 * from the OS) is enough, and leaves node:crypto unloaded (2 MiB less resident memory).
 * A task's proposal shares its suffix: task `t-X` has proposal `p-X`, so a task
 * can never produce two proposals, even when it runs twice after a crash. A task run again on
 * purpose (its change did not apply) counts its re-runs, and each re-run has its own proposal.
 */
const ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"; // 31 symbols
const SUFFIX_LENGTH = 6;

export const TASK_ID_PATTERN = /^t-\d{6}-\d{6}-[2-9a-hjkmnp-z]{6}$/;
/** A re-run task's proposal carries its run number: `p-X-2` is the proposal of task `t-X`'s third run. */
export const PROPOSAL_ID_PATTERN = /^p-\d{6}-\d{6}-[2-9a-hjkmnp-z]{6}(-[1-9]\d?)?$/;

/**
 * How often one task may be run again after its change did not apply (autonomous re-runs on a
 * new HEAD plus `agentctl retry`); keeps proposal ids within PROPOSAL_ID_PATTERN.
 */
export const MAX_TASK_RERUNS = 20;

export function newTaskId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-21T10:31:34.123Z
  const date = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const time = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  let suffix = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `t-${date}-${time}-${suffix}`;
}

/** The proposal of a task's run: `p-X` for its first, `p-X-N` after N re-runs. */
export function proposalIdForTask(taskId: string, reruns = 0): string {
  return "p-" + taskId.slice(2) + (reruns > 0 ? `-${reruns}` : "");
}

/** Agent names and capabilities: lowercase DNS labels (they appear in file names). */
export { DNS_LABEL as NAME_PATTERN } from "../contract/names.js";

/** A short random hex string for temporary names (unique, not secret). */
export function randomHex(chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}
