import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DirLock } from "../../../../runtime/projects/dirLock.js";
import { ProjectRepo } from "../../../../runtime/projects/projectRepo.js";
import type { Proposal } from "../../../../runtime/proposals/proposal.js";
import { MemoryLog, tempDir } from "../fixtures.js";

/** The apply lock between processes, and commits to a project's bare repository. */

describe("DirLock", () => {
  it("lets one holder in, breaks a lock whose lease ran out, and never releases another holder's lock", async () => {
    const dir = path.join(tempDir(), "apply.lock");
    const broken: unknown[] = [];
    const a = new DirLock({ dir, agent: "a", leaseMs: 60_000 });
    const b = new DirLock({ dir, agent: "b", leaseMs: 60_000, onBroken: (o) => broken.push(o) });
    const ta = a.tryAcquire();
    expect(ta).toBeTruthy();
    expect(b.tryAcquire()).toBeUndefined();
    expect(a.owner()?.agent).toBe("a");
    b.release(ta!.replace(/.$/, "x")); // not b's token: nothing happens
    expect(a.owner()?.token).toBe(ta);

    // The holder dies (its lease is not renewed): after the lease, b breaks the lock and takes it.
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(dir, "owner.json"), old, old);
    const tb = await b.acquire();
    expect(b.owner()?.token).toBe(tb);
    expect(broken).toEqual([expect.objectContaining({ agent: "a", token: ta })]);
    // The old holder, back from the dead, cannot release b's lock.
    a.release(ta!);
    expect(b.owner()?.token).toBe(tb);
    b.release(tb);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(path.dirname(dir)).filter((n) => n !== ".lock-staging")).toEqual([]);
  });

  it("serializes sections of several holders (no two inside at once)", async () => {
    const dir = path.join(tempDir(), "apply.lock");
    let inside = 0;
    let most = 0;
    const section = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        new DirLock({ dir, agent: `a${i % 3}`, leaseMs: 60_000, pollMs: 2 }).run(section),
      ),
    );
    expect(most).toBe(1);
  });
});

function bareProject(files: Record<string, string>): { dir: string; base: string } {
  const root = tempDir();
  const dir = path.join(root, "demo");
  const g = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "init.defaultBranch=main", "-c", "user.name=o", "-c", "user.email=o@x", ...args], {
      cwd,
      encoding: "utf8",
    }).trim();
  fs.mkdirSync(dir);
  g(dir, "init", "-q", "--bare");
  const seed = path.join(root, "seed");
  fs.mkdirSync(seed);
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(seed, f), c);
  g(seed, "init", "-q");
  g(seed, "add", "-A");
  g(seed, "commit", "-q", "-m", "init");
  g(seed, "push", "-q", dir, "HEAD:refs/heads/main");
  return { dir, base: g(dir, "rev-parse", "main") };
}

function patchOf(file: string, before: string, after: string): Buffer {
  const a = before.split("\n").slice(0, -1);
  const b = after.split("\n").slice(0, -1);
  const hunk = [`@@ -1,${a.length} +1,${b.length} @@`, ...a.map((l) => `-${l}`), ...b.map((l) => `+${l}`)];
  return Buffer.from([`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`, ...hunk, ""].join("\n"));
}

function proposal(id: string, base: string): Proposal {
  return {
    id,
    task_id: `t-${id.slice(2)}`,
    task_title: `change ${id}`,
    agent: "a1",
    base_commit: base,
    project: "demo",
    decided_by: "alice",
  } as Proposal;
}

