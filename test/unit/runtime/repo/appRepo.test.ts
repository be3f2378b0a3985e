import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { git } from "../../../../runtime/git.js";
import { AppRepo } from "../../../../runtime/repo/appRepo.js";
import { applyMessage, rollbackMessage } from "../../../../runtime/repo/commitMessages.js";
import { makeParts, makeWorld, MemoryLog, proposeOnHead, read, tempDir, trailers, type Parts } from "../fixtures.js";

const status = (dir: string) => git(dir, ["status", "--porcelain", "--untracked-files=all"]).then((s) => s.trim());

describe("AppRepo.ensure", () => {
  it("creates the repo with the code as its first commit, then commits changes made outside the runtime", async () => {
    const w = makeWorld({ files: { "a.txt": "a\n" } });
    const log = new MemoryLog();
    const repo = new AppRepo(w.app, log);
    await repo.ensure([]);
    expect(log.events("repo-created")).toHaveLength(1);
    expect(await git(w.app, ["log", "--format=%s%n%b"])).toContain("Initial import of the agent's code");
    expect(await trailers(w.app, "Approved-By")).toEqual(["operator"]);
    fs.writeFileSync(path.join(w.app, "b.txt"), "b\n");
    await repo.ensure([]);
    expect(await git(w.app, ["log", "-1", "--format=%s"])).toMatch(
      /Changes made outside the runtime \(found at start\)/,
    );
    expect(await status(w.app)).toBe("");
    expect(log.events("repo-created")).toHaveLength(1);
  });

  it("discards what an interrupted apply left (lock files, a half-written tree) instead of committing it", async () => {
    const w = makeWorld({ files: { "a.txt": "a\n" } });
    const log = new MemoryLog();
    const repo = new AppRepo(w.app, log);
    await repo.ensure([]);
    const head = await repo.head();
    fs.writeFileSync(path.join(w.app, ".git", "index.lock"), "");
    fs.writeFileSync(path.join(w.app, "a.txt"), "half\n");
    fs.writeFileSync(path.join(w.app, "new.txt"), "half\n");
    await repo.ensure([]);
    expect(await repo.head()).toBe(head);
    expect(read(w.app, "a.txt")).toBe("a\n");
    expect(fs.existsSync(path.join(w.app, "new.txt"))).toBe(false);
    expect(fs.existsSync(path.join(w.app, ".git", "index.lock"))).toBe(false);
    expect(log.events("interrupted-apply-discarded")[0]).toMatchObject({ leftovers: ["index.lock"], files: 2 });
  });

  it("with an approved proposal outstanding, a dirty tree is a torn apply and is discarded, not committed", async () => {
    const w = makeWorld({ files: { "a.txt": "a\n" } });
    const repo = new AppRepo(w.app, new MemoryLog());
    await repo.ensure([]);
    const head = await repo.head();
    fs.writeFileSync(path.join(w.app, "a.txt"), "torn\n");
    await repo.ensure(["p-261129-120000-abcdef"]);
    expect(await repo.head()).toBe(head);
    expect(read(w.app, "a.txt")).toBe("a\n");
  });
});

