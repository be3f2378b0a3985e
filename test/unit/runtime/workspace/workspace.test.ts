import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentProgram } from "../../../../runtime/agentProgram.js";
import { Mutex } from "../../../../runtime/repo/mutex.js";
import { AppRepo } from "../../../../runtime/repo/appRepo.js";
import { AgentUser } from "../../../../runtime/workspace/agentUser.js";
import { splitDiffOutput } from "../../../../runtime/workspace/changeExtraction.js";
import { ownRunDirs } from "../../../../runtime/workspace/runDir.js";
import { Workspace } from "../../../../runtime/workspace/workspace.js";
import type { RunAs } from "../../../../runtime/sandbox.js";
import { claimedTask as task, IS_ROOT, makeWorld, MemoryLog, testRunAs } from "../fixtures.js";

async function setUp(files: Record<string, string>, env: Record<string, string> = {}) {
  const w = makeWorld({ files, env });
  const log = new MemoryLog();
  const repo = new AppRepo(w.app, log);
  await repo.ensure([]);
  const user = new AgentUser(testRunAs(), w.settings.patchMaxBytes + 1);
  const ws = new Workspace({
    settings: w.settings,
    sharedRoot: w.shared,
    user,
    appLock: new Mutex(),
    signal: new AbortController().signal,
    log,
  });
  return { w, log, repo, ws };
}

const sh = (script: string) => ["sh", "-c", script];
const program = parseAgentProgram(JSON.stringify({ command: ["true"] }));

describe("Workspace.run", () => {
  it("runs the program on a fresh clone at HEAD and reads its change back as numstat and a binary-safe patch", async () => {
    const { w, repo, ws } = await setUp({ "a.txt": "a\n" });
    const out = await ws.run(
      task(),
      program,
      sh('printf "a\\nb\\n" > a.txt; printf "\\0\\1" > bin.dat; echo new > new.txt'),
      60,
    );
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
    const t = task(undefined, {
      instruction_file: "tasks/files/t1/instructions.md",
      context_files: ["tasks/files/t1/context/ctx.txt"],
      attempts: 1,
    });
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
    const out = await ws.run(task(), program, sh("grep -q first a.txt"), 60, first);
    expect(out.run.code).toBe(0);
    expect(out.base).toBe(first);
  });

  it("a change larger than AGENT_PATCH_MAX_BYTES is refused with that setting's name", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" }, { AGENT_PATCH_MAX_BYTES: "2048" });
    await expect(
      ws.run(task(), program, sh('i=0; while [ $i -lt 500 ]; do echo "line $i" >> big.txt; i=$((i+1)); done'), 60),
    ).rejects.toThrow(/larger than AGENT_PATCH_MAX_BYTES \(2048\)/);
  });

  it("a clone that fails is an error naming the app dir (the run dir is still removed)", async () => {
    const { w, ws } = await setUp({ "a.txt": "a\n" });
    // HEAD still reads, but the objects it names are gone.
    fs.rmSync(path.join(w.app, ".git", "objects"), { recursive: true });
    fs.mkdirSync(path.join(w.app, ".git", "objects"));
    await expect(ws.run(task(), program, sh("true"), 60)).rejects.toThrow(
      new RegExp(`git clone of ${w.app} as .* failed`),
    );
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
    expect(splitDiffOutput("1\t0\ta.txt\ndiff --git a/a.txt b/a.txt\n+x\n")).toEqual({
      numstat: "1\t0\ta.txt\n",
      patch: "diff --git a/a.txt b/a.txt\n+x\n",
    });
    expect(splitDiffOutput("")).toEqual({ numstat: "", patch: "" });
    expect(splitDiffOutput("0\t0\tmode-only\n")).toEqual({ numstat: "", patch: "" });
  });
});

/** A uid of its own (no other process on the machine has it), so killing everything it owns is safe. */
function distinctRunAs(): RunAs {
  const id = 47000 + (process.pid % 2000);
  return { uid: id, gid: id, name: `${id}:${id}` };
}

