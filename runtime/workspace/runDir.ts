import * as fs from "node:fs";
import * as path from "node:path";
import { errnoCode, listDir } from "../fsAtomic.js";
import { randomHex } from "../ids.js";
import type { AgentLogger } from "../log.js";
import type { TaskRecord } from "../queue/taskRecord.js";
import type { AgentUser } from "./agentUser.js";
import { FIXED_ATTRIBUTES } from "../git.js";

/**
 * One run's dir, `<scratch>/<agent>--<task>-<rand>/`, root-owned, mode 0755: task.json,
 * instructions.md and context/ are the runtime's (read-only for the agent); `agent/` (root-owned,
 * sticky, world-writable, like /tmp) is the only place the agent user can write: it makes home/,
 * tmp/ there and clones /app into agent/repo/. Nothing the agent makes sits where the runtime
 * writes its own files, so the runtime never writes through a link the agent planted.
 */
export interface RunDir {
  base: string;
  /** The agent user's part of the run dir. */
  agentDir: string;
  work: string;
  home: string;
  tmp: string;
  taskFile: string;
  instructions: string;
  context: string;
  /**
   * The runtime's git template for the working copy's clone (root-owned): its info/attributes
   * are FIXED_ATTRIBUTES, so the checkout writes the tree's bytes whatever attribute files it has.
   */
  gitTemplate: string;
  /** Where the program may report its model usage ($TASK_USAGE_FILE), in the agent user's part. */
  usageFile: string;
  /** $TASK_OUTBOX: task files a coordinator's program writes (made by the agent user). */
  outbox: string;
  /** $TASK_MESSAGES: the program appends message lines (it creates the file). */
  messages: string;
  /** Where a reviewer program writes its verdict ($TASK_VERDICT; review tasks only), in the agent user's part. */
  verdictFile: string;
}

/** Where a run of `taskId` goes (nothing is created yet). */
export function runDirFor(scratchDir: string, agentName: string, taskId: string): RunDir {
  const base = path.join(scratchDir, `${agentName}--${taskId}-${randomHex(6)}`);
  const agentDir = path.join(base, "agent");
  return {
    base,
    agentDir,
    work: path.join(agentDir, "repo"),
    home: path.join(agentDir, "home"),
    tmp: path.join(agentDir, "tmp"),
    taskFile: path.join(base, "task.json"),
    instructions: path.join(base, "instructions.md"),
    context: path.join(base, "context"),
    gitTemplate: path.join(base, "git-template"),
    usageFile: path.join(agentDir, "usage.json"),
    outbox: path.join(agentDir, "outbox"),
    messages: path.join(agentDir, "messages"),
    verdictFile: path.join(agentDir, "verdict.json"),
  };
}

/**
 * Create the run dir with the task's files, copied from the shared dir (`sharedRoot`); then the
 * agent user makes its home/, tmp/ and outbox/ in agent/.
 */
export async function createRunDir(d: RunDir, task: TaskRecord, sharedRoot: string, user: AgentUser): Promise<void> {
  fs.mkdirSync(d.base, { mode: 0o755 });
  fs.chmodSync(d.base, 0o755);
  fs.mkdirSync(d.agentDir);
  fs.chmodSync(d.agentDir, 0o1777);
  fs.writeFileSync(d.taskFile, JSON.stringify(task, null, 2) + "\n", { mode: 0o644, flag: "wx" });
  if (task.instruction_file)
    fs.copyFileSync(path.join(sharedRoot, task.instruction_file), d.instructions, fs.constants.COPYFILE_EXCL);
  else fs.writeFileSync(d.instructions, `# ${task.title}\n\n${task.description}\n`, { flag: "wx" });
  fs.chmodSync(d.instructions, 0o644);
  fs.mkdirSync(d.context, { mode: 0o755 });
  fs.mkdirSync(path.join(d.gitTemplate, "info"), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(d.gitTemplate, "info", "attributes"), FIXED_ATTRIBUTES + "\n", {
    mode: 0o644,
    flag: "wx",
  });
  for (const f of task.context_files) {
    fs.cpSync(path.join(sharedRoot, f), path.join(d.context, path.basename(f)), { recursive: true });
  }
  for (const f of walk(d.context)) fs.chmodSync(f.path, f.dir ? 0o755 : 0o644);
  // The outbox is listable by the runtime, so that an empty one costs no reader process.
  const mk = await user.run(
    "sh",
    ["-c", 'mkdir -m 700 -- "$1" "$2" && mkdir -m 755 -- "$3"', "sh", d.home, d.tmp, d.outbox],
    d.agentDir,
  );
  if (mk.code !== 0) throw new Error(`making the run's home and tmp dirs as ${user.name} failed: ${mk.stderr.trim()}`);
}

