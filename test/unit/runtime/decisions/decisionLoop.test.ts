import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { approvalOf, makeParts, makeWorld, proposeOnHead, read, shellAgent } from "../fixtures.js";

const decide = (dir: string, id: string, body: unknown) =>
  fs.writeFileSync(path.join(dir, `${id}.json`), typeof body === "string" ? body : JSON.stringify(body));

describe("DecisionLoop", () => {
  it("recover() picks up this agent's pending and approved proposals, not decided or others' ones", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const pending = await proposeOnHead(p, { "a.txt": "a" });
    const approved = await proposeOnHead(p, { "b.txt": "b" }, { state: "approved", decided_by: "alice" });
    await proposeOnHead(p, { "c.txt": "c" }, { state: "rejected" });
    await proposeOnHead(p, { "d.txt": "d" }, { agent: "someone-else" });
    p.decisions.recover();
    expect(p.decisions.waitingIds.sort()).toEqual([pending.id, approved.id].sort());
    expect(p.log.events("proposals-waiting")[0]).toMatchObject({ count: 2 });
  });

  it("no decision file is never a yes; an approval file applies the proposal and it stops waiting", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const prop = await proposeOnHead(p, { "a.txt": "a\n" });
    p.decisions.track(prop.id);
    await p.decisions.checkAll();
    expect(p.proposals.get(prop.id)?.state).toBe("pending");
    decide(p.w.decisions, prop.id, approvalOf(prop));
    await p.decisions.checkAll();
    expect(p.proposals.get(prop.id)).toMatchObject({ state: "applied", decided_by: "alice" });
    expect(read(p.w.app, "a.txt")).toBe("a\n");
    expect(p.decisions.waitingIds).toEqual([]);
  });

  it("an invalid decision file is reported once per distinct error and the proposal keeps waiting", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const prop = await proposeOnHead(p, { "a.txt": "a\n" });
    p.decisions.track(prop.id);
    decide(p.w.decisions, prop.id, { proposal: prop.id, decision: "yes please", by: "mallory", at: "x" });
    await p.decisions.checkAll();
    await p.decisions.checkAll();
    expect(p.log.events("decision-invalid")).toHaveLength(1);
    decide(p.w.decisions, prop.id, "{ nope");
    await p.decisions.checkAll();
    expect(p.log.events("decision-invalid")).toHaveLength(2);
    expect(p.proposals.get(prop.id)?.state).toBe("pending");
    expect(p.decisions.waitingIds).toEqual([prop.id]);
  });

  it("a proposal made in autonomous mode whose apply a crash interrupted is applied without a decision", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const prop = await proposeOnHead(p, { "a.txt": "a\n" }, { approval_required: false });
    p.decisions.recover();
    await p.decisions.checkAll();
    expect(p.proposals.get(prop.id)).toMatchObject({ state: "applied", decided_by: "autonomous" });
  });

  it("run() applies a decision that arrives while it waits, and stop() ends it", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const prop = await proposeOnHead(p, { "a.txt": "a\n" });
    p.decisions.track(prop.id);
    const loop = p.decisions.run();
    decide(p.w.decisions, prop.id, { proposal: prop.id, decision: "reject", by: "bob", at: "x", reason: "no thanks" });
    p.decisions.wake();
    for (let i = 0; i < 500 && p.proposals.get(prop.id)?.state === "pending"; i++)
      await new Promise((r) => setTimeout(r, 20));
    p.decisions.stop();
    await loop;
    expect(p.proposals.get(prop.id)).toMatchObject({ state: "rejected", reason: "no thanks" });
  });
});