describe("ProjectRepo", () => {
  it("commits with the project's trailers, re-applies a stale base 3-way, reports a real conflict, and moves nothing else", async () => {
    const { dir, base } = bareProject({ "a.txt": "a\n", "b.txt": "b\n" });
    const repo = new ProjectRepo({
      name: "demo",
      dir,
      branch: "main",
      agent: "a1",
      leaseMs: 30_000,
      log: new MemoryLog(),
    });
    repo.prepare();
    expect(await ProjectRepo.branchOf(dir)).toBe("main");
    expect(ProjectRepo.problem(dir)).toBeUndefined();
    expect(ProjectRepo.problem(path.join(dir, "objects"))).toContain("is not a bare git repository");

    const p1 = proposal("p-261129-120000-aaaaaa", base);
    const r1 = await repo.withLock(() => repo.apply(p1, patchOf("a.txt", "a\n", "A\n")));
    expect(r1.state).toBe("applied");
    const msg = execFileSync("git", ["log", "-1", "--format=%B", "main"], { cwd: dir, encoding: "utf8" });
    expect(msg).toContain(
      "Project: demo\nProposal-Id: p-261129-120000-aaaaaa\nTask-Id: t-261129-120000-aaaaaa\nAgent: a1\nApproved-By: alice",
    );

    // Proposed on the old base, touching another file: applied 3-way on top.
    const p2 = proposal("p-261129-120000-bbbbbb", base);
    const r2 = await repo.withLock(() => repo.apply(p2, patchOf("b.txt", "b\n", "B\n")));
    expect(r2.state).toBe("applied");
    const show = (f: string) => execFileSync("git", ["show", `main:${f}`], { cwd: dir, encoding: "utf8" });
    expect([show("a.txt"), show("b.txt")]).toEqual(["A\n", "B\n"]);
    expect(await repo.findApplied(p1.id)).toBeTruthy();

    // Proposed on the old base, touching what p1 changed: a conflict, the branch does not move.
    const head = await repo.head();
    const p3 = proposal("p-261129-120000-cccccc", base);
    const r3 = await repo.withLock(() => repo.apply(p3, patchOf("a.txt", "a\n", "x\n")));
    expect(r3.state).toBe("conflict");
    expect(r3.reason_code).toBe("stale-base");
    expect(await repo.head()).toBe(head);
    expect(fs.readdirSync(path.join(dir, "agent-fleet")).filter((n) => n.startsWith("index-"))).toEqual([]);
  });
});

describe("ProjectRepo.fileAtHead (a coordinator's context files)", () => {
  it("reads a regular file of the branch's HEAD from git's objects; refuses links, trees, submodules, missing files and files over the bytes left", async () => {
    const { dir } = bareProject({ "a.txt": "alpha\n", "big.txt": "x".repeat(100) });
    // A second commit with what a hostile project may hold: links (to a file and to a directory
    // outside), a directory, and a submodule entry.
    const work = path.join(tempDir(), "work");
    const g = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=o", "-c", "user.email=o@x", ...args], { cwd: work, encoding: "utf8" });
    execFileSync("git", ["clone", "-q", dir, work]);
    fs.symlinkSync("/etc/passwd", path.join(work, "link.txt"));
    fs.symlinkSync("/etc", path.join(work, "linkdir"));
    fs.mkdirSync(path.join(work, "src"));
    fs.writeFileSync(path.join(work, "src", "b.md"), "# beta\n");
    g("add", "-A");
    g("update-index", "--add", "--cacheinfo", `160000,${g("rev-parse", "HEAD").trim()},sub`);
    g("commit", "-q", "-m", "more");
    g("push", "-q", "origin", "HEAD:main");
    const repo = new ProjectRepo({
      name: "demo",
      dir,
      branch: "main",
      agent: "a",
      leaseMs: 60_000,
      log: new MemoryLog(),
    });

    expect(await repo.fileAtHead("a.txt", 1000)).toEqual({ data: Buffer.from("alpha\n") });
    expect(await repo.fileAtHead("src/b.md", 1000)).toEqual({ data: Buffer.from("# beta\n") });
    expect(await repo.fileAtHead("link.txt", 1000)).toEqual({ problem: expect.stringMatching(/symbolic link/) });
    expect(await repo.fileAtHead("linkdir/passwd", 1000)).toEqual({ problem: expect.stringMatching(/no such file/) });
    expect(await repo.fileAtHead("src", 1000)).toEqual({ problem: "not a regular file (tree)" });
    expect(await repo.fileAtHead("sub", 1000)).toEqual({ problem: "not a regular file (commit)" });
    expect(await repo.fileAtHead("nope.txt", 1000)).toEqual({ problem: expect.stringMatching(/no such file/) });
    // Pathspec magic and globs are plain names here.
    expect(await repo.fileAtHead("*.txt", 1000)).toEqual({ problem: expect.stringMatching(/no such file/) });
    expect(await repo.fileAtHead(":(glob)a.txt", 1000)).toEqual({ problem: expect.stringMatching(/no such file/) });
    expect(await repo.fileAtHead("big.txt", 99)).toEqual({ problem: "100 bytes, over the 99 allowed", tooLarge: true });
    expect(await repo.fileAtHead("big.txt", 100)).toEqual({ data: Buffer.from("x".repeat(100)) });
  });
});
