import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { proposalIdForTask } from "../../../../runtime/ids.js";
import { Backoff, backoffDelayMs } from "../../../../runtime/tasks/backoff.js";
import { makeParts, makeWorld, read, shellAgent, trailers, type Parts } from "../fixtures.js";

/** Queue a task and claim it, as the loop would. */
function claim(p: Parts, description: string, extra: { maxAttempts?: number } = {}) {
  const t = p.queue.addTask({
    title: description,
    description,
    maxAttempts: extra.maxAttempts ?? 0,
    createdBy: "test",
  });
  const c = p.queue.claimNext("a1", [], 0);
  if (!c) throw new Error("nothing to claim");
  return { id: t.id, c };
}

const doneRecord = (p: Parts, id: string) =>
  JSON.parse(fs.readFileSync(path.join(p.w.layout.done, `${id}.json`), "utf8"));
const failedRecord = (p: Parts, id: string) =>
  JSON.parse(fs.readFileSync(path.join(p.w.layout.failed, `${id}.json`), "utf8"));

// The program acts on its task's description (its instructions file holds title and description).
const SCRIPT = [
  'if grep -q write-me "$TASK_INSTRUCTIONS"; then printf "%s\\n" "$TASK_ID" > "out-$TASK_ID.txt"; exit 0; fi',
  'if grep -q retry-me "$TASK_INSTRUCTIONS"; then echo "busy" >&2; exit 75; fi',
  'if grep -q fail-me "$TASK_INSTRUCTIONS"; then echo "cannot" >&2; exit 2; fi',
  'if grep -q binary-me "$TASK_INSTRUCTIONS"; then printf "\\0\\1" > blob.bin; ln -s blob.bin link; exit 0; fi',
  "exit 0",
].join("\n");

describe("TaskLoop.processTask", () => {
  it("autonomous: a change becomes a proposal, is applied at once, and the task is done with its commit", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT), env: { APPROVAL_REQUIRED: "false" } }));
    const { id, c } = claim(p, "write-me");
    await p.tasks.processTask(c);
    const t = doneRecord(p, id);
    expect(t.result).toMatchObject({ outcome: "applied", proposal_id: proposalIdForTask(id), exit_code: 0 });
    expect(t.result.commit).toBe(await p.repo.head());
    expect(read(p.w.app, `out-${id}.txt`)).toBe(`${id}\n`);
    expect(await trailers(p.w.app, "Task-Id")).toEqual([id]);
    expect(p.board.status).toMatchObject({ tasks_done: 1, consecutive_failures: 0, current_task: id });
    expect(t.history.map((h: { event: string }) => h.event)).toEqual(["queued", "claimed", "done"]);
  });

  it("approval required: the task is done as `proposed` and the proposal is handed to the decision loop", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id, c } = claim(p, "write-me");
    await p.tasks.processTask(c);
    expect(doneRecord(p, id).result.outcome).toBe("proposed");
    expect(p.proposals.get(proposalIdForTask(id))?.state).toBe("pending");
    expect(p.decisions.waitingIds).toEqual([proposalIdForTask(id)]);
    expect(fs.existsSync(path.join(p.w.app, `out-${id}.txt`))).toBe(false);
  });

  it("a change with binary files or symlinks fails the task with the reason, and no proposal is made", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id, c } = claim(p, "binary-me");
    await p.tasks.processTask(c);
    const t = failedRecord(p, id);
    expect(t.result.outcome).toBe("failed");
    expect(t.result.error).toMatch(
      /^change refused: the change holds binary files "blob.bin" and symlinks "link", .*AGENT_ALLOW_BINARY is false/,
    );
    expect(p.proposals.get(proposalIdForTask(id))).toBeUndefined();
  });

  it("with AGENT_ALLOW_BINARY=true the proposal lists its binary files and symlinks with sizes", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT), env: { AGENT_ALLOW_BINARY: "true" } }));
    const { id, c } = claim(p, "binary-me");
    await p.tasks.processTask(c);
    expect(doneRecord(p, id).result.outcome).toBe("proposed");
    expect(p.proposals.get(proposalIdForTask(id))?.special_files).toEqual([
      { path: "blob.bin", kind: "binary", bytes: 2 },
      { path: "link", kind: "symlink", bytes: 8, target: "blob.bin" },
    ]);
  });

  it("no change: done with outcome no-changes, no proposal", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id, c } = claim(p, "nothing");
    await p.tasks.processTask(c);
    expect(doneRecord(p, id).result.outcome).toBe("no-changes");
    expect(p.proposals.get(proposalIdForTask(id))).toBeUndefined();
  });

  it("exit 75 sends the task back with attempts + 1 until its limit, then fails it with the last error", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id, c } = claim(p, "retry-me", { maxAttempts: 2 });
    await p.tasks.processTask(c);
    const back = p.queue.list("pending").find((t) => t.id === id)!;
    expect(back).toMatchObject({ attempts: 1, last_error: "agent program exited with 75: busy" });
    expect(p.board.status.consecutive_failures).toBe(1);
    await p.tasks.processTask(p.queue.claimNext("a1", [], 0)!);
    expect(failedRecord(p, id).result.error).toBe(
      "gave up after 2 attempts; last error: agent program exited with 75: busy",
    );
  });

  it("any other exit fails the task at once with the output's last lines", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id, c } = claim(p, "fail-me");
    await p.tasks.processTask(c);
    const t = failedRecord(p, id);
    expect(t.result).toMatchObject({ outcome: "failed", exit_code: 2, error: "agent program exited with 2: cannot" });
    expect(t.attempts).toBe(1);
    expect(p.board.status).toMatchObject({ tasks_failed: 1, last_error: "agent program exited with 2: cannot" });
  });

  it("a task that already has a proposal is finished from it, without running again", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const first = claim(p, "write-me");
    await p.tasks.processTask(first.c);
    // The runtime died after the proposal and before the task left claimed/: it is claimed again.
    const rec = doneRecord(p, first.id);
    fs.rmSync(path.join(p.w.layout.done, `${first.id}.json`));
    fs.writeFileSync(
      path.join(p.w.layout.pending, `5_${first.id}_any_1.json`),
      JSON.stringify({ ...rec, status: "pending", result: null, completed_at: null }),
    );
    const before = p.log.events("program-exited").length;
    await p.tasks.processTask(p.queue.claimNext("a1", [], 0)!);
    expect(p.log.events("program-exited").length).toBe(before);
    expect(doneRecord(p, first.id).result).toMatchObject({
      outcome: "proposed",
      proposal_id: proposalIdForTask(first.id),
    });
    expect(doneRecord(p, first.id).history.at(-1).detail).toBe("finished from its existing proposal");
  });

  it("an unreadable task file goes to failed/ with the reason and its bytes", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    fs.writeFileSync(path.join(p.w.layout.pending, "5_t-261129-120000-abcdef_any_0.json"), "{ broken");
    await p.tasks.processTask(p.queue.claimNext("a1", [], 0)!);
    const t = failedRecord(p, "t-261129-120000-abcdef");
    expect(t).toMatchObject({ raw: "{ broken", status: "failed" });
    expect(t.last_error).toMatch(/malformed JSON/);
    expect(p.board.status.tasks_failed).toBe(1);
  });

  it("N failed runs in a row right after an applied change roll it back; a success in between confirms it", async () => {
    const script = [
      'if grep -q poison-me "$TASK_INSTRUCTIONS"; then touch POISON; exit 0; fi',
      "if [ -e POISON ]; then echo poisoned >&2; exit 1; fi",
      SCRIPT,
    ].join("\n");
    const p = await makeParts(
      makeWorld({ files: shellAgent(script), env: { APPROVAL_REQUIRED: "false", AGENT_ROLLBACK_AFTER_FAILURES: "2" } }),
    );
    const poison = claim(p, "poison-me");
    await p.tasks.processTask(poison.c);
    const pid = proposalIdForTask(poison.id);
    expect(doneRecord(p, poison.id).result, JSON.stringify(p.log.entries.slice(-8))).toMatchObject({
      outcome: "applied",
    });
    expect(p.board.status.probation).toMatchObject({ proposal_id: pid, failures: 0 });
    await p.tasks.processTask(claim(p, "work").c);
    expect(p.board.status.probation).toMatchObject({ failures: 1 });
    await p.tasks.processTask(claim(p, "work").c);
    expect(p.proposals.get(pid)?.state).toBe("rolled-back");
    expect(p.proposals.get(pid)?.reason).toMatch(
      /failed 2 runs in a row right after this change \(last: agent program exited with 1: poisoned\)/,
    );
    expect(fs.existsSync(path.join(p.w.app, "POISON"))).toBe(false);
    await p.tasks.processTask(claim(p, "write-me").c);
    expect(p.board.status.consecutive_failures).toBe(0);
    // The new change is confirmed by the next successful run.
    await p.tasks.processTask(claim(p, "nothing").c);
    expect(p.board.status.probation).toBeNull();
    expect(p.log.events("change-confirmed")).toHaveLength(1);
  }, 120_000); // several program runs: a ceiling for a loaded machine, not a timing
});

