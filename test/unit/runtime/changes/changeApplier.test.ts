import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { approvalOf, makeParts, makeWorld, proposeOnHead, read, shellAgent, trailers } from "../fixtures.js";

describe("ChangeApplier.decide", () => {
  it("an approval is applied, recorded with who approved, and the change goes on probation", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const out = await p.changes.decide(prop, { ...approvalOf(prop), note: "fine" });
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
    const out = await p.changes.decide(prop, {
      proposal: prop.id,
      decision: "reject",
      by: "bob",
      at: "x",
      reason: "no",
    });
    expect(out).toMatchObject({ state: "rejected", decided_by: "bob", reason: "no" });
    expect(await p.repo.head()).toBe(head);
  });

  it("a proposal found approved (the runtime died mid-apply) is finished exactly once", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "a\nb\n" });
    const first = await p.changes.decide(prop, approvalOf(prop));
    // The state file lags behind the commit, as after a SIGKILL between the two.
    const lagging = p.proposals.update(first, { state: "approved", commit: null });
    const again = await p.changes.decide(lagging, approvalOf(prop));
    expect(again).toMatchObject({ state: "applied", commit: first.commit });
    expect(await trailers(p.w.app, "Proposal-Id")).toEqual([prop.id]);
  });

  it("a conflicting approval is recorded as conflict with git's reason", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "mine\n" });
    fs.writeFileSync(path.join(p.w.app, "a.txt"), "theirs\n");
    await p.repo.commitOutsideChanges("test");
    const out = await p.changes.decide(prop, approvalOf(prop));
    expect(out.state).toBe("conflict");
    expect(out.reason).toMatch(/3-way apply failed/);
    expect(p.board.status.probation).toBeNull();
  });

  it("a change that breaks agent.json is rolled back at once, with the reason, and the last good program stays", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "agent.json": "{ not json" });
    const out = await p.changes.decide(prop, approvalOf(prop));
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
    const p = await makeParts(
      makeWorld({ files: shellAgent("true", "if [ -e BROKEN ]; then echo 'BROKEN marker' >&2; exit 3; fi") }),
    );
    const fine = await proposeOnHead(p, { "fine.txt": "x" });
    const good = await p.changes.decide(fine, approvalOf(fine));
    expect(good.state).toBe("applied");
    expect(p.log.events("start-check-passed")).toHaveLength(1);
    const broken = await proposeOnHead(p, { BROKEN: "x" });
    const bad = await p.changes.decide(broken, approvalOf(broken));
    expect(bad.state).toBe("rolled-back");
    expect(bad.reason).toMatch(/start check \(sh -c .*\) exited with 3 after this change: BROKEN marker/);
    expect(fs.existsSync(path.join(p.w.app, "BROKEN"))).toBe(false);
    expect(fs.existsSync(path.join(p.w.app, "fine.txt"))).toBe(true);
  });
});

describe("ChangeApplier.decide: what is applied is what was approved (issue 10 §2, §3)", () => {
  it("a patch file changed after approval is refused, not applied: the proposal says why and the log and status say so", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const head = await p.repo.head();
    const prop = await proposeOnHead(p, { "a.txt": "a\nbenign\n" });
    const approval = approvalOf(prop);
    // Swapped after the operator reviewed it (same size, other content).
    const file = p.w.layout.patchFile(prop.id);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("+benign", "+evil!!"));
    const out = await p.changes.decide(prop, approval);
    expect(out).toMatchObject({ state: "refused", reason_code: "patch-changed", decided_by: "alice" });
    expect(out.reason).toMatch(
      new RegExp(
        `the patch file changed after approval: its sha256 is [0-9a-f]{64}, the approval was for ${approval.sha256}`,
      ),
    );
    expect(p.proposals.get(prop.id)?.state).toBe("refused");
    expect(await p.repo.head()).toBe(head);
    expect(read(p.w.app, "a.txt")).toBe("a\n");
    expect(p.log.events("proposal-refused")[0]).toMatchObject({ proposal: prop.id, reason_code: "patch-changed" });
    expect(p.board.status.last_error).toMatch(/refused: the patch file changed after approval/);
  });

  it("an approval without sha256 (a decision from before decisions carried one) is refused as stale-decision", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    const { sha256: _drop, ...old } = approvalOf(prop);
    const out = await p.changes.decide(prop, old);
    expect(out).toMatchObject({ state: "refused", reason_code: "stale-decision" });
    expect(out.reason).toMatch(/records no sha256 .*agentctl retry/);
    expect(read(p.w.app, "a.txt")).toBe("a\n");
  });

  it("the approved hash is kept with the proposal, and an apply finished after a crash checks it again", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    // Recorded as approved (with the hash), then the runtime died before applying; the patch is swapped meanwhile.
    const approved = p.proposals.update(prop, {
      state: "approved",
      decided_by: "alice",
      approved_sha256: prop.proposed_sha256!,
    });
    fs.appendFileSync(p.w.layout.patchFile(prop.id), "\n");
    p.decisions.recover();
    await p.decisions.checkAll();
    expect(p.proposals.get(approved.id)).toMatchObject({ state: "refused", reason_code: "patch-changed" });
    expect(read(p.w.app, "a.txt")).toBe("a\n");
  });

  it("autonomous mode: the runtime's own approval is bound to the hash it recorded when proposing", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "b\n" }, { approval_required: false });
    fs.writeFileSync(
      p.w.layout.patchFile(prop.id),
      fs.readFileSync(p.w.layout.patchFile(prop.id), "utf8").replace("+b", "+c"),
    );
    p.decisions.recover();
    await p.decisions.checkAll();
    expect(p.proposals.get(prop.id)).toMatchObject({
      state: "refused",
      reason_code: "patch-changed",
      decided_by: "autonomous",
    });
    expect(read(p.w.app, "a.txt")).toBe("a\n");
  });

  it("an apply that would leave less than AGENT_MIN_FREE_BYTES free on /app's file system is refused (no-space)", async () => {
    const w = makeWorld({
      files: { ...shellAgent("true"), "a.txt": "a\n" },
      env: { AGENT_MIN_FREE_BYTES: String(2 ** 52) },
    });
    const p = await makeParts(w);
    const head = await p.repo.head();
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    const out = await p.changes.decide(prop, approvalOf(prop));
    expect(out).toMatchObject({ state: "refused", reason_code: "no-space" });
    expect(out.reason).toMatch(
      /not enough free space on .* MiB free, the apply needs .* must stay free \(AGENT_MIN_FREE_BYTES\)/,
    );
    expect(await p.repo.head()).toBe(head);
  });
});

describe("ChangeApplier.rollback", () => {
  it("a revert that does not apply is abandoned: the proposal stays applied and the error is reported", async () => {
    const p = await makeParts(makeWorld({ files: { ...shellAgent("true"), "a.txt": "a\n" } }));
    const prop = await proposeOnHead(p, { "a.txt": "b\n" });
    const applied = await p.changes.decide(prop, approvalOf(prop));
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
