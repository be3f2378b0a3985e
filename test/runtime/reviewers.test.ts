import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  ctlJson,
  git,
  makeApp,
  makeWorld,
  settled,
  startAgent,
  tasks,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";
import { request, startConsole } from "./consoleHelpers.js";

/**
 * Reviewer agents (review: { reviewers, quorum } -> AGENT_REVIEWERS, AGENT_REVIEW_QUORUM) on real
 * runtimes: deterministic reviewer programs approve, reject, crash or hang, as their agent.json says.
 */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

/**
 * A reviewer program: REVIEW_MODE says what it does with the review task's patch
 * ($TASK_REVIEW_PATCH, whose sha256 it checks against $TASK_REVIEW_SHA256): approve, reject (with
 * hostile reasons), crash, or hang (past its timeout). An ordinary task makes a change (own.md).
 */
const REVIEWER = `
import * as fs from "node:fs";
import { createHash } from "node:crypto";
if (!process.env.TASK_REVIEW_PATCH) {
  fs.appendFileSync("own.md", process.env.TASK_ID + "\\n");
  process.exit(0);
}
const patch = fs.readFileSync(process.env.TASK_REVIEW_PATCH);
const sha = createHash("sha256").update(patch).digest("hex");
if (sha !== process.env.TASK_REVIEW_SHA256) throw new Error("the patch is not the one announced");
const mode = process.env.REVIEW_MODE;
if (mode === "crash") { console.error("reviewer crashed"); process.exit(3); }
if (mode === "hang") await new Promise((r) => setTimeout(r, 120000));
const verdict = mode === "approve"
  ? { verdict: "approve", reasons: ["adds " + patch.toString().split("\\n").filter((l) => l.startsWith("+") && !l.startsWith("+++")).length + " line(s)"] }
  : { verdict: "reject", reasons: ["<script>alert(1)</script> \\u001b[31mred\\u001b[0m", "second\\nline"] };
fs.writeFileSync(process.env.TASK_VERDICT, JSON.stringify(verdict));
`;

function reviewer(name: string, mode: "approve" | "reject" | "crash" | "hang", reviewers = ""): RunningAgent {
  makeApp(w, name, {
    agentJson: {
      command: ["node", "review.mjs"],
      timeoutSeconds: mode === "hang" ? 3 : 60,
      env: { REVIEW_MODE: mode },
    },
    files: { "review.mjs": REVIEWER },
  });
  const a = startAgent(w, name, { APPROVAL_REQUIRED: "true", ...(reviewers ? { AGENT_REVIEWERS: reviewers } : {}) });
  running.push(a);
  return a;
}

function reviewed(name: string, env: Record<string, string>): string {
  const app = makeApp(w, name);
  running.push(startAgent(w, name, env));
  return app;
}

interface Verdict {
  reviewer: string;
  verdict: string;
  reasons: string[];
  counts: boolean;
  error?: string;
  sha256: string | null;
}
interface View {
  id: string;
  state: string;
  sha256: string;
  proposed_sha256: string;
  decided_by: string | null;
  reason_code?: string;
  review?: { tasks?: Record<string, string> };
  reviews?: { reviewers: string[]; quorum: number; state: string; escalation: string | null; verdicts: Verdict[] };
}
const proposal = (id: string) => ctlJson<View[]>(w, ["proposals"]).find((p) => p.id === id)!;