describe("TaskLoop.run", () => {
  it("claims queued tasks until stopped; without a valid agent.json it claims nothing", async () => {
    const p = await makeParts(makeWorld({ files: { "agent.json": "{ nope" }, env: { APPROVAL_REQUIRED: "false" } }));
    const t = p.queue.addTask({ title: "write-me", description: "write-me", maxAttempts: 0, createdBy: "test" });
    const loop = p.tasks.run();
    await new Promise((r) => setTimeout(r, 200));
    expect(p.queue.list("pending").map((x) => x.id)).toEqual([t.id]);
    expect(p.board.status.last_error).toMatch(/agent\.json is not valid JSON/);
    fs.writeFileSync(path.join(p.w.app, "agent.json"), shellAgent(SCRIPT)["agent.json"]!);
    p.tasks.wake();
    for (let i = 0; i < 1000 && !fs.existsSync(path.join(p.w.layout.done, `${t.id}.json`)); i++)
      await new Promise((r) => setTimeout(r, 20));
    p.tasks.stop();
    await loop;
    expect(doneRecord(p, t.id).result.outcome).toBe("applied");
    expect(p.board.status.current_task).toBeNull();
    expect(p.log.events("agent-program-ok")).toHaveLength(1);
  });

  it("recoverClaims returns what an earlier run of this agent held, attempts + 1", async () => {
    const p = await makeParts(makeWorld({ files: shellAgent(SCRIPT) }));
    const { id } = claim(p, "write-me");
    p.tasks.recoverClaims();
    expect(p.queue.list("pending").find((t) => t.id === id)?.attempts).toBe(1);
    expect(p.log.events("recovered-claims")[0]).toMatchObject({ returned: 1 });
  });
});

describe("Backoff", () => {
  it("doubles from the base per failure in a row, capped, and clears on success", () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelayMs(100, 1000, n))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelayMs(1000, 60000, 1000)).toBe(60000);
    let now = 5000;
    const b = new Backoff(100, 1000, () => now);
    expect(b.remainingMs()).toBeLessThanOrEqual(0);
    b.fail(3);
    expect(b.remainingMs()).toBe(400);
    now += 300;
    expect(b.remainingMs()).toBe(100);
    b.clear();
    expect(b.remainingMs()).toBeLessThanOrEqual(0);
  });
});
