import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  ctlJson,
  makeApp,
  makeWorld,
  settled,
  startAgent,
  stopAgent,
  task,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

/** `agentctl agent pause|resume` against real runtimes: no claims while paused, across restarts. */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

interface Status {
  agent: string;
  paused?: boolean;
  heartbeat_at: string;
  state: string;
}
const status = (agent: string) => ctlJson<Status[]>(w, ["status"]).find((s) => s.agent === agent);

/** Several heartbeats of the agent have passed (each is a loop of polls that saw the switch). */
async function heartbeats(agent: string, n: number): Promise<void> {
  const seen = new Set<string>();
  await waitFor(`${n} heartbeats of ${agent}`, () => {
    const s = status(agent);
    if (s) seen.add(s.heartbeat_at);
    return seen.size > n;
  });
}

describe("pausing one agent", () => {
  it("the running task finishes, nothing new is claimed, the pause survives a restart, resume claims again", async () => {
    w = makeWorld();
    const app = makeApp(w, "p1");
    let agent = startAgent(w, "p1");
    running.push(agent);
    await waitFor("p1 running", () => status("p1")?.state === "running");
    expect(status("p1")!.paused).toBe(false);

    const first = addEditTask(w, "slow", [
      { sleep: { seconds: 2 } },
      { append: { path: "notes.md", content: "first\n" } },
    ]);
    await waitFor("first claimed", () => task(w, first).status === "claimed");
    const paused = ctl(w, ["agent", "pause", "p1", "--reason", "maintenance window"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^paused p1/);
    const record = JSON.parse(fs.readFileSync(path.join(w.shared, "control", "p1.json"), "utf8"));
    expect(record).toMatchObject({ agent: "p1", paused: true, by: "tester", reason: "maintenance window" });

    // The task it ran when paused completes as usual.
    const done = await waitFor("first done", settled(w, first));
    expect(done.status).toBe("done");
    expect(fs.readFileSync(path.join(app, "notes.md"), "utf8")).toBe("first\n");
    await waitFor("status says paused", () => status("p1")?.paused === true);
    expect(ctl(w, ["status"]).stdout).toMatch(/p1\s+running \(paused\)/);

    const second = addEditTask(w, "while paused", [{ append: { path: "notes.md", content: "second\n" } }]);
    await heartbeats("p1", 3);
    expect(task(w, second).status).toBe("pending");

    // A restart does not lift the pause.
    await stopAgent(agent, "SIGKILL");
    agent = startAgent(w, "p1");
    running.push(agent);
    await waitFor("p1 running again", () => {
      const s = status("p1");
      return s?.state === "running" && s.paused === true;
    });
    await heartbeats("p1", 3);
    expect(task(w, second).status).toBe("pending");
    expect(agent.output()).toContain('"event":"agent-paused"');

    const resumed = ctlJson<{ paused: boolean; by: string }>(w, ["agent", "resume", "p1"]);
    expect(resumed).toMatchObject({ paused: false, by: "tester" });
    expect((await waitFor("second done", settled(w, second))).status).toBe("done");
    expect(fs.readFileSync(path.join(app, "notes.md"), "utf8")).toBe("first\nsecond\n");
    await waitFor("status says not paused", () => status("p1")?.paused === false);
    expect(agent.output()).toContain('"event":"agent-resumed"');
  });

  it("only the paused agent stops claiming; a paused agent still applies approved proposals", async () => {
    w = makeWorld();
    makeApp(w, "q1");
    const q2 = makeApp(w, "q2");
    running.push(startAgent(w, "q1"), startAgent(w, "q2", { APPROVAL_REQUIRED: "true" }));
    await waitFor("both running", () => status("q1")?.state === "running" && status("q2")?.state === "running");

    const proposed = addEditTask(
      w,
      "needs approval",
      [{ append: { path: "a.md", content: "a\n" } }],
      ["--agent", "q2"],
    );
    const t = await waitFor("proposed", settled(w, proposed));
    expect(t.result?.outcome).toBe("proposed");
    expect(ctl(w, ["agent", "pause", "q2"]).code).toBe(0);
    await waitFor("q2 paused", () => status("q2")?.paused === true);

    expect(ctl(w, ["approve", t.result!.proposal_id!]).code).toBe(0);
    await waitFor("applied while paused", () => fs.existsSync(path.join(q2, "a.md")));

    const forQ2 = addEditTask(w, "for q2", [{ append: { path: "b.md", content: "b\n" } }], ["--agent", "q2"]);
    const forQ1 = addEditTask(w, "for q1", [{ append: { path: "c.md", content: "c\n" } }], ["--agent", "q1"]);
    expect((await waitFor("q1's task done", settled(w, forQ1))).status).toBe("done");
    await heartbeats("q2", 3);
    expect(task(w, forQ2).status).toBe("pending");
    expect(status("q1")!.paused).toBe(false);
  });

  it("clear errors: an unknown agent (exit 1), a malformed name or a missing one (exit 2)", () => {
    w = makeWorld();
    const unknown = ctl(w, ["agent", "pause", "nobody-here"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no agent named nobody-here has reported/);
    expect(fs.existsSync(path.join(w.shared, "control", "nobody-here.json"))).toBe(false);
    const bad = ctl(w, ["agent", "pause", "Bad_Name"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/NAME "Bad_Name" is not valid/);
    expect(ctl(w, ["agent", "resume"]).code).toBe(2);
  });

  it("an unreadable control file counts as paused and is reported in the status", async () => {
    w = makeWorld();
    makeApp(w, "r1");
    running.push(startAgent(w, "r1"));
    await waitFor("r1 running", () => status("r1")?.state === "running");
    fs.mkdirSync(path.join(w.shared, "control"), { recursive: true });
    // Written whole (a rename), as agentctl writes it: the runtime must meet the invalid file, not
    // a half-written one (an empty read is "not JSON", a different error).
    const tmp = path.join(w.shared, "control", ".r1.json.tmp");
    fs.writeFileSync(tmp, '{"agent":"r1","paused":"no"}');
    fs.renameSync(tmp, path.join(w.shared, "control", "r1.json"));
    await waitFor("paused by a bad file", () => status("r1")?.paused === true);
    const s = ctlJson<Array<{ last_error: string }>>(w, ["status"])[0]!;
    expect(s.last_error).toMatch(/control\/r1\.json is invalid: "paused" must be true or false/);
    const id = addEditTask(w, "waits", [{ append: { path: "x.md", content: "x\n" } }]);
    await heartbeats("r1", 3);
    expect(task(w, id).status).toBe("pending");
    expect(ctl(w, ["agent", "resume", "r1"]).code).toBe(0);
    expect((await waitFor("done after the fix", settled(w, id))).status).toBe("done");
  });
});
