import * as path from "node:path";
import { ENV } from "../../contract/env.js";
import { FIXED_ATTRIBUTES } from "../git.js";
import { randomHex } from "../ids.js";
import type { SpecialFile } from "../proposals/proposal.js";
import type { AgentUser } from "./agentUser.js";

/** A run's change against its base commit: `git diff --numstat`, the binary-safe patch, and what it writes. */
export interface ExtractedChange {
  patch: string;
  numstat: string;
  /** Binary files, symlinks and submodule entries the change creates or changes. */
  special: SpecialFile[];
  /** Sum of the sizes of the files the change creates or changes (what the patch inflates to). */
  writeBytes: number;
}

export const NO_CHANGE: ExtractedChange = { patch: "", numstat: "", special: [], writeBytes: 0 };

/** Split the output of `git diff --numstat --patch` (numstat lines first, then the patch). */
export function splitDiffOutput(stdout: string): { patch: string; numstat: string } {
  const at = stdout.search(/^diff --git /m);
  if (at < 0) return { patch: "", numstat: "" };
  return { patch: stdout.slice(at), numstat: stdout.slice(0, at) };
}

const DIFF_FLAGS = ["--no-ext-diff", "--no-textconv", "--no-renames", "--no-color"];

/**
 * Stage everything in the working copy and print the change against `base`, as the agent user;
 * the runtime only reads what that prints. The working copy's own `.git` (config, hooks, index,
 * info/attributes, filters, fsmonitor: all the agent's) is never used: git runs on a private git
 * dir made here, after the program's processes are gone, whose objects come from /app (`appObjects`,
 * read-only for the agent) and whose attributes are FIXED_ATTRIBUTES. So no command run here
 * starts anything the agent chose, and the patch is rendered the same way whatever the tree says.
 * Throws with git's reason, or when the patch is longer than `patchMaxBytes`.
 */
export async function extractChange(
  user: AgentUser,
  work: string,
  home: string,
  base: string,
  patchMaxBytes: number,
  appObjects: string,
): Promise<ExtractedChange> {
  // Beside the working copy, in the agent's part of the run dir; a fresh name, created exclusively.
  const gitDir = path.join(path.dirname(work), `.extract-${randomHex(8)}`);
  const setup = await user.run(
    "sh",
    [
      "-c",
      [
        'set -e; mkdir -m 700 -- "$1"; git init -q --bare --template= -- "$1"',
        'mkdir -p -- "$1/objects/info" "$1/info"; printf "%s\\n" "$2" > "$1/objects/info/alternates"; printf "%s\\n" "$3" > "$1/info/attributes"',
      ].join("\n"),
      "sh",
      gitDir,
      appObjects,
      FIXED_ATTRIBUTES,
    ],
    path.dirname(work),
    home,
  );
  if (setup.code !== 0) throw new Error(`preparing the change's git dir failed: ${setup.stderr.trim()}`);
  // The fixed configuration (nothing external runs, no conversions) comes with git's environment (gitEnv).
  const env = { GIT_DIR: gitDir, GIT_WORK_TREE: work };
  const git = (args: string[], input?: string) => user.run("git", args, work, home, env, input);

  const read = await git(["read-tree", base]);
  if (read.code !== 0) throw new Error(`git read-tree ${base} failed: ${read.stderr.trim()}`);
  const add = await git(["add", "-A"]);
  if (add.code !== 0) throw new Error(`git add in the working copy failed: ${add.stderr.trim()}`);
  // One call prints the numstat, then the patch.
  const diff = await git(["diff", "--cached", "--numstat", "--patch", "--binary", "--full-index", ...DIFF_FLAGS, base]);
  // Checked first: cutting the output kills git, which then exits without a reason of its own.
  if (diff.truncated) throw new Error(`the change is larger than ${ENV.patchMaxBytes} (${patchMaxBytes})`);
  if (diff.code !== 0) throw new Error(`git diff in the working copy failed: ${diff.stderr.trim()}`);
  const split = splitDiffOutput(diff.stdout);
  if (split.patch === "") return NO_CHANGE;

  // What the patch writes: every changed path's new mode and blob, and which are binary.
  const raw = await git(["diff", "--cached", "--raw", "-z", "--no-abbrev", ...DIFF_FLAGS, base]);
  if (raw.code !== 0) throw new Error(`git diff --raw failed: ${raw.stderr.trim()}`);
  const num = await git(["diff", "--cached", "--numstat", "-z", ...DIFF_FLAGS, base]);
  if (num.code !== 0) throw new Error(`git diff --numstat failed: ${num.stderr.trim()}`);
  const entries = parseRawZ(raw.stdout);
  const binary = binaryPathsZ(num.stdout);
  const written = entries.filter((e) => e.status !== "D" && e.mode !== "160000");
  const sizes = new Map<string, number>();
  if (written.length > 0) {
    const check = await git(
      ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
      written.map((e) => e.sha).join("\n") + "\n",
    );
    if (check.code !== 0) throw new Error(`git cat-file failed: ${check.stderr.trim()}`);
    for (const line of check.stdout.split("\n")) {
      const [sha, size] = line.split(" ");
      if (sha && size && /^\d+$/.test(size)) sizes.set(sha, Number(size));
    }
  }
  let writeBytes = 0;
  const special: SpecialFile[] = [];
  for (const e of entries) {
    if (e.status === "D") continue;
    if (e.mode === "160000") {
      special.push({ path: e.path, kind: "submodule", bytes: 0 });
      continue;
    }
    const bytes = sizes.get(e.sha);
    if (bytes === undefined) throw new Error(`the size of ${JSON.stringify(e.path)} in the change cannot be read`);
    writeBytes += bytes;
    if (e.mode === "120000") special.push({ path: e.path, kind: "symlink", bytes });
    else if (binary.has(e.path)) special.push({ path: e.path, kind: "binary", bytes });
  }
  // Symlink targets, read from the blobs the patch carries (a target is at most PATH_MAX bytes).
  for (const f of special) {
    if (f.kind !== "symlink") continue;
    const e = entries.find((x) => x.path === f.path)!;
    const blob = await git(["cat-file", "blob", e.sha]);
    if (blob.code !== 0) throw new Error(`git cat-file failed: ${blob.stderr.trim()}`);
    f.target = blob.stdoutBytes.toString("utf8");
  }
  return { ...split, special, writeBytes };
}