describe("AppRepo.apply", () => {
  it("applies a proposal on its base and commits it, authored by the agent, with its trailers", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" }, { decided_by: "alice" });
    const r = await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false);
    expect(r).toMatchObject({ state: "applied", reason: null });
    expect(r.commit).toBe(await p.repo.head());
    expect(read(p.w.app, "a.txt")).toBe("a\nb\n");
    expect(await trailers(p.w.app, "Proposal-Id")).toEqual([prop.id]);
    expect(await trailers(p.w.app, "Task-Id")).toEqual([prop.task_id]);
    expect((await trailers(p.w.app, "Approved-By"))[0]).toBe("alice");
    expect((await git(p.w.app, ["log", "-1", "--format=%an <%ae>"])).trim()).toBe("a1 <a1@agent-fleet.invalid>");
    expect(await status(p.w.app)).toBe("");
  });

  it("a moved base is applied 3-way, the message says onto what; outside changes are committed first", async () => {
    const lines = (edit: Record<number, string>) =>
      Array.from({ length: 12 }, (_, i) => edit[i + 1] ?? String(i + 1)).join("\n") + "\n";
    const p = await makeParts(makeWorld({ files: { "a.txt": lines({}) } }));
    const prop = await proposeOnHead(p, { "a.txt": lines({ 12: "12 proposed" }) });
    fs.writeFileSync(path.join(p.w.app, "a.txt"), lines({ 1: "1 committed" }));
    await p.repo.commitOutsideChanges("test");
    fs.writeFileSync(path.join(p.w.app, "a.txt"), lines({ 1: "1 committed", 5: "5 uncommitted" }));
    const r = await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false);
    expect(r.reason ?? null, r.reason ?? "").toBeNull();
    expect(r.state).toBe("applied");
    expect(read(p.w.app, "a.txt")).toBe(lines({ 1: "1 committed", 5: "5 uncommitted", 12: "12 proposed" }));
    const subjects = (await git(p.w.app, ["log", "--format=%s"])).trim().split("\n");
    expect(subjects[1]).toMatch(/Changes made outside the runtime \(found at apply of p-/);
    expect(await git(p.w.app, ["log", "-1", "--format=%b"])).toMatch(
      /3-way applied onto [0-9a-f]{12}; proposed on [0-9a-f]{12}/,
    );
    expect(await status(p.w.app)).toBe("");
  });

  it("a 3-way apply that conflicts leaves /app at HEAD, clean, and says why", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "mine\n" });
    fs.writeFileSync(path.join(p.w.app, "a.txt"), "theirs\n");
    await p.repo.commitOutsideChanges("test");
    const head = await p.repo.head();
    const r = await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false);
    expect(r.state).toBe("conflict");
    expect(r.reason).toMatch(
      new RegExp(
        `its base ${prop.base_commit.slice(0, 12)} is no longer HEAD \\(${head.slice(0, 12)}\\) and a 3-way apply failed`,
      ),
    );
    expect(await p.repo.head()).toBe(head);
    expect(read(p.w.app, "a.txt")).toBe("theirs\n");
    expect(await status(p.w.app)).toBe("");
  });

  it("recovering: a proposal whose commit is already in history is not applied again", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const first = await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false);
    const again = await p.repo.apply(
      { ...prop, state: "approved" },
      fs.readFileSync(p.w.layout.patchFile(prop.id)),
      true,
    );
    expect(again).toMatchObject({ state: "applied", commit: first.commit });
    expect(await trailers(p.w.app, "Proposal-Id")).toEqual([prop.id]);
    expect(await p.repo.findApplied("p-261129-120000-zzzzzz")).toBeUndefined();
  });
});

describe("AppRepo.revert", () => {
  it("reverts an applied commit with the reason and the rollback trailers", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const applied = { ...prop, ...(await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false)) };
    const r = await p.repo.revert({ ...applied, commit: applied.commit! }, "it broke");
    expect(r.ok).toBe(true);
    expect(read(p.w.app, "a.txt")).toBe("a\n");
    expect(await trailers(p.w.app, "Reverts")).toEqual([applied.commit]);
    expect(await trailers(p.w.app, "Rolled-Back-Proposal")).toEqual([prop.id]);
    expect(await git(p.w.app, ["log", "-1", "--format=%B"])).toContain("it broke");
  });

  it("a revert that does not apply cleanly is abandoned with git's reason; /app stays clean at HEAD", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    const applied = { ...prop, ...(await p.repo.apply(prop, fs.readFileSync(p.w.layout.patchFile(prop.id)), false)) };
    fs.writeFileSync(path.join(p.w.app, "a.txt"), "c\n");
    await p.repo.commitOutsideChanges("test");
    const head = await p.repo.head();
    const r = await p.repo.revert({ ...applied, commit: applied.commit! }, "it broke");
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.error).toMatch(/conflict|could not revert/i);
    expect(await p.repo.head()).toBe(head);
    expect(await status(p.w.app)).toBe("");
  });
});

describe("commit messages", () => {
  it("take the task title's first line (bounded) and name the base when it moved", () => {
    const prop = {
      id: "p-1",
      task_id: "t-1",
      task_title: `${"x".repeat(100)}\nsecond line`,
      agent: "a1",
      base_commit: "b".repeat(40),
      decided_by: null,
      commit: "c".repeat(40),
    };
    const msg = applyMessage(prop as never, "h".repeat(40));
    expect(msg.split("\n")[0]).toBe("x".repeat(72));
    expect(msg).toContain("3-way applied onto hhhhhhhhhhhh; proposed on bbbbbbbbbbbb");
    expect(msg).toContain("Approved-By: autonomous");
    expect(applyMessage(prop as never, "b".repeat(40))).not.toContain("3-way");
    expect(rollbackMessage(prop as never, "why").split("\n")[0]).toBe(`Roll back "${"x".repeat(60)}"`);
  });
});

