import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addTask,
  agentHealth,
  Conflict,
  decide,
  HashMismatch,
  InvalidInput,
  listProposals,
  listTasks,
  NotFound,
  readLogs,
  showProposal,
  showTask,
} from "../../../runtime/operator/index.js";
import { readDecision, validateDecision } from "../../../runtime/proposals/decision.js";
import { operatorWorld, writeProposal, type OperatorWorld } from "./fixtures.js";

let w: OperatorWorld;
afterEach(() => w?.cleanup());
const sha = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");
const PATCH = "diff --git a/hello.txt b/hello.txt\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello\n";

describe("operator library: proposals and decisions", () => {
  it("a proposal's sha256 is that of its patch file's bytes; the effective state lays the decision over the stored one", () => {
    w = operatorWorld();
    const p = writeProposal(w, PATCH);
    const dirs = { shared: w.shared, decisions: w.decisions };
    const shown = showProposal(dirs, p.id);
    expect(shown.sha256).toBe(sha(PATCH));
    expect(shown.patchBytes.toString()).toBe(PATCH);
    expect(listProposals(dirs)).toMatchObject([
      { id: p.id, state: "pending", effective_state: "pending", decision: null, sha256: sha(PATCH) },
    ]);
    const d = decide(dirs, { id: p.id, decision: "approve", by: "alice" });
    expect(d.sha256).toBe(sha(PATCH));
    expect(listProposals(dirs)[0]).toMatchObject({
      state: "pending",
      effective_state: "approved",
      decision: { by: "alice", sha256: sha(PATCH) },
    });
  });

  it("approve with a sha256 that is not the patch's is refused and writes nothing; with the right one it is recorded", () => {
    w = operatorWorld();
    const p = writeProposal(w, PATCH);
    const dirs = { shared: w.shared, decisions: w.decisions };
    const wrong = sha("something else");
    expect(() => decide(dirs, { id: p.id, decision: "approve", by: "alice", sha256: wrong })).toThrow(HashMismatch);
    expect(readDecision(w.decisions, p.id)).toEqual({ kind: "none" });
    const d = decide(dirs, { id: p.id, decision: "approve", by: "alice", sha256: sha(PATCH).toUpperCase() });
    expect(d.sha256).toBe(sha(PATCH));
    expect(readDecision(w.decisions, p.id)).toMatchObject({ kind: "decided", decision: { sha256: sha(PATCH) } });
  });

  it("a second decision, a decided proposal, an unknown id and a bad hash each get their typed error", () => {
    w = operatorWorld();
    const dirs = { shared: w.shared, decisions: w.decisions };
    const p = writeProposal(w, PATCH);
    decide(dirs, { id: p.id, decision: "reject", by: "bob", reason: "no" });
    expect(() => decide(dirs, { id: p.id, decision: "approve", by: "alice" })).toThrow(
      /already has a decision \(reject by bob/,
    );
    expect(() => decide(dirs, { id: p.id, decision: "approve", by: "alice" })).toThrow(Conflict);
    const applied = writeProposal(w, PATCH, { state: "applied" });
    expect(() => decide(dirs, { id: applied.id, decision: "approve", by: "alice" })).toThrow(/is applied, not pending/);
    expect(() => decide(dirs, { id: "p-261129-101010-abcdef", decision: "approve", by: "a" })).toThrow(NotFound);
    expect(() => decide(dirs, { id: "nonsense", decision: "approve", by: "a" })).toThrow(InvalidInput);
    expect(() => decide(dirs, { id: applied.id, decision: "approve", by: "a", sha256: "beef" })).toThrow(
      /sha256 must be 64 hexadecimal digits/,
    );
    expect(() => decide(dirs, { id: applied.id, decision: "reject", by: "a" })).toThrow(/a rejection needs a reason/);
    expect(() =>
      decide(
        { ...dirs, decisions: path.join(w.dir, "nope") },
        { id: writeProposal(w, PATCH).id, decision: "approve", by: "a" },
      ),
    ).toThrow(/decisions dir .*nope does not exist/);
  });

  it("decisions without sha256 (written before it existed) stay valid; a malformed sha256 is not", () => {
    const id = "p-261129-101010-abcdef";
    const old = { proposal: id, decision: "approve", by: "alice", at: "2026-11-01T00:00:00Z" };
    expect(validateDecision(old, id)).toEqual(old);
    expect(validateDecision({ ...old, sha256: "a".repeat(64) }, id).sha256).toBe("a".repeat(64));
    expect(() => validateDecision({ ...old, sha256: "xyz" }, id)).toThrow(
      /"sha256" must be 64 lowercase hexadecimal digits/,
    );
  });
});

describe("operator library: tasks, status, logs", () => {
  it("add validates its input with the field at fault; list filters by state and agent; show finds one", () => {
    w = operatorWorld();
    expect(() => addTask(w.shared, { title: " ", description: "d", createdBy: "o" })).toThrow(
      expect.objectContaining({ field: "title" }),
    );
    expect(() => addTask(w.shared, { title: "t", createdBy: "o" })).toThrow(
      expect.objectContaining({ field: "instructions" }),
    );
    expect(() => addTask(w.shared, { title: "t", description: "d", priority: 10, createdBy: "o" })).toThrow(
      /priority must be a whole number from 0/,
    );
    expect(() => addTask(w.shared, { title: "t", description: "d", agent: "Bad_Name", createdBy: "o" })).toThrow(
      /agent "Bad_Name" is not valid/,
    );
    expect(() =>
      addTask(w.shared, { title: "t", description: "d", agent: "a", capability: "c", createdBy: "o" }),
    ).toThrow(/not both/);
    expect(() => addTask(path.join(w.dir, "none"), { title: "t", description: "d", createdBy: "o" })).toThrow(NotFound);
    const a = addTask(w.shared, { title: "for a", description: "d", agent: "agent-a", createdBy: "o" });
    const b = addTask(w.shared, { title: "any", description: "d", priority: 9, createdBy: "o" });
    expect(listTasks(w.shared).map((t) => t.id)).toEqual([a.id, b.id].sort());
    expect(listTasks(w.shared, { agent: "agent-a" }).map((t) => t.id)).toEqual([a.id]);
    expect(listTasks(w.shared, { state: "done" })).toEqual([]);
    expect(listTasks(w.shared)[0]).not.toHaveProperty("file");
    expect(showTask(w.shared, b.id)).toMatchObject({ id: b.id, priority: 9, status: "pending" });
    expect(() => showTask(w.shared, "t-261129-101010-abcdef")).toThrow(NotFound);
  });

  it("health: unknown agent is unhealthy; a fresh heartbeat is healthy; logs merge by time and keep the last N", () => {
    w = operatorWorld();
    expect(agentHealth(w.shared, "a1")).toMatchObject({ healthy: false, state: null });
    const status = path.join(w.shared, "agents", "a1", "status.json");
    fs.mkdirSync(path.dirname(status), { recursive: true });
    fs.writeFileSync(
      status,
      JSON.stringify({
        agent: "a1",
        state: "running",
        heartbeat_at: new Date().toISOString(),
        lease_seconds: 30,
        last_error: null,
      }),
    );
    expect(agentHealth(w.shared, "a1")).toMatchObject({ healthy: true, state: "running", lease_seconds: 30 });
    expect(agentHealth(w.shared, "a1", 30, Date.now() + 60_000).healthy).toBe(false);
    const logs = path.join(w.shared, "logs");
    fs.mkdirSync(logs, { recursive: true });
    fs.writeFileSync(
      path.join(logs, "a1.jsonl"),
      '{"time":"2026-01-01T00:00:01Z","agent":"a1"}\n{"time":"2026-01-01T00:00:03Z","agent":"a1"}\npartial',
    );
    fs.writeFileSync(path.join(logs, "a2.jsonl"), '{"time":"2026-01-01T00:00:02Z","agent":"a2"}\nnot json\n');
    expect(readLogs(w.shared).map((l) => l.entry?.agent ?? l.text)).toEqual(["not json", "a1", "a2", "a1"]);
    expect(readLogs(w.shared, { agent: "a2" }).map((l) => l.text)).toEqual([
      "not json",
      '{"time":"2026-01-01T00:00:02Z","agent":"a2"}',
    ]);
    expect(readLogs(w.shared, { lines: 1 }).map((l) => l.entry?.time)).toEqual(["2026-01-01T00:00:03Z"]);
  });
});
