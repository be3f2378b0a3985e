import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { makeParts, makeWorld, proposeOnHead, read, shellAgent, trailers } from "../fixtures.js";

const approve = (id: string, by = "alice") => ({ proposal: id, decision: "approve" as const, by, at: "2026-11-29T12:00:00.000Z" });

describe("ChangeApplier.decide", () => {
  it("an approval is applied, recorded with who approved, and the change goes on probation", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const out = await p.changes.decide(prop, { ...approve(prop.id), note: "fine" });
    expect(out).toMatchObject({ state: "applied", decided_by: "alice", note: "fine" });
    expect(p.proposals.get(prop.id)).toMatchObject({ state: "applied", commit: out.commit });
    expect(read(p.w.app, "a.txt")).toBe("a\nb\n");
    expect(p.board.status.probation).toEqual({ proposal_id: prop.id, commit: out.commit, failures: 0 });
    expect(p.log.events("proposal-applied")).toHaveLength(1);
  });

  it("a rejection is recorded with its reason and never touches /app", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const head = await p.repo.head();
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    const out = await p.changes.decide(prop, { proposal: prop.id, decision: "reject", by: "bob", at: "x", reason: "no" });
    expect(out).toMatchObject({ state: "rejected", decided_by: "bob", reason: "no" });
    expect(await p.repo.head()).toBe(head);
  });

  it("a proposal found approved (the runtime died mid-apply) is finished exactly once", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const first = await p.changes.decide(prop, approve(prop.id));
    // The state file lags behind the commit, as after a SIGKILL between the two.
    const lagging = p.proposals.update(first, { state: "approved", commit: null });
    const again = await p.changes.decide(lagging, approve(prop.id));
    expect(again).toMatchObject({ state: "applied", commit: first.commit });
    expect(await trailers(p.w.app, "Proposal-Id")).toEqual([prop.id]);
  });

  it("a conflicting approval is recorded as conflict with git's reason", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "mine\n" });
    fs.writeFileSync(path.join(p.w.app, "a.txt"), "theirs\n");
    await p.repo.commitOutsideChanges("test");
    const out = await p.changes.decide(prop, approve(prop.id));
    expect(out.state).toBe("conflict");
    expect(out.reason).toMatch(/3-way apply failed/);
    expect(p.board.status.probation).toBeNull();
  });

  it("a change that breaks agent.json is rolled back at once, with the reason, and the last good program stays", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "agent.json": "{ not json" });
    const out = await p.changes.decide(prop, approve(prop.id));
    expect(out.state).toBe("rolled-back");
    expect(out.reason).toMatch(/no longer starts: agent\.json is not valid JSON/);
    expect(out.rollback_commit).toBe(await p.repo.head());
    expect(JSON.parse(read(p.w.app, "agent.json")).command).toEqual(["sh", "-c", "true"]);
    expect(await trailers(p.w.app, "Rolled-Back-Proposal")).toEqual([prop.id]);
    expect(p.board.status.last_error).toMatch(/^rolled back p-/);
    expect(p.board.status.probation).toBeNull();
    expect(p.program.program?.command).toEqual(["sh", "-c", "true"]);
  });

  it("a change that fails the start check (run on exactly that commit) is rolled back with the check's output", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true", "if [ -e BROKEN ]; then echo 'BROKEN marker' >&2; exit 3; fi") }));
    const good = await p.changes.decide(await proposeOnHead(p, { "fine.txt": "x" }), approve("x"));
    expect(good.state).toBe("applied");
    expect(p.log.events("start-check-passed")).toHaveLength(1);
    const bad = await p.changes.decide(await proposeOnHead(p, { BROKEN: "x" }), approve("y"));
    expect(bad.state).toBe("rolled-back");
    expect(bad.reason).toMatch(/start check \(sh -c .*\) exited with 3 after this change: BROKEN marker/);
    expect(fs.existsSync(path.join(p.w.app, "BROKEN"))).toBe(false);
    expect(fs.existsSync(path.join(p.w.app, "fine.txt"))).toBe(true);
  });
});

describe("ChangeApplier.rollback", () => {
  it("a revert that does not apply is abandoned: the proposal stays applied and the error is reported", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const applied = await p.changes.decide(await proposeOnHead(p, { "a.txt": "b\n" }), approve("x"));
    fs.writeFileSync(path.join(p.w.app, "a.txt"), "c\n");
    await p.repo.commitOutsideChanges("test");
    const out = await p.changes.rollback(applied, "because");
    expect(out.state).toBe("applied");
    expect(p.proposals.get(applied.id)?.state).toBe("applied");
    expect(p.board.status.last_error).toMatch(new RegExp(`rollback of ${applied.id} failed`));
    expect(p.log.events("rollback-failed")).toHaveLength(1);
    expect(read(p.w.app, "a.txt")).toBe("c\n");
  });
});
