import type { AgentUser } from "./agentUser.js";

/** A run's change against its base commit: `git diff --numstat` and the binary-safe patch. */
export interface ExtractedChange {
  patch: string;
  numstat: string;
}

export const NO_CHANGE: ExtractedChange = { patch: "", numstat: "" };

/** Split the output of `git diff --numstat --patch` (numstat lines first, then the patch). */
export function splitDiffOutput(stdout: string): ExtractedChange {
  const at = stdout.search(/^diff --git /m);
  if (at < 0) return NO_CHANGE;
  return { patch: stdout.slice(at), numstat: stdout.slice(0, at) };
}

/**
 * Stage everything in the working copy and print the change against `base`, both as the agent
 * user; the runtime only reads the printed patch. Throws with git's reason, or when the patch
 * is longer than `patchMaxBytes` (the agent user's stdout is cut there).
 */
export async function extractChange(user: AgentUser, work: string, home: string, base: string, patchMaxBytes: number): Promise<ExtractedChange> {
  const add = await user.run("git", ["add", "-A"], work, home);
  if (add.code !== 0) throw new Error(`git add in the working copy failed: ${add.stderr.trim()}`);
  // One call prints the numstat, then the patch.
  const diff = await user.run("git", ["diff", "--cached", "--numstat", "--patch", "--binary", "--full-index", "--no-color", "--no-ext-diff", base], work, home);
  // Checked first: cutting the output kills git, which then exits without a reason of its own.
  if (diff.truncated) throw new Error(`the change is larger than AGENT_PATCH_MAX_BYTES (${patchMaxBytes})`);
  if (diff.code !== 0) throw new Error(`git diff in the working copy failed: ${diff.stderr.trim()}`);
  return splitDiffOutput(diff.stdout);
}
