
/**
 * Task and proposal ids: safe as file names, sortable by creation time, short enough to type.
 * Shape: `t-YYMMDD-HHMMSS-xxxxxx` (UTC) where x is from an alphabet without look-alikes
 * (no 0/o, 1/l/i). The suffix only has to be unique, not secret: Math.random (seeded per process
 * from the OS) is enough, and leaves node:crypto unloaded (2 MiB less resident memory).
 * A task's proposal shares its suffix: task `t-X` has proposal `p-X`, so a task
 * can never produce two proposals, even when it runs twice after a crash.
 */
const ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"; // 31 symbols
const SUFFIX_LENGTH = 6;

export const TASK_ID_PATTERN = /^t-\d{6}-\d{6}-[2-9a-hjkmnp-z]{6}$/;
export const PROPOSAL_ID_PATTERN = /^p-\d{6}-\d{6}-[2-9a-hjkmnp-z]{6}$/;

export function newTaskId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-21T10:31:34.123Z
  const date = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const time = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  let suffix = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `t-${date}-${time}-${suffix}`;
}

export function proposalIdForTask(taskId: string): string {
  return "p-" + taskId.slice(2);
}

/** Agent names and capabilities: lowercase DNS-label-like tokens (they appear in file names). */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A short random hex string for temporary names (unique, not secret). */
export function randomHex(chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}