describe("AppRepo: the runtime's fixed attributes, not the tree's", () => {
  /** Drivers in /app's own config (root's: a patch cannot add one), each leaving a mark if it ever runs. */
  async function armDrivers(p: Parts): Promise<string> {
    const marks = tempDir();
    const mark = (what: string) => `sh -c 'touch ${marks}/${what}; cat' <`;
    await git(p.w.app, ["config", "filter.evil.clean", `sh -c 'touch ${marks}/clean; cat'`]);
    await git(p.w.app, ["config", "filter.evil.smudge", `sh -c 'touch ${marks}/smudge; cat'`]);
    await git(p.w.app, ["config", "diff.evil.textconv", `${mark("textconv")}`]);
    await git(p.w.app, ["config", "merge.evil.driver", `sh -c 'touch ${marks}/merge; cat %A > /dev/null'`]);
    return marks;
  }
  const apply = (p: Parts, prop: { id: string }) =>
    p.repo.apply(p.proposals.get(prop.id)!, fs.readFileSync(p.w.layout.patchFile(prop.id)), false);
  const blob = (p: Parts, file: string) => git(p.w.app, ["cat-file", "blob", `HEAD:${file}`]);

  it("an approved patch that adds a hostile .gitattributes (eol, ident, filter, encoding) is applied byte for byte, and so is the next one; no driver runs", async () => {
    const p = await makeParts(makeWorld({ files: { "a.txt": "one\n" } }));
    const marks = await armDrivers(p);
    const attrs = "* text eol=crlf ident filter=evil diff=evil merge=evil\n*.u16 working-tree-encoding=UTF-16\n";
    const text = "line $Id$\nsecond\n";
    const first = await proposeOnHead(p, { ".gitattributes": attrs, "a.txt": text, "b.u16": "plain\n" });
    expect(await apply(p, first)).toMatchObject({ state: "applied" });
    expect(read(p.w.app, "a.txt")).toBe(text);
    expect(read(p.w.app, "b.u16")).toBe("plain\n");
    expect(read(p.w.app, ".gitattributes")).toBe(attrs);
    expect(await blob(p, "a.txt")).toBe(text);
    // The next change, on a tree that now has the attribute file.
    const next = await proposeOnHead(p, { "a.txt": text + "third $Id$\n" });
    expect(await apply(p, next)).toMatchObject({ state: "applied" });
    expect(read(p.w.app, "a.txt")).toBe(text + "third $Id$\n");
    expect(await blob(p, "a.txt")).toBe(text + "third $Id$\n");
    expect(await git(p.w.app, ["status", "--porcelain"])).toBe("");
    expect(fs.readdirSync(marks)).toEqual([]);
    // A hand edit of /app/.git/info/attributes is undone at the next apply. (The proposal is made
    // first: the fixture's own `git add` in /app would otherwise re-read b.u16 under the edited
    // attributes whenever its index entry is racily clean, and fail on the missing BOM.)
    const third = await proposeOnHead(p, { "c.txt": "c\n" });
    fs.writeFileSync(path.join(p.w.app, ".git", "info", "attributes"), "* eol=crlf\n");
    expect(await apply(p, third)).toMatchObject({ state: "applied" });
    expect(read(p.w.app, "c.txt")).toBe("c\n");
  });

  it("a 3-way apply uses git's text merge: a tracked `merge=union` cannot merge two appends the reviewer never saw together", async () => {
    const p = await makeParts(makeWorld({ files: { "log.txt": "start\n" } }));
    const marks = await armDrivers(p);
    const attrs = await proposeOnHead(p, { ".gitattributes": "log.txt merge=union\n*.md merge=evil\n" });
    expect(await apply(p, attrs)).toMatchObject({ state: "applied" });
    const a = await proposeOnHead(p, { "log.txt": "start\nA\n", "n.md": "x\n" });
    const b = await proposeOnHead(p, { "log.txt": "start\nB\n", "n.md": "y\n" });
    expect(a.base_commit).toBe(b.base_commit);
    expect(await apply(p, a)).toMatchObject({ state: "applied" });
    expect(await apply(p, b)).toMatchObject({ state: "conflict", reason_code: "stale-base" });
    expect(read(p.w.app, "log.txt")).toBe("start\nA\n");
    expect(await git(p.w.app, ["status", "--porcelain"])).toBe("");
    expect(fs.readdirSync(marks)).toEqual([]);
  });
});
