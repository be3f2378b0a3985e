import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { RunAs } from "../../../../runtime/sandbox.js";
import { AgentUser } from "../../../../runtime/workspace/agentUser.js";
import { createRunDir, removeOwnTree, removeRunDir, runDirFor } from "../../../../runtime/workspace/runDir.js";
import { claimedTask, IS_ROOT, MemoryLog, tempDir } from "../fixtures.js";

const TASK = claimedTask();

/** A uid of its own (no other process on the machine has it). */
function distinctRunAs(): RunAs {
  const id = 49000 + (process.pid % 2000);
  return { uid: id, gid: id, name: `${id}:${id}` };
}

const FILES = 300;

/**
 * Run as the agent user: make `dir` (a directory of the agent's own: a symlink there is followed
 * whatever fs.protected_symlinks says) and forever swap `dir/x` between a real directory holding
 * f0..fN and a symlink to `victim` (which holds the same names), so a remover that lists x and
 * then unlinks x/f by path deletes the victim's files. `dir`.ready appears once it swaps; what a removal takes away is made again.
 */
function startSwapper(runAs: RunAs, dir: string, victim: string): ReturnType<typeof spawn> {
  const script = `
    const fs = require("fs"); const d = ${JSON.stringify(dir)}; const x = d + "/x", l = d + "/l", real = d + "/real";
    const fill = () => { try { fs.mkdirSync(x, { recursive: true }); } catch {} for (let i = 0; i < ${FILES}; i++) { try { fs.writeFileSync(x + "/f" + i, ""); } catch {} } };
    const spin = (k) => { let s = 0; for (let i = 0; i < k; i++) s += i; return s; };
    fill(); fs.writeFileSync(d + ".ready", ""); let n = 0;
    for (;;) {
      try { fs.symlinkSync(${JSON.stringify(victim)}, l); } catch {}
      try { fs.renameSync(x, real); fs.renameSync(l, x); spin(3000); fs.renameSync(x, l); fs.renameSync(real, x); } catch {}
      spin(3000);
      if (++n % 20 === 0) fill();
    }`;
  return spawn(process.execPath, ["-e", script], { uid: runAs.uid, gid: runAs.gid, stdio: "ignore", detached: true });
}

describe("removeRunDir", () => {
  it.runIf(IS_ROOT)(
    "never follows a directory the agent swaps for a symlink during removal: the victim stays intact",
    async () => {
      const root = tempDir();
      const scratch = path.join(root, "scratch");
      fs.mkdirSync(scratch, { mode: 0o1777 });
      fs.chmodSync(scratch, 0o1777);
      const victim = path.join(root, "victim");
      fs.mkdirSync(victim);
      for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(victim, `f${i}`), "precious\n");
      const runAs = distinctRunAs();
      const user = new AgentUser(runAs, 1 << 20);
      const log = new MemoryLog();
      for (let round = 0; round < 3; round++) {
        const d = runDirFor(scratch, "a1", TASK.id);
        await createRunDir(d, TASK, root, user);
        const deep = path.join(path.dirname(d.work), "deep");
        const swapper = startSwapper(runAs, deep, victim);
        try {
          for (let i = 0; i < 3000 && !fs.existsSync(`${deep}.ready`); i++) await new Promise((r) => setTimeout(r, 10));
          // No kill before the runtime's part: the removal itself must hold against a live agent.
          await removeRunDir(d.base, user, scratch, log);
        } finally {
          process.kill(-swapper.pid!, "SIGKILL");
        }
        expect(fs.readdirSync(victim).length, `round ${round}`).toBe(FILES);
        // What the swapper left (it was still running) is removed once it is gone.
        await removeRunDir(d.base, user, scratch, log);
        expect(fs.existsSync(d.base)).toBe(false);
      }
    },
    120_000,
  );

  it("removeOwnTree unlinks links without following them and enters only this user's directories", () => {
    const root = tempDir();
    const target = path.join(root, "target");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "keep"), "k");
    const tree = path.join(root, "tree");
    fs.mkdirSync(path.join(tree, "sub"), { recursive: true });
    fs.writeFileSync(path.join(tree, "sub", "f"), "f");
    fs.symlinkSync(target, path.join(tree, "link"));
    const left: string[] = [];
    removeOwnTree(tree, process.getuid!(), true, left);
    expect(left).toEqual([]);
    expect(fs.existsSync(tree)).toBe(false);
    expect(fs.readFileSync(path.join(target, "keep"), "utf8")).toBe("k");
    // Someone else's directory is never entered (only rmdir'ed when empty).
    const other = path.join(root, "other");
    fs.mkdirSync(path.join(other, "theirs"), { recursive: true });
    fs.writeFileSync(path.join(other, "theirs", "f"), "f");
    const left2: string[] = [];
    removeOwnTree(other, process.getuid!() + 1, true, left2);
    expect(left2).toEqual([other]);
    expect(fs.existsSync(path.join(other, "theirs", "f"))).toBe(true);
  });
});
