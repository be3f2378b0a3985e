import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { git } from "../../../../runtime/git.js";
import { proposalIdForTask } from "../../../../runtime/ids.js";
import { Conflict, NotFound } from "../../../../runtime/operator/errors.js";
import { retryTask } from "../../../../runtime/operator/tasks.js";
import { AUTONOMOUS_RERUNS } from "../../../../runtime/tasks/taskLoop.js";
import { approvalOf, makeParts, makeWorld, proposeOnHead, read, tempDir, trailers, type Parts } from "../fixtures.js";

/**
 * Issue 10 §4: a task whose change did not apply because HEAD moved on while it ran (two appends
 * at the end of one file collide in the 3-way apply) is not lost.
 */

// The program appends its task id to log.txt, but only once the test says go: the test moves
// HEAD in between (as an interrupted apply finished by recovery would).
const APPEND =
  'touch "$SIG/started-$TASK_ID-$$"; while [ ! -e "$SIG/go" ]; do sleep 0.05; done; printf "%s\\n" "$TASK_ID" >> log.txt';

function world(approval: boolean) {
  const sig = tempDir();
  fs.chmodSync(sig, 0o777);
  const files = {
    "agent.json": JSON.stringify({ command: ["sh", "-c", APPEND], env: { SIG: sig } }),
    "log.txt": "start\n",
  };
  return { sig, w: makeWorld({ files, env: { APPROVAL_REQUIRED: String(approval) } }) };
}

function claim(p: Parts) {
  const t = p.queue.addTask({ title: "append", description: "append", maxAttempts: 0, createdBy: "test" });
  const c = p.queue.claimNext("a1", [], 0);
  if (!c) throw new Error("nothing to claim");
  return { id: t.id, c };
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Run the claimed task; once its program started, commit an outside append to log.txt, then let it go on. */
async function runWhileHeadMoves(
  p: Parts,
  sig: string,
  c: Parameters<Parts["tasks"]["processTask"]>[0],
): Promise<void> {
  const run = p.tasks.processTask(c);
  await until("the program started", () => fs.readdirSync(sig).some((n) => n.startsWith("started-")));
  fs.appendFileSync(path.join(p.w.app, "log.txt"), "outside\n");
  await p.repo.commitOutsideChanges("test");
  fs.writeFileSync(path.join(sig, "go"), "");
  await run;
}

const record = (p: Parts, dir: string, id: string) => JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), "utf8"));
const pendingRecord = (p: Parts, id: string) => {
  const n = fs.readdirSync(p.w.layout.pending).find((f) => f.includes(id));
  return n ? record(p, p.w.layout.pending, n.replace(/\.json$/, "")) : undefined;
};

