import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { pruneRejectedPatches } from "../../../../runtime/tasks/janitor.js";
import { makeParts, makeWorld, proposeOnHead, shellAgent } from "../fixtures.js";

describe("pruneRejectedPatches (issue 10 §3)", () => {
  it("removes the patch of a rejected proposal once the retention period is over; the proposal stays, marked pruned", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent("true") }));
    const rejected = p.proposals.update(await proposeOnHead(p, { "a.txt": "a" }), { state: "rejected", reason: "no" });
    const pending = await proposeOnHead(p, { "b.txt": "b" });
    const applied = p.proposals.update(await proposeOnHead(p, { "c.txt": "c" }), { state: "applied" });
    const others = p.proposals.update(await proposeOnHead(p, { "d.txt": "d" }, { agent: "someone-else" }), {
      state: "rejected",
    });
    const day = 86400_000;
    const recorded = Date.parse(rejected.updated_at);

    // Within the period: kept.
    expect(pruneRejectedPatches(p.proposals, "a1", 14, p.log, recorded + 13 * day)).toBe(0);
    expect(fs.existsSync(p.w.layout.patchFile(rejected.id))).toBe(true);

    const now = recorded + 15 * day;
    expect(pruneRejectedPatches(p.proposals, "a1", 14, p.log, now)).toBe(1);
    expect(fs.existsSync(p.w.layout.patchFile(rejected.id))).toBe(false);
    expect(p.proposals.get(rejected.id)).toMatchObject({
      state: "rejected",
      reason: "no",
      patch_pruned_at: new Date(now).toISOString(),
    });
    for (const kept of [pending, applied, others]) expect(fs.existsSync(p.w.layout.patchFile(kept.id))).toBe(true);
    expect(p.log.events("rejected-patches-pruned")[0]).toMatchObject({ count: 1, retention_days: 14 });

    // Once is enough.
    expect(pruneRejectedPatches(p.proposals, "a1", 14, p.log, now + day)).toBe(0);
  });
});
