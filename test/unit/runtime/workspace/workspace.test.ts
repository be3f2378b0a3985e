import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentProgram } from "../../../../runtime/agentProgram.js";
import type { TaskRecord } from "../../../../runtime/queue/taskRecord.js";
import { Mutex } from "../../../../runtime/repo/mutex.js";
import { AppRepo } from "../../../../runtime/repo/appRepo.js";
import { AgentUser } from "../../../../runtime/workspace/agentUser.js";
import { splitDiffOutput } from "../../../../runtime/workspace/changeExtraction.js";
import { ownRunDirs } from "../../../../runtime/workspace/runDir.js";
import { Workspace } from "../../../../runtime/workspace/workspace.js";
import { IS_ROOT, makeWorld, MemoryLog, testRunAs } from "../fixtures.js";

function task(id = "t-261129-120000-abcdef", extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id, title: "T", description: "do it", instruction_file: null, context_files: [], status: "claimed", priority: 5, agent: null,
    capability: null, attempts: 0, max_attempts: 0, claimed_by: "a1", claimed_at: null, completed_at: null, created_at: "",
    created_by: "test", last_error: null, result: null, history: [], ...extra,
  };
}

async function setUp(files: Record<string, string>, env: Record<string, string> = {}) {
  const w = makeWorld({ files, env });
  const log = new MemoryLog();
  const repo = new AppRepo(w.app, log);
  await repo.ensure([]);
  const user = new AgentUser(testRunAs(), w.settings.patchMaxBytes + 1);
  const ws = new Workspace({ settings: w.settings, sharedRoot: w.shared, user, appLock: new Mutex(), signal: new AbortController().signal, log });
  return { w, log, repo, ws };
}

const sh = (script: string) => ["sh", "-c", script];
const program = parseAgentProgram(JSON.stringify({ command: ["true"] }));

