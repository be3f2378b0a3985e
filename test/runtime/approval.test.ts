import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  git,
  makeApp,
  makeWorld,
  proposals,
  startAgent,
  stopAgent,
  task,
  tearDown,
  trailers,
  waitFor,
  type ProposalJson,
  type RunningAgent,
  type World,
} from "./helpers.js";

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

function proposalFor(taskId: string): ProposalJson | undefined {
  return proposals(w).find((p) => p.task_id === taskId);
}

describe("approval gate", () => {
  it("APPROVAL_REQUIRED=true: a proposal waits, nothing is committed until approved; approve commits it with the approver", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
    const id = addEditTask(w, "Write hello", [{ write: { path: "hello.txt", content: "hello\n" } }]);
    const p = await waitFor("proposal", () => proposalFor(id));
    expect(p.state).toBe("pending");
    expect(p.diffstat.files.map((f) => f.path)).toEqual(["hello.txt"]);
    expect(task(w, id).status).toBe("done");
    expect(task(w, id).result?.outcome).toBe("proposed");
    expect(fs.existsSync(path.join(app, "hello.txt"))).toBe(false);
    expect(trailers(app, "Task-Id")).toEqual([]);
    const diff = ctl(w, ["diff", p.id]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain("+hello");
    // The approval is bound to the patch on screen: a hash that is not the patch's is refused.
    const patchSha = createHash("sha256")
      .update(fs.readFileSync(path.join(w.shared, "proposals", `${p.id}.patch`)))
      .digest("hex");
    expect(diff.stdout).toContain(`# sha256 ${patchSha}`);
    const mismatch = ctl(w, ["approve", p.id, "--sha256", "0".repeat(64)]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/the patch's sha256 is [0-9a-f]{64}, not 0{64}/);
    expect(fs.existsSync(path.join(w.decisions, `${p.id}.json`))).toBe(false);

    const approve = ctl(w, ["approve", p.id, "--note", "fine", "--by", "alice", "--sha256", patchSha]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(w.decisions, `${p.id}.json`), "utf8")).sha256).toBe(patchSha);
    const applied = await waitFor("applied", () => proposals(w, "applied").find((x) => x.id === p.id));
    expect(fs.readFileSync(path.join(app, "hello.txt"), "utf8")).toBe("hello\n");
    expect(trailers(app, "Task-Id")).toEqual([id]);
    expect(trailers(app, "Proposal-Id")).toEqual([p.id]);
    expect(trailers(app, "Approved-By")).toContain("alice");
    expect(applied.commit).toBe(git(app, ["rev-parse", "HEAD"]).trim());
    expect(git(app, ["status", "--porcelain"]).trim()).toBe("");
    // A second decision is refused.
    const again = ctl(w, ["approve", p.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/applied, not pending/);
  });

  it("reject records the reason and never touches /app", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
    const id = addEditTask(w, "Write x", [{ write: { path: "x.txt", content: "x\n" } }]);
    const p = await waitFor("proposal", () => proposalFor(id));
    const noReason = ctl(w, ["reject", p.id]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
    expect(ctl(w, ["reject", p.id, "--reason", "not wanted"]).code).toBe(0);
    const r = await waitFor("rejected", () => proposals(w, "rejected").find((x) => x.id === p.id));
    expect(r.reason).toBe("not wanted");
    expect(r.decided_by).toBe("tester");
    expect(fs.existsSync(path.join(app, "x.txt"))).toBe(false);
    expect(trailers(app, "Task-Id")).toEqual([]);
  });

  it("APPROVAL_REQUIRED=false: applied at once, Approved-By: autonomous", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "false" }));
    const id = addEditTask(w, "Auto", [{ write: { path: "auto.txt", content: "a\n" } }]);
    const t = await waitFor("done", () => {
      const x = task(w, id);
      return x.status === "done" ? x : undefined;
    });
    expect(t.result?.outcome).toBe("applied");
    expect(trailers(app, "Task-Id")).toEqual([id]);
    expect(trailers(app, "Approved-By")).toContain("autonomous");
    expect(fs.readFileSync(path.join(app, "auto.txt"), "utf8")).toBe("a\n");
    // Author is the agent, committer the runtime.
    expect(git(app, ["log", "-1", "--format=%an|%cn"]).trim()).toBe("a1|agent-fleet runtime");
  });

  it("a stale base is applied 3-way when it can be, and marked conflict when it cannot", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1", { files: { "shared.txt": "one\ntwo\nthree\n" } });
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
    const a = addEditTask(w, "A", [{ write: { path: "same.txt", content: "from A\n" } }]);
    const b = addEditTask(w, "B", [{ write: { path: "same.txt", content: "from B\n" } }]);
    const c = addEditTask(w, "C", [{ replace: { path: "shared.txt", find: "three", with: "THREE" } }]);
    const pa = await waitFor("A", () => proposalFor(a));
    const pb = await waitFor("B", () => proposalFor(b));
    const pc = await waitFor("C", () => proposalFor(c));
    expect(pb.base_commit).toBe(pa.base_commit);
    expect(ctl(w, ["approve", pa.id]).code).toBe(0);
    await waitFor("A applied", () => proposals(w, "applied").find((x) => x.id === pa.id));
    expect(ctl(w, ["approve", pb.id]).code).toBe(0);
    const conflict = await waitFor("B conflict", () => proposals(w, "conflict").find((x) => x.id === pb.id));
    expect(conflict.reason).toMatch(/no longer HEAD/);
    expect(ctl(w, ["approve", pc.id]).code).toBe(0);
    await waitFor("C applied", () => proposals(w, "applied").find((x) => x.id === pc.id));
    expect(fs.readFileSync(path.join(app, "same.txt"), "utf8")).toBe("from A\n");
    expect(fs.readFileSync(path.join(app, "shared.txt"), "utf8")).toBe("one\ntwo\nTHREE\n");
    expect(trailers(app, "Task-Id").sort()).toEqual([a, c].sort());
    expect(git(app, ["status", "--porcelain"]).trim()).toBe("");
  });

  it("an invalid decision file is never a yes; the proposal keeps waiting", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    const agent = startAgent(w, "a1", { APPROVAL_REQUIRED: "true" });
    running.push(agent);
    const id = addEditTask(w, "Wait", [{ write: { path: "w.txt", content: "w\n" } }]);
    const p = await waitFor("proposal", () => proposalFor(id));
    fs.writeFileSync(
      path.join(w.decisions, `${p.id}.json`),
      JSON.stringify({ proposal: p.id, decision: "yes please", by: "x", at: "now" }),
    );
    await waitFor("invalid decision logged", () => agent.output().includes("decision-invalid"));
    expect(proposalFor(id)?.state).toBe("pending");
    expect(trailers(app, "Task-Id")).toEqual([]);
  });

  it("restart idempotency: a decision taken while the runtime is down is applied once, and never again after a crash", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    let agent = startAgent(w, "a1", { APPROVAL_REQUIRED: "true" });
    const id = addEditTask(w, "Once", [{ append: { path: "once.txt", content: "line\n" } }]);
    const p = await waitFor("proposal", () => proposalFor(id));
    await stopAgent(agent);
    expect(ctl(w, ["approve", p.id]).code).toBe(0);
    agent = startAgent(w, "a1", { APPROVAL_REQUIRED: "true" });
    const applied = await waitFor("applied", () => proposals(w, "applied").find((x) => x.id === p.id));
    await stopAgent(agent);
    // Simulate a crash between the commit and the state update: the proposal says "approved".
    const file = path.join(w.shared, "proposals", `${p.id}.json`);
    const rec = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...rec, state: "approved", commit: null }));
    agent = startAgent(w, "a1", { APPROVAL_REQUIRED: "true" });
    running.push(agent);
    const again = await waitFor("re-recorded", () => proposals(w, "applied").find((x) => x.id === p.id));
    expect(again.commit).toBe(applied.commit);
    expect(trailers(app, "Task-Id")).toEqual([id]);
    expect(fs.readFileSync(path.join(app, "once.txt"), "utf8")).toBe("line\n");
  });
});