/** Pids of processes owned by `uid` (from /proc). */
function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const n of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${n}/status`, "utf8"));
      if (m && Number(m[1]) === uid) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** A dir any user can write, removed after the test (markers a hostile program leaves for the test). */
function markerDir(w: { root: string }): string {
  const d = path.join(w.root, "markers");
  fs.mkdirSync(d);
  fs.chmodSync(d, 0o1777);
  return d;
}

// The clone's config, attributes and hooks as a hostile program sets them: every driver runs a
// command that leaves a marker and a process behind.
const HOSTILE_CLONE_CONFIG = [
  'leave="touch $MARK/\\$1; setsid sleep 300 </dev/null >/dev/null 2>&1 &"',
  'printf "#!/bin/sh\\n%s\\nexit 0\\n" "$leave" > "$PWD/.git/hookbin"; chmod +x .git/hookbin',
  'git config filter.evil.clean ".git/hookbin filter; cat"',
  'git config filter.evil.process ".git/hookbin process"',
  'git config core.fsmonitor "$PWD/.git/hookbin fsmonitor"',
  'git config diff.evil.textconv ".git/hookbin textconv"',
  'git config diff.external "$PWD/.git/hookbin external"',
  "git config core.hooksPath .git",
  'mkdir -p .git/info; printf "* filter=evil diff=evil\\n" > .git/info/attributes',
  'printf "a\\nb\\n" > a.txt',
].join("\n");

describe("Workspace.run against a hostile working copy", () => {
  it("never runs the clone's filters, fsmonitor, textconv or external diff: the change is read with the runtime's own git dir", async () => {
    const { w, ws } = await setUp({ "a.txt": "a\n" });
    const mark = markerDir(w);
    const out = await ws.run(
      task(),
      program,
      sh(`MARK=${mark}\n${HOSTILE_CLONE_CONFIG.replaceAll("$MARK", mark)}`),
      60,
    );
    await ws.drain();
    expect(out.run.code).toBe(0);
    expect(fs.readdirSync(mark)).toEqual([]);
    expect(out.numstat.trim()).toBe("1\t0\ta.txt");
    expect(out.patch).toContain("+b");
  });

  it.runIf(IS_ROOT)(
    "with an exclusive agent user, nothing of it runs after the task, not even what git in the clone could start",
    async () => {
      const w = makeWorld({ files: { "a.txt": "a\n" }, env: { AGENT_EXCLUSIVE_RUN_AS: "true" } });
      const log = new MemoryLog();
      await new AppRepo(w.app, log).ensure([]);
      const runAs = distinctRunAs();
      const ws = new Workspace({
        settings: w.settings,
        sharedRoot: w.shared,
        user: new AgentUser(runAs, w.settings.patchMaxBytes + 1),
        appLock: new Mutex(),
        signal: new AbortController().signal,
        log,
      });
      const mark = markerDir(w);
      try {
        const out = await ws.run(task(), program, sh(HOSTILE_CLONE_CONFIG.replaceAll("$MARK", mark)), 60);
        await ws.drain();
        expect(out.run.code).toBe(0);
        expect(processesOf(runAs.uid)).toEqual([]);
      } finally {
        for (const pid of processesOf(runAs.uid))
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* gone */
          }
      }
    },
  );

  it("builds the patch with fixed attributes: info/attributes and a tracked .gitattributes cannot hide a text change as binary", async () => {
    const { ws } = await setUp({
      "a.txt": "a\n",
      "b.txt": "b\n",
      ".gitattributes": "b.txt binary\n*.txt eol=crlf ident\n",
    });
    const script =
      'mkdir -p .git/info; printf "a.txt -diff binary\\n" > .git/info/attributes; printf "a\\nx \\$Id\\$\\n" > a.txt; printf "b\\nb2\\n" > b.txt';
    const out = await ws.run(task(), program, sh(script), 60);
    expect(out.numstat.trim().split("\n").sort()).toEqual(["1\t0\ta.txt", "1\t0\tb.txt"]);
    expect(out.patch).not.toContain("GIT binary patch");
    expect(out.patch).not.toContain("Binary files");
    expect(out.patch).toContain("+x $Id$\n");
    expect(out.patch).toContain("+b2\n");
    expect(out.patch).not.toContain("\r");
    expect(out.special).toEqual([]);
    expect(out.refused).toBeUndefined();
  });

  it("checks the working copy out byte for byte: a tracked .gitattributes (eol=crlf, ident) changes neither what the program reads nor the patch", async () => {
    const { ws } = await setUp({ "a.txt": "a $Id$\n", ".gitattributes": "* text eol=crlf ident\n" });
    const out = await ws.run(task(), program, sh('cat a.txt > seen.txt; printf "more\\n" >> a.txt'), 60);
    expect(out.numstat.trim().split("\n").sort()).toEqual(["1\t0\ta.txt", "1\t0\tseen.txt"]);
    expect(out.patch).toContain("\n+a $Id$\n");
    expect(out.patch).toContain(" a $Id$\n+more\n");
    expect(out.patch).not.toContain("\r");
  });

  it("refuses binary files and symlinks by default, with a reason naming them and the setting", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" });
    const out = await ws.run(task(), program, sh('printf "\\0\\1\\2" > bin.dat; ln -s a.txt link'), 60);
    expect(out.refused).toMatch(/binary files "bin.dat" and symlinks "link".*AGENT_ALLOW_BINARY is false/);
    expect(out.special).toEqual([
      { path: "bin.dat", kind: "binary", bytes: 3 },
      { path: "link", kind: "symlink", bytes: 5, target: "a.txt" },
    ]);
  });

  it("with AGENT_ALLOW_BINARY=true lists them with sizes, and still refuses symlinks leaving the repository or into .git", async () => {
    const { ws } = await setUp({ "a.txt": "a\n", "d/x.txt": "x\n" }, { AGENT_ALLOW_BINARY: "true" });
    const ok = await ws.run(task(), program, sh('printf "\\0\\1\\2" > bin.dat; ln -s ../a.txt d/up'), 60);
    expect(ok.refused).toBeUndefined();
    expect(ok.special).toEqual([
      { path: "bin.dat", kind: "binary", bytes: 3 },
      { path: "d/up", kind: "symlink", bytes: 8, target: "../a.txt" },
    ]);
    for (const target of ["/etc/passwd", "../../x", "d/../../x", ".git/config", "d/../.GIT/hooks"]) {
      const out = await ws.run(task(), program, sh(`ln -s '${target}' evil`), 60);
      expect(out.refused, target).toMatch(/symlinks that point outside the repository or into .git.*"evil" -> /);
    }
  }, 120_000); // several program runs: a ceiling for a loaded machine, not a timing

  it("refuses a change that writes more than AGENT_CHANGE_MAX_BYTES, however small its patch", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" }, { AGENT_CHANGE_MAX_BYTES: "100000", AGENT_ALLOW_BINARY: "true" });
    // 1 MB of zeros: a binary delta of about a kilobyte.
    const out = await ws.run(task(), program, sh("head -c 1000000 /dev/zero > zeros.bin"), 60);
    expect(Buffer.byteLength(out.patch)).toBeLessThan(20000);
    expect(out.writeBytes).toBe(1000000);
    expect(out.refused).toBe("the change writes 1000000 bytes, more than AGENT_CHANGE_MAX_BYTES (100000)");
  });

  it("refuses a nested git repository (submodule entry) even with AGENT_ALLOW_BINARY", async () => {
    const { ws } = await setUp({ "a.txt": "a\n" }, { AGENT_ALLOW_BINARY: "true" });
    const out = await ws.run(
      task(),
      program,
      sh(
        "mkdir sub && cd sub && git init -q && echo x > x && git add x && git -c user.name=a -c user.email=a@b commit -qm x",
      ),
      60,
    );
    expect(out.refused).toMatch(/submodule entries.*"sub"/);
  });
});