describe("Workspace.run", () => {
  it("runs the program on a fresh clone at HEAD and reads its change back as numstat and a binary-safe patch", async () => {
    const { w, repo, ws } = await setUp({ "a.txt": "a\n" });
    const out = await ws.run(task(), program, sh('printf "a\\nb\\n" > a.txt; printf "\\0\\1" > bin.dat; echo new > new.txt'), 60);
    expect(out.run.code).toBe(0);
    expect(out.base).toBe(await repo.head());
    expect(out.numstat.trim().split("\n").sort()).toEqual(["-\t-\tbin.dat", "1\t0\ta.txt", "1\t0\tnew.txt"]);
    expect(out.patch).toMatch(/^diff --git a\/a.txt b\/a.txt/);
    expect(out.patch).toContain("GIT binary patch");
    // /app itself is untouched: the change exists only as the patch.
    expect(fs.readFileSync(path.join(w.app, "a.txt"), "utf8")).toBe("a\n");
    await ws.drain();
    expect(ownRunDirs(w.scratch, "a1")).toEqual([]);
  });

  it("gives the program the task's files and variables, read-only, and HOME/TMPDIR of its own", async () => {
    const { w, ws } = await setUp({ "a.txt": "a\n" });
    fs.mkdirSync(path.join(w.shared, "tasks", "files", "t1", "context"), { recursive: true });
    fs.writeFileSync(path.join(w.shared, "tasks", "files", "t1", "instructions.md"), "# do this\n");
    fs.writeFileSync(path.join(w.shared, "tasks", "files", "t1", "context", "ctx.txt"), "C\n");
    const t = task(undefined, { instruction_file: "tasks/files/t1/instructions.md", context_files: ["tasks/files/t1/context/ctx.txt"], attempts: 1 });
    const script = [
      'printf "%s|%s|%s|%s\\n" "$AGENT_NAME" "$TASK_ID" "$TASK_ATTEMPT" "$TASK_TITLE" > env.txt',
      'cat "$TASK_INSTRUCTIONS" "$TASK_CONTEXT_DIR/ctx.txt" > got.txt',
      'test -w "$HOME" && test -w "$TMPDIR" && echo writable >> got.txt',
      'if ( echo x >> "$TASK_FILE" ) 2>/dev/null; then echo task-file-writable >> got.txt; fi',
      'if [ -n "$(cat)" ]; then echo stdin >> got.txt; fi',
    ].join("\n");
    const out = await ws.run(t, program, sh(script), 60);
    expect(out.run.code).toBe(0);
    expect(out.patch).toContain("+a1|t-261129-120000-abcdef|2|T");
    expect(out.patch).toContain("+# do this");
    expect(out.patch).toContain("+C");
    expect(out.patch).toContain("+writable");
    expect(out.patch).toContain("+stdin");
    if (IS_ROOT) expect(out.patch).not.toContain("task-file-writable");
  });

  it("a failing program yields no change, whatever it wrote", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" });
    const out = await ws.run(task(), program, sh("echo x > a.txt; echo oops >&2; exit 3"), 60);
    expect(out.run.code).toBe(3);
    expect(out.run.outputTail).toContain("oops");
    expect(out.patch).toBe("");
  });

  it("a run on a commit other than HEAD (the start check) starts from exactly that commit", async () => {
    const { w, repo, ws } = await setUp({ "a.txt": "first\n" });
    const first = await repo.head();
    fs.writeFileSync(path.join(w.app, "a.txt"), "second\n");
    await repo.commitOutsideChanges("test");
    const out = await ws.run(task(), program, sh('grep -q first a.txt'), 60, first);
    expect(out.run.code).toBe(0);
    expect(out.base).toBe(first);
  });

  it("a change larger than AGENT_PATCH_MAX_BYTES is refused with that setting's name", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" }, { AGENT_PATCH_MAX_BYTES: "2048" });
    await expect(ws.run(task(), program, sh('i=0; while [ $i -lt 500 ]; do echo "line $i" >> big.txt; i=$((i+1)); done'), 60))
      .rejects.toThrow(/larger than AGENT_PATCH_MAX_BYTES \(2048\)/);
  });

  it("a clone that fails is an error naming the app dir (the run dir is still removed)", async () => {
    const { w, ws } = await setUp({ "a.txt": "a\n" });
    // HEAD still reads, but the objects it names are gone.
    fs.rmSync(path.join(w.app, ".git", "objects"), { recursive: true });
    fs.mkdirSync(path.join(w.app, ".git", "objects"));
    await expect(ws.run(task(), program, sh("true"), 60)).rejects.toThrow(new RegExp(`git clone of ${w.app} as .* failed`));
    await ws.drain();
    expect(ownRunDirs(w.scratch, "a1")).toEqual([]);
  });

  it("removeLeftovers removes this agent's run dirs, also what the agent user made in them, and no one else's", async () => {
    const { w, ws } = await setUp({ "a.txt": "a\n" });
    const mine = path.join(w.scratch, "a1--t-1-abcdef");
    const other = path.join(w.scratch, "a2--t-1-abcdef");
    for (const d of [mine, other]) fs.mkdirSync(path.join(d, "repo"), { recursive: true });
    if (IS_ROOT) fs.chownSync(path.join(mine, "repo"), testRunAs()!.uid, testRunAs()!.gid);
    await ws.removeLeftovers();
    expect(fs.existsSync(mine)).toBe(false);
    expect(fs.existsSync(other)).toBe(true);
  });
});

describe("splitDiffOutput", () => {
  it("splits numstat lines from the patch; no patch means no change", () => {
    expect(splitDiffOutput("1\t0\ta.txt\ndiff --git a/a.txt b/a.txt\n+x\n")).toEqual({ numstat: "1\t0\ta.txt\n", patch: "diff --git a/a.txt b/a.txt\n+x\n" });
    expect(splitDiffOutput("")).toEqual({ numstat: "", patch: "" });
    expect(splitDiffOutput("0\t0\tmode-only\n")).toEqual({ numstat: "", patch: "" });
  });
});

