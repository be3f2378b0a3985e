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
  tasks,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

/**
 * Idle scale-down, the runtime's half, on real processes: after AGENT_IDLE_AFTER_SECONDS with
 * nothing claimable the agent declares itself idle (status and marker) and claims nothing; a
 * task that arrives before the stop wakes it; a stop while idle leaves it `idle-stopped` with no
 * task in hand; the next start clears the marker.
 */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

interface Status {
  agent: string;
  state: string;
  idle_since?: string | null;
  idle_stopped: boolean;
  alive: boolean;
}
const status = (agent: string) => ctlJson<Status[]>(w, ["status"]).find((s) => s.agent === agent);
const marker = (agent: string) => path.join(w.shared, "agents", agent, "idle");
const IDLE_SECONDS = 2;

describe("idle scale-down in the runtime", () => {
  it("idles only after a whole period with nothing claimable, wakes for a task, stops idle-stopped with nothing in hand", async () => {
    w = makeWorld();
    makeApp(w, "i1");
    let agent = startAgent(w, "i1", { APPROVAL_REQUIRED: "true", AGENT_IDLE_AFTER_SECONDS: String(IDLE_SECONDS) });
    running.push(agent);
    await waitFor("i1 running", () => status("i1")?.state === "running");

    // A slow task longer than the idle period: the agent is busy, never idle, while it runs.
    const slow = addEditTask(w, "slow", [
      { sleep: { seconds: IDLE_SECONDS + 1 } },
      { append: { path: "a.md", content: "a\n" } },
    ]);
    // A task it cannot take (another agent's) does not keep it awake.
    const foreign = addEditTask(
      w,
      "for someone else",
      [{ append: { path: "b.md", content: "b\n" } }],
      ["--agent", "other"],
    );
    const seenWhileClaimed: Array<string | null | undefined> = [];
    const done = await waitFor("slow settled", () => {
      const t = tasks(w).find((x) => x.id === slow);
      if (t?.status === "claimed") seenWhileClaimed.push(status("i1")?.idle_since);
      return settled(w, slow)();
    });
    expect(done.status).toBe("done");
    expect(seenWhileClaimed.length).toBeGreaterThan(0);
    expect(seenWhileClaimed.every((v) => v == null)).toBe(true);

    const idle = await waitFor("i1 idle", () => status("i1")?.idle_since ?? undefined);
    // The period started when the task was finished (the claim reset it), not at start-up.
    expect(Date.parse(idle) - Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000);
    const proposal = tasks(w).find((t) => t.id === slow)!.result!.proposal_id!;
    // The marker lists the proposal waiting for a decision (its decision must wake the agent).
    expect(fs.readFileSync(marker("i1"), "utf8")).toBe(`${proposal}\n`);
    expect(tasks(w).find((t) => t.id === foreign)!.status).toBe("pending");
    expect(ctl(w, ["status"]).stdout).toMatch(/i1\s+running \(idle\)/);

    // A claimable task before any stop: the marker goes first, then the agent takes it.
    const second = addEditTask(w, "second", [{ append: { path: "c.md", content: "c\n" } }]);
    expect((await waitFor("second settled", settled(w, second))).status).toBe("done");
    expect(fs.existsSync(marker("i1")) && status("i1")?.idle_since).toBeFalsy();
    const log = fs.readFileSync(path.join(w.shared, "logs", "i1.jsonl"), "utf8");
    expect(log).toMatch(/"event":"agent-awake"/);

    // Idle again, then stopped (what the host-side waker does): no task in hand, idle-stopped.
    await waitFor("i1 idle again", () => fs.existsSync(marker("i1")) && status("i1")?.idle_since);
    const exit = await stopAgent(agent, "SIGTERM");
    expect(exit.code).toBe(0);
    expect(tasks(w, "claimed")).toEqual([]);
    const stopped = status("i1")!;
    expect(stopped).toMatchObject({ state: "stopped", alive: false, idle_stopped: true });
    expect(ctl(w, ["status"]).stdout).toMatch(/i1\s+idle-stopped/);
    const health = ctl(w, ["health", "--agent", "i1"]);
    expect(health.code, health.stdout + health.stderr).toBe(0);
    expect(health.stdout).toMatch(/idle-stopped/);

    // Woken (started again): the earlier run's marker is gone before the first claim.
    agent = startAgent(w, "i1", { APPROVAL_REQUIRED: "true", AGENT_IDLE_AFTER_SECONDS: "600" });
    running.push(agent);
    await waitFor("i1 running again", () => status("i1")?.state === "running");
    expect(fs.existsSync(marker("i1"))).toBe(false);
    expect(status("i1")).toMatchObject({ idle_since: null, idle_stopped: false });
  });

  it("a paused agent is held, not idle (it stays up and reports the pause)", async () => {
    w = makeWorld();
    makeApp(w, "i2");
    const agent = startAgent(w, "i2", { AGENT_IDLE_AFTER_SECONDS: "1" });
    running.push(agent);
    await waitFor("i2 running", () => status("i2")?.state === "running");
    expect(ctl(w, ["agent", "pause", "i2"]).code).toBe(0);
    await waitFor("i2 paused", () => ctlJson<Array<{ agent: string; paused?: boolean }>>(w, ["status"])[0]?.paused);
    // Several idle periods pass while paused (counted in heartbeats, not timed).
    const seen = new Set<string>();
    await waitFor("3 heartbeats", () => {
      seen.add(ctlJson<Array<{ heartbeat_at: string }>>(w, ["status"])[0]!.heartbeat_at);
      return seen.size > 3;
    });
    expect(fs.existsSync(marker("i2"))).toBe(false);
    expect(status("i2")!.idle_since).toBeNull();
  });

  it("refuses a bad AGENT_IDLE_AFTER_SECONDS at start, naming the setting", async () => {
    w = makeWorld();
    makeApp(w, "i3");
    const agent = startAgent(w, "i3", { AGENT_IDLE_AFTER_SECONDS: "0" });
    running.push(agent);
    const exit = await agent.exited;
    expect(exit.code).not.toBe(0);
    expect(agent.output()).toMatch(/AGENT_IDLE_AFTER_SECONDS must be between 1 and 604800, got 0/);
  });
});
