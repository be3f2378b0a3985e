import * as fs from "node:fs";
import * as path from "node:path";
import { listDir } from "../fsAtomic.js";
import { randomHex } from "../ids.js";
import type { AgentLogger } from "../log.js";
import type { TaskRecord } from "../queue/taskRecord.js";
import type { AgentUser } from "./agentUser.js";

/**
 * One run's dir, `<scratch>/<agent>--<task>-<rand>/` (root-owned, sticky, world-writable, like
 * /tmp): task.json, instructions.md and context/ are the runtime's (read-only for the agent);
 * home/ and tmp/ are the run's; the agent user clones /app into repo/.
 */
export interface RunDir {
  base: string;
  work: string;
  home: string;
  tmp: string;
  taskFile: string;
  instructions: string;
  context: string;
}

/** Where a run of `taskId` goes (nothing is created yet). */
export function runDirFor(scratchDir: string, agentName: string, taskId: string): RunDir {
  const base = path.join(scratchDir, `${agentName}--${taskId}-${randomHex(6)}`);
  return {
    base,
    work: path.join(base, "repo"),
    home: path.join(base, "home"),
    tmp: path.join(base, "tmp"),
    taskFile: path.join(base, "task.json"),
    instructions: path.join(base, "instructions.md"),
    context: path.join(base, "context"),
  };
}

/** Create the run dir with the task's files, copied from the shared dir (`sharedRoot`). */
export function createRunDir(d: RunDir, task: TaskRecord, sharedRoot: string): void {
  for (const dir of [d.base, d.home, d.tmp]) {
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o1777);
  }
  fs.writeFileSync(d.taskFile, JSON.stringify(task, null, 2) + "\n", { mode: 0o644 });
  if (task.instruction_file) fs.copyFileSync(path.join(sharedRoot, task.instruction_file), d.instructions);
  else fs.writeFileSync(d.instructions, `# ${task.title}\n\n${task.description}\n`);
  fs.chmodSync(d.instructions, 0o644);
  fs.mkdirSync(d.context, { mode: 0o755 });
  for (const f of task.context_files) {
    fs.cpSync(path.join(sharedRoot, f), path.join(d.context, path.basename(f)), { recursive: true });
  }
  for (const f of walk(d.context)) fs.chmodSync(f.path, f.dir ? 0o755 : 0o644);
}

/**
 * Remove a run's dir: the agent user removes what it created (the runtime, without
 * CAP_DAC_OVERRIDE, cannot), then the runtime removes its own files and the dir.
 */
export async function removeRunDir(dir: string, user: AgentUser, scratchDir: string, log: AgentLogger): Promise<void> {
  if (user.runAs) {
    // Removes everything the agent made anywhere in the run's dir; the runtime's own files and
    // dirs are refused ("Operation not permitted", "Permission denied") and removed below.
    const r = await user.run("rm", ["-rf", "--", dir], scratchDir);
    const other = r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.includes("Operation not permitted") && !l.includes("Permission denied"));
    if (other.length > 0) log.warn("scratch-cleanup", { dir, error: other.join("; ") });
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log.warn("scratch-cleanup-failed", { dir, error: (err as Error).message });
  }
}

/** Run dirs of this agent in the scratch dir (left by an earlier run of it when it died). */
export function ownRunDirs(scratchDir: string, agentName: string): string[] {
  const prefix = `${agentName}--`;
  return listDir(scratchDir).filter((n) => n.startsWith(prefix)).map((n) => path.join(scratchDir, n));
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