/**
 * Remove a run's dir. The agent user removes what it made (the runtime, without
 * CAP_DAC_OVERRIDE, cannot); `killAgent` then ends whatever the agent user still runs; then the
 * runtime removes the rest with removeOwnTree, which never enters a directory the agent can
 * change (see there). What the agent left that the runtime may not enter stays, with a warning.
 */
export async function removeRunDir(
  dir: string,
  user: AgentUser,
  scratchDir: string,
  log: AgentLogger,
  killAgent: () => Promise<void> = async () => {},
): Promise<void> {
  if (user.runAs) {
    // Removes everything the agent made anywhere in the run's dir (made writable first, so a
    // read-only dir of its own does not stop it); the runtime's own files and dirs are refused
    // ("Operation not permitted", "Permission denied") and removed below.
    const r = await user.run("sh", ["-c", 'chmod -R u+rwX -- "$1" 2>/dev/null; rm -rf -- "$1"', "sh", dir], scratchDir);
    const other = r.stderr
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.includes("Operation not permitted") && !l.includes("Permission denied"));
    if (other.length > 0) log.warn("scratch-cleanup", { dir, error: other.join("; ") });
  }
  await killAgent();
  const left: string[] = [];
  try {
    removeOwnTree(dir, process.getuid?.() ?? -1, user.runAs !== undefined, left);
  } catch (err) {
    log.warn("scratch-cleanup-failed", { dir, error: (err as Error).message });
  }
  if (left.length > 0) log.warn("scratch-cleanup-left", { dir, left: left.slice(0, 20) });
}

/**
 * Remove `p` without ever following a link an agent could have made: links and files are
 * unlinked (never followed), and a directory is entered only when this process owns it and no
 * one else can rename its entries (not writable by group/others, or sticky). Every path used
 * below such a directory therefore names what lstat saw: its components are directories of
 * ours that the agent can neither rename nor replace (a sticky dir's entries can only be renamed
 * by their owner or the dir's), so a directory swapped for a symlink mid-removal can only be one
 * the runtime never enters. Another's directory is only rmdir'ed (when empty). `separated` false (no agent user: development) enters every
 * directory of this user. What is not removed is listed in `left`.
 */
export function removeOwnTree(p: string, me: number, separated: boolean, left: string[]): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw err;
  }
  if (!st.isDirectory()) {
    try {
      fs.unlinkSync(p);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") left.push(p);
    }
    return;
  }
  const othersMayRename = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
  if (st.uid !== me || (separated && othersMayRename)) {
    // Not entered; removed only when empty (rmdir follows no link: a symlink there fails).
    try {
      fs.rmdirSync(p);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") left.push(p);
    }
    return;
  }
  for (const n of fs.readdirSync(p)) removeOwnTree(path.join(p, n), me, separated, left);
  try {
    fs.rmdirSync(p);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") left.push(p);
  }
}

/** Run dirs of this agent in the scratch dir (left by an earlier run of it when it died). */
export function ownRunDirs(scratchDir: string, agentName: string): string[] {
  const prefix = `${agentName}--`;
  return listDir(scratchDir)
    .filter((n) => n.startsWith(prefix))
    .map((n) => path.join(scratchDir, n));
}

function walk(dir: string): Array<{ path: string; dir: boolean }> {
  const out: Array<{ path: string; dir: boolean }> = [{ path: dir, dir: true }];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push({ path: p, dir: false });
  }
  return out;
}