async function proposed(agent: string, title: string, file: string): Promise<{ task: string; pid: string }> {
  const id = addEditTask(w, title, [{ append: { path: file, content: `${title}\n` } }], ["--agent", agent]);
  const t = await waitFor(`${title} proposed`, settled(w, id));
  expect(t.result?.outcome).toBe("proposed");
  return { task: id, pid: t.result!.proposal_id! };
}
const reviewState = (pid: string, state: string) => () => proposal(pid).reviews?.state === state && proposal(pid);
const trailer = (app: string) => git(app, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"]).trim();

describe("reviewer agents", () => {
  it("3 of 3 approve: applied with Approved-By naming them; a reviewer's own proposal is reviewed by the others only", async () => {
    w = makeWorld();
    const app = reviewed("a1", { APPROVAL_REQUIRED: "true", AGENT_REVIEWERS: "r1,r2,r3" });
    reviewer("r1", "approve", "r2,r3");
    reviewer("r2", "approve");
    reviewer("r3", "approve");
    const { pid } = await proposed("a1", "three", "three.md");
    await waitFor("applied", () => proposal(pid).state === "applied");
    expect(fs.readFileSync(path.join(app, "three.md"), "utf8")).toBe("three\n");
    expect(trailer(app)).toBe("agent:r1, agent:r2, agent:r3");
    const p = proposal(pid);
    expect(p.decided_by).toBe("agent:r1, agent:r2, agent:r3");
    expect(p.reviews).toMatchObject({ reviewers: ["r1", "r2", "r3"], quorum: 3, state: "approved", escalation: null });
    expect(p.reviews!.verdicts.map((v) => [v.reviewer, v.verdict, v.counts, v.sha256])).toEqual([
      ["r1", "approve", true, p.proposed_sha256],
      ["r2", "approve", true, p.proposed_sha256],
      ["r3", "approve", true, p.proposed_sha256],
    ]);
    expect(p.reviews!.verdicts[0]!.reasons).toEqual(["adds 1 line(s)"]);
    // The review tasks: one per reviewer, done with the verdict, created by the reviewed agent.
    const reviews = tasks(w).filter((t) => Object.values(p.review!.tasks!).includes(t.id));
    expect(reviews.map((t) => [t.agent, t.status, t.result?.outcome])).toEqual(
      expect.arrayContaining([
        ["r1", "done", "reviewed"],
        ["r2", "done", "reviewed"],
        ["r3", "done", "reviewed"],
      ]),
    );

    // r1's own proposal: reviewed by r2 and r3 (AGENT_REVIEWERS of r1), never by r1.
    const own = await proposed("r1", "own", "own.md");
    await waitFor("r1's own applied", () => proposal(own.pid).state === "applied");
    expect(proposal(own.pid).reviews!.verdicts.map((v) => v.reviewer)).toEqual(["r2", "r3"]);
    expect(Object.keys(proposal(own.pid).review!.tasks!)).toEqual(["r2", "r3"]);
    expect(trailer(w.app("r1"))).toBe("agent:r2, agent:r3");
  });

  it("2 of 3 with autonomy: two approve, one crashes: applied, the task's result corrected to applied", async () => {
    w = makeWorld();
    const app = reviewed("a1", { APPROVAL_REQUIRED: "false", AGENT_REVIEWERS: "r1,r2,r3", AGENT_REVIEW_QUORUM: "2" });
    reviewer("r1", "approve");
    reviewer("r2", "crash");
    reviewer("r3", "approve");
    const { task: id, pid } = await proposed("a1", "two of three", "two.md");
    await waitFor("applied", () => proposal(pid).state === "applied");
    expect(trailer(app)).toBe("agent:r1, agent:r3");
    await waitFor("task applied", () => settled(w, id)()?.result?.outcome === "applied");
    const crashed = await waitFor("r2's record", () =>
      proposal(pid).reviews!.verdicts.find((v) => v.reviewer === "r2"),
    );
    expect(crashed).toMatchObject({ verdict: "none", counts: false });
    expect(crashed.error).toMatch(/exited with 3: reviewer crashed/);
  });

  it("split: escalated to the humans with the reasons shown escaped; a human approves and it applies", async () => {
    w = makeWorld();
    const app = reviewed("a1", { APPROVAL_REQUIRED: "false", AGENT_REVIEWERS: "r1,r2", AGENT_REVIEW_QUORUM: "2" });
    reviewer("r1", "approve");
    reviewer("r2", "reject");
    const { pid } = await proposed("a1", "split", "split.md");
    const p = await waitFor("escalated", reviewState(pid, "escalated"));
    expect(p.state).toBe("pending");
    expect(p.reviews!.escalation).toBe("rejected by agent:r2");
    expect(fs.existsSync(path.join(app, "split.md"))).toBe(false);
    const list = ctl(w, ["proposals"]).stdout;
    expect(list).toMatch(/pending \(escalated by its reviewers: rejected by agent:r2\)/);
    const diff = ctl(w, ["diff", pid]).stdout;
    expect(diff).toContain("# reviewers agent:r1, agent:r2 (quorum 2): escalated: rejected by agent:r2\n");
    expect(diff).toContain("#   agent:r1: approve:\n#     - adds 1 line(s)\n");
    expect(diff).toContain(
      "#   agent:r2: reject:\n#     - <script>alert(1)</script> \\x1b[31mred\\x1b[0m\n#     - second line\n",
    );
    expect(diff).not.toContain("\u001b");
    // The console's API: the same verdicts (raw JSON, documented in docs/console-api.yaml; checked).
    const c = await startConsole(w);
    try {
      const one = await request(c, "GET", `/api/v1/proposals/${pid}`);
      expect(one.status).toBe(200);
      expect(one.json.reviews).toMatchObject({ state: "escalated", escalation: "rejected by agent:r2", quorum: 2 });
      expect(one.json.reviews.verdicts[1].reasons[0]).toBe("<script>alert(1)</script> \u001b[31mred\u001b[0m");
      const list = await request(c, "GET", "/api/v1/proposals");
      expect(list.status).toBe(200);
      const reviewTask = await request(c, "GET", `/api/v1/tasks/${one.json.review.tasks.r2}`);
      expect(reviewTask.json).toMatchObject({ agent: "r2", review: { proposal: pid, agent: "a1" } });
      expect(reviewTask.json.result).toMatchObject({ outcome: "reviewed", verdict: "reject" });
    } finally {
      await c.stop();
    }
    const human = ctl(w, ["approve", pid, "--by", "alice"]);
    expect(human.code, human.stderr).toBe(0);
    await waitFor("applied", () => proposal(pid).state === "applied");
    expect(trailer(app)).toBe("alice");
    const forged = ctl(w, ["approve", pid, "--by", "agent:r1"]);
    expect(forged.stderr).toMatch(/reviewer agents'/);
  });

  it("all reject: escalated; a human rejects it", async () => {
    w = makeWorld();
    const app = reviewed("a1", { APPROVAL_REQUIRED: "true", AGENT_REVIEWERS: "r1,r2", AGENT_REVIEW_QUORUM: "1" });
    reviewer("r1", "reject");
    reviewer("r2", "reject");
    const { pid } = await proposed("a1", "nobody likes it", "no.md");
    await waitFor("escalated", reviewState(pid, "escalated"));
    await waitFor("both verdicts", () => proposal(pid).reviews!.verdicts.length === 2);
    expect(proposal(pid).reviews!.verdicts.map((v) => v.verdict)).toEqual(["reject", "reject"]);
    expect(ctl(w, ["reject", pid, "--by", "alice", "--reason", "the reviewers are right"]).code).toBe(0);
    await waitFor("rejected", () => proposal(pid).state === "rejected");
    expect(fs.existsSync(path.join(app, "no.md"))).toBe(false);
  });

  it("a reviewer that times out gives no verdict: escalated once the quorum is out of reach", async () => {
    w = makeWorld();
    reviewed("a1", { APPROVAL_REQUIRED: "true", AGENT_REVIEWERS: "r1,r2", AGENT_REVIEW_QUORUM: "2" });
    reviewer("r1", "approve");
    reviewer("r2", "hang");
    const { pid } = await proposed("a1", "slow", "slow.md");
    const p = await waitFor("escalated", reviewState(pid, "escalated"));
    expect(p.reviews!.escalation).toMatch(/^[01] of 2 reviewers approved, 2 needed \(agent:r2 gave no verdict\)$/);
    expect(p.reviews!.verdicts.find((v) => v.reviewer === "r2")!.error).toMatch(/timed out after 3 s/);
    expect(p.state).toBe("pending");
  });

  it("verdicts bind to the sha256 their program saw: another patch's verdict does not count, a changed proposal is refused", async () => {
    w = makeWorld();
    const app = reviewed("a1", { APPROVAL_REQUIRED: "true", AGENT_REVIEWERS: "r1,r2", AGENT_REVIEW_QUORUM: "2" });
    // Reviewers start only once both proposals' review tasks are queued, so their inputs can change first.
    const first = await proposed("a1", "another patch", "another.md");
    const second = await proposed("a1", "changed", "changed.md");
    const tasksOf = (pid: string) => waitFor(`${pid}'s review tasks`, () => proposal(pid).review?.tasks);
    const copy = path.join(w.shared, "tasks", "files", (await tasksOf(first.pid)).r2!, "context", `${first.pid}.patch`);
    fs.appendFileSync(copy, "+smuggled\n");
    await tasksOf(second.pid);
    fs.appendFileSync(path.join(w.shared, "proposals", `${second.pid}.patch`), "+smuggled\n");
    reviewer("r1", "approve");
    reviewer("r2", "approve");

    const p = await waitFor("escalated", reviewState(first.pid, "escalated"));
    // Escalated as soon as r2's verdict is in (r1's may or may not be yet): the quorum is out of reach.
    expect(p.reviews!.escalation).toMatch(
      /^[01] of 2 reviewers approved, 2 needed \(agent:r2 reviewed another patch\)$/,
    );
    const r2 = p.reviews!.verdicts.find((v) => v.reviewer === "r2")!;
    expect(r2).toMatchObject({ verdict: "approve", counts: false });
    expect(r2.sha256).not.toBe(p.proposed_sha256);

    // Both approved the patch as proposed; the proposal's patch file changed since: refused, not applied.
    await waitFor("refused", () => proposal(second.pid).state === "refused");
    expect(proposal(second.pid)).toMatchObject({ reason_code: "patch-changed", decided_by: "agent:r1, agent:r2" });
    expect(fs.existsSync(path.join(app, "changed.md"))).toBe(false);
  });

  it("the runtime refuses AGENT_REVIEWERS naming the agent itself", async () => {
    w = makeWorld();
    makeApp(w, "a1");
    const a = startAgent(w, "a1", { AGENT_REVIEWERS: "a1,r1" });
    const exit = await a.exited;
    expect(exit.code).not.toBe(0);
    expect(a.output()).toMatch(/AGENT_REVIEWERS lists a1 itself: an agent never reviews its own proposals/);
  });
});