describe("stale-base conflicts", () => {
  it("autonomous: the task runs again on the new HEAD (history says so) instead of ending done with outcome conflict", async () => {
    const { sig, w } = world(false);
    const p = await makeParts(w);
    const { id, c } = claim(p);
    await runWhileHeadMoves(p, sig, c);
    expect(p.proposals.get(proposalIdForTask(id))).toMatchObject({ state: "conflict", reason_code: "stale-base" });
    expect(fs.existsSync(path.join(p.w.layout.done, `${id}.json`))).toBe(false);
    const again = pendingRecord(p, id);
    expect(again).toMatchObject({ status: "pending", reruns: 1 });
    expect(again.history.at(-1)).toMatchObject({ event: "rerun" });
    expect(again.history.at(-1).detail).toMatch(
      new RegExp(`did not apply: its base .* 3-way apply failed.*re-run 1 of at most ${AUTONOMOUS_RERUNS}`, "s"),
    );
    expect(p.log.events("task-rerun")).toHaveLength(1);

    const c2 = p.queue.claimNext("a1", [], 0)!;
    await p.tasks.processTask(c2);
    const done = record(p, p.w.layout.done, id);
    expect(done.result).toMatchObject({ outcome: "applied", proposal_id: proposalIdForTask(id, 1) });
    expect(read(p.w.app, "log.txt")).toBe(`start\noutside\n${id}\n`);
    expect(await trailers(p.w.app, "Task-Id")).toEqual([id]);
    expect(done.history.map((h: { event: string }) => h.event)).toEqual([
      "queued",
      "claimed",
      "rerun",
      "claimed",
      "done",
    ]);
  });

  it("autonomous, a coordinator: a run that goes again queues its $TASK_OUTBOX tasks once, when the task ends", async () => {
    const sig = tempDir();
    fs.chmodSync(sig, 0o777);
    const script = `${APPEND}; printf '{"title":"child","instructions":"x"}' > "$TASK_OUTBOX/child.json"`;
    const files = {
      "agent.json": JSON.stringify({ command: ["sh", "-c", script], env: { SIG: sig } }),
      "log.txt": "start\n",
    };
    const w = makeWorld({ files, env: { APPROVAL_REQUIRED: "false", AGENT_CAN_CREATE_TASKS: "true" } });
    const p = await makeParts(w);
    const { id, c } = claim(p);
    const children = () => p.queue.list().filter((t) => t.parent === id);
    await runWhileHeadMoves(p, sig, c);
    expect(pendingRecord(p, id)).toMatchObject({ reruns: 1 });
    expect(children()).toEqual([]);

    const c2 = p.queue.claimNext("a1", [], 0)!;
    await p.tasks.processTask(c2);
    const done = record(p, p.w.layout.done, id);
    expect(done.result.outcome).toBe("applied");
    expect(children().map((t) => t.created_by)).toEqual(["agent:a1"]);
    expect(done.result.created_tasks).toEqual(children().map((t) => t.id));
  });

  it(`autonomous: the re-runs are bounded (${AUTONOMOUS_RERUNS}); then the conflict is the task's visible result`, async () => {
    const { sig, w } = world(false);
    const p = await makeParts(w);
    const { id, c } = claim(p);
    // As if it had been re-run AUTONOMOUS_RERUNS times already.
    const rec = { ...(c.record as object), reruns: AUTONOMOUS_RERUNS } as typeof c.record;
    await runWhileHeadMoves(p, sig, { ...c, record: rec });
    const done = record(p, p.w.layout.done, id);
    expect(done.result).toMatchObject({ outcome: "conflict", proposal_id: proposalIdForTask(id, AUTONOMOUS_RERUNS) });
    expect(done.result.error).toMatch(/3-way apply failed/);
  });

  it("approval on: the conflict stays visible; agentctl retry re-queues the task, which proposes again on the new HEAD", async () => {
    const { sig, w } = world(true);
    fs.writeFileSync(path.join(sig, "go"), "");
    const p = await makeParts(w);
    const { id, c } = claim(p);
    await p.tasks.processTask(c);
    const first = p.proposals.get(proposalIdForTask(id))!;
    expect(record(p, p.w.layout.done, id).result.outcome).toBe("proposed");
    // HEAD moves before the operator approves.
    fs.appendFileSync(path.join(p.w.app, "log.txt"), "outside\n");
    await p.repo.commitOutsideChanges("test");
    fs.writeFileSync(path.join(p.w.decisions, `${first.id}.json`), JSON.stringify(approvalOf(first)));
    p.decisions.track(first.id);
    await p.decisions.checkAll();
    expect(p.proposals.get(first.id)).toMatchObject({ state: "conflict", reason_code: "stale-base" });
    // The task's result now says so (it was finished as proposed before the decision).
    const done = record(p, p.w.layout.done, id);
    expect(done.result).toMatchObject({ outcome: "conflict", proposal_id: first.id });
    expect(fs.readdirSync(p.w.layout.pending)).toEqual([]);

    const r = retryTask(p.w.shared, id, "alice");
    expect(r).toMatchObject({
      previous_proposal: first.id,
      next_proposal: proposalIdForTask(id, 1),
      task: { reruns: 1, status: "pending", attempts: 0 },
    });
    expect(fs.existsSync(path.join(p.w.layout.done, `${id}.json`))).toBe(false);
    expect(pendingRecord(p, id).history.at(-1)).toMatchObject({ event: "retry-requested" });
    expect(() => retryTask(p.w.shared, id, "alice")).toThrow(
      new Conflict(
        `task ${id} cannot be retried: it is pending; only a task whose proposal is conflict or refused can`,
      ),
    );

    const c2 = p.queue.claimNext("a1", [], 0)!;
    await p.tasks.processTask(c2);
    const second = p.proposals.get(proposalIdForTask(id, 1))!;
    expect(second).toMatchObject({ state: "pending", base_commit: (await git(p.w.app, ["rev-parse", "HEAD"])).trim() });
    fs.writeFileSync(path.join(p.w.decisions, `${second.id}.json`), JSON.stringify(approvalOf(second)));
    await p.decisions.checkAll();
    expect(p.proposals.get(second.id)?.state).toBe("applied");
    expect(read(p.w.app, "log.txt")).toBe(`start\noutside\n${id}\n`);
  });

  it("autonomous: a task finished from its waiting proposal (as after a crash) says `applied` once the proposal is applied", async () => {
    const { sig, w } = world(false);
    fs.writeFileSync(path.join(sig, "go"), "");
    const p = await makeParts(w);
    const { id, c } = claim(p);
    // The runtime died after writing the proposal, before applying it: it waits, unapplied.
    const waiting = await proposeOnHead(
      p,
      { "log.txt": "start\nearlier run\n" },
      {
        id: proposalIdForTask(id),
        task_id: id,
        approval_required: false,
      },
    );
    await p.tasks.processTask(c);
    expect(record(p, p.w.layout.done, id).result).toMatchObject({ outcome: "proposed", proposal_id: waiting.id });
    p.decisions.track(waiting.id);
    await p.decisions.checkAll();
    const applied = p.proposals.get(waiting.id)!;
    expect(applied.state).toBe("applied");
    const done = record(p, p.w.layout.done, id);
    expect(done.result).toMatchObject({ outcome: "applied", proposal_id: waiting.id, commit: applied.commit });
    expect(done.history.at(-1)).toMatchObject({ event: "applied", detail: expect.stringContaining(waiting.id) });
    expect(p.log.events("task-result-corrected")).toHaveLength(1);
    expect(read(p.w.app, "log.txt")).toBe("start\nearlier run\n");
  });

  it("autonomous: a waiting proposal that conflicts while another claim finishes its task from it (as `proposed`): the task runs again", async () => {
    const { sig, w } = world(false);
    fs.writeFileSync(path.join(sig, "go"), "");
    const p = await makeParts(w);
    const { id, c } = claim(p);
    // The run that made it died before applying it; its task was claimed again (here: c).
    const waiting = await proposeOnHead(
      p,
      { "log.txt": "start\nearlier run\n" },
      { id: proposalIdForTask(id), task_id: id, approval_required: false },
    );
    // This claim reads the proposal while it still waits...
    const seenAtClaim = p.proposals.get(waiting.id)!;
    // ...then its agent (restarted) applies it on a HEAD that moved: conflict. It looks for the
    // finished task to run it again, but the task is still claimed here, not finished yet.
    fs.appendFileSync(path.join(p.w.app, "log.txt"), "outside\n");
    await p.repo.commitOutsideChanges("test");
    p.decisions.track(waiting.id);
    await p.decisions.checkAll();
    expect(p.proposals.get(waiting.id)).toMatchObject({ state: "conflict", reason_code: "stale-base" });
    // ...and only now does this claim finish the task from what it read.
    const get = p.proposals.get.bind(p.proposals);
    let stale = true;
    p.proposals.get = (pid: string) => {
      if (pid === waiting.id && stale) {
        stale = false;
        return seenAtClaim;
      }
      return get(pid);
    };
    await p.tasks.processTask(c);
    expect(stale).toBe(false);
    // Not done with a change that never landed: back in the queue to run on the new HEAD.
    expect(fs.existsSync(path.join(p.w.layout.done, `${id}.json`))).toBe(false);
    expect(pendingRecord(p, id)).toMatchObject({ status: "pending", reruns: 1 });
    await p.tasks.processTask(p.queue.claimNext("a1", [], 0)!);
    expect(record(p, p.w.layout.done, id).result).toMatchObject({
      outcome: "applied",
      proposal_id: proposalIdForTask(id, 1),
    });
    expect(read(p.w.app, "log.txt")).toBe(`start\noutside\n${id}\n`);
    expect(await trailers(p.w.app, "Task-Id")).toEqual([id]);
  });

  it("autonomous: a crash between a waiting proposal's conflict and its task's re-run: the next start runs the task again", async () => {
    const { sig, w } = world(false);
    fs.writeFileSync(path.join(sig, "go"), "");
    const p = await makeParts(w);
    const { id, c } = claim(p);
    const waiting = await proposeOnHead(
      p,
      { "log.txt": "start\nearlier run\n" },
      { id: proposalIdForTask(id), task_id: id, approval_required: false },
    );
    await p.tasks.processTask(c);
    expect(record(p, p.w.layout.done, id).result).toMatchObject({ outcome: "proposed", proposal_id: waiting.id });
    fs.appendFileSync(path.join(p.w.app, "log.txt"), "outside\n");
    await p.repo.commitOutsideChanges("test");
    // The apply records the conflict; the runtime is killed before it takes the task back.
    const decided = await p.changes.decide(waiting, {
      proposal: waiting.id,
      decision: "approve",
      by: "autonomous",
      at: new Date().toISOString(),
      sha256: waiting.proposed_sha256!,
    });
    expect(decided).toMatchObject({ state: "conflict", reason_code: "stale-base" });
    expect(record(p, p.w.layout.done, id).result.outcome).toBe("proposed");
    // What a (any) runtime does at start, before its first claim.
    const restarted = await makeParts(p.w);
    restarted.tasks.catchUpFinished();
    expect(fs.existsSync(path.join(p.w.layout.done, `${id}.json`))).toBe(false);
    expect(pendingRecord(p, id)).toMatchObject({ status: "pending", reruns: 1 });
    await restarted.tasks.processTask(restarted.queue.claimNext("a1", [], 0)!);
    expect(record(p, p.w.layout.done, id).result).toMatchObject({ outcome: "applied" });
    expect(read(p.w.app, "log.txt")).toBe(`start\noutside\n${id}\n`);
  });

  it("a proposal decided elsewhere meanwhile is not applied again (its change would land twice)", async () => {
    const { w } = world(false);
    const p = await makeParts(w);
    const first = await proposeOnHead(p, { "log.txt": "start\nonce\n" }, { approval_required: false });
    const approve = {
      proposal: first.id,
      decision: "approve" as const,
      by: "autonomous",
      at: new Date().toISOString(),
      sha256: first.proposed_sha256!,
    };
    const applied = await p.changes.decide(first, approve);
    expect(applied.state).toBe("applied");
    // A second applier holding the copy read before (a second claim of the same task).
    const again = await p.changes.decide(first, approve);
    expect(again).toMatchObject({ state: "applied", commit: applied.commit });
    expect(read(p.w.app, "log.txt")).toBe("start\nonce\n");
    expect(await trailers(p.w.app, "Proposal-Id")).toEqual([first.id]);
  });

  it("agentctl retry: clear errors for an unknown task and for one whose change applied", async () => {
    const { w } = world(false);
    const p = await makeParts(w);
    expect(() => retryTask(p.w.shared, "t-261129-120000-abcdef", "alice")).toThrow(
      new NotFound("no task t-261129-120000-abcdef"),
    );
    expect(() => retryTask(p.w.shared, "nonsense", "alice")).toThrow(/is not a task id/);
    const { id } = claim(p);
    expect(() => retryTask(p.w.shared, id, "alice")).toThrow(/cannot be retried: it is claimed/);
  });
});