interface RawEntry {
  mode: string;
  sha: string;
  status: string;
  path: string;
}

/** Parse `git diff --raw -z --no-abbrev` (no renames): `:old new oldsha newsha S\0path\0`. */
export function parseRawZ(out: string): RawEntry[] {
  const parts = out.split("\0");
  const entries: RawEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i]!.replace(/^\n/, "");
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]{40,64}) ([0-9a-f]{40,64}) ([A-Z])\d*$/.exec(meta);
    if (!m) throw new Error(`unexpected git diff --raw output: ${JSON.stringify(meta.slice(0, 200))}`);
    entries.push({ mode: m[2]!, sha: m[4]!, status: m[5]!, path: parts[i + 1]! });
  }
  return entries;
}

/** Paths `git diff --numstat -z` reports as binary (`-\t-\tpath\0`). */
export function binaryPathsZ(out: string): Set<string> {
  const set = new Set<string>();
  for (const rec of out.split("\0")) {
    const m = /^\n?-\t-\t(.*)$/s.exec(rec);
    if (m) set.add(m[1]!);
  }
  return set;
}

/** What a change may contain (the agent's settings). */
export interface ChangePolicy {
  allowBinary: boolean;
  changeMaxBytes: number;
}

/**
 * Why a change may not be proposed, or undefined. Submodule entries are never accepted; binary
 * files and symlinks only with AGENT_ALLOW_BINARY; a symlink never points outside the repository
 * or into `.git`; what the change writes is at most AGENT_CHANGE_MAX_BYTES.
 */
export function refusal(c: ExtractedChange, policy: ChangePolicy): string | undefined {
  const list = (fs: SpecialFile[]) =>
    fs
      .slice(0, 5)
      .map((f) => JSON.stringify(f.path))
      .join(", ") + (fs.length > 5 ? `, … (${fs.length} in all)` : "");
  const submodules = c.special.filter((f) => f.kind === "submodule");
  if (submodules.length > 0)
    return `the change adds submodule entries (a nested git repository), which are never accepted: ${list(submodules)}`;
  const outward = c.special.filter((f) => f.kind === "symlink" && escapes(f.path, f.target ?? ""));
  if (outward.length > 0) {
    return `the change makes symlinks that point outside the repository or into .git, which are never accepted: ${outward
      .slice(0, 5)
      .map((f) => `${JSON.stringify(f.path)} -> ${JSON.stringify(f.target)}`)
      .join(", ")}`;
  }
  const other = c.special.filter((f) => f.kind !== "submodule");
  if (other.length > 0 && !policy.allowBinary) {
    const binaries = other.filter((f) => f.kind === "binary");
    const links = other.filter((f) => f.kind === "symlink");
    const what = [
      binaries.length > 0 ? `binary files ${list(binaries)}` : "",
      links.length > 0 ? `symlinks ${list(links)}` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    return `the change holds ${what}, which this agent may not propose (${ENV.allowBinary} is false)`;
  }
  if (c.writeBytes > policy.changeMaxBytes) {
    return `the change writes ${c.writeBytes} bytes, more than ${ENV.changeMaxBytes} (${policy.changeMaxBytes})`;
  }
  return undefined;
}

/** True when a symlink at `linkPath` (relative to the repository) to `target` leaves it or enters `.git`. */
export function escapes(linkPath: string, target: string): boolean {
  if (target === "" || target.startsWith("/") || target.includes("\0")) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  if (resolved === ".." || resolved.startsWith("../")) return true;
  return resolved.split("/").some((c) => c.toLowerCase() === ".git");
}
