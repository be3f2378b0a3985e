import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  makeApp,
  makeWorld,
  startAgent,
  stopAgent,
  task,
  tasks,
  tearDown,
  trailers,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

/** A fast agent program: writes one file named after its task. */
const FAST_AGENT = { command: ["sh", "-c", 'printf "%s\\n" "$TASK_ID" > "task-$TASK_ID.txt"'], timeoutSeconds: 30 };

describe("task queue with several agent processes", () => {
  it("four agents on one shared dir: every task is done exactly once and committed exactly once", async () => {
    w = makeWorld();
    const names = ["q1", "q2", "q3", "q4"];
    for (const n of names) makeApp(w, n, { agentJson: FAST_AGENT });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = ctl(w, ["task", "add", "--title", `task ${i}`, "--description", `number ${i}`]);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.stdout.trim());
    }
    for (const n of names) running.push(startAgent(w, n));
    await waitFor("all done", () => tasks(w, "done").length === ids.length, 180_000, 250);
    expect(tasks(w, "failed")).toEqual([]);
    const all = tasks(w);
    expect(all.map((t) => t.id).sort()).toEqual([...ids].sort());
    const seen = names.flatMap((n) => trailers(w.app(n), "Task-Id"));
    expect(seen.sort()).toEqual([...ids].sort());
    for (const t of all) {
      expect(t.result?.outcome).toBe("applied");
      expect(fs.existsSync(path.join(w.app(t.claimed_by!), `task-${t.id}.txt`))).toBe(true);
    }
    // More than one agent did work (the queue is shared, not owned).
    expect(new Set(all.map((t) => t.claimed_by)).size).toBeGreaterThan(1);
  });

  it("targets: --agent goes only to that agent, --capability only to agents that have it", async () => {
    w = makeWorld();
    makeApp(w, "plain", { agentJson: FAST_AGENT });
    makeApp(w, "gpu", { agentJson: FAST_AGENT });
    const forGpu = [0, 1, 2].map((i) =>
      ctl(w, ["task", "add", "--title", `cap ${i}`, "--description", "x", "--capability", "cuda"]).stdout.trim(),
    );
    const forPlain = [0, 1, 2].map((i) =>
      ctl(w, ["task", "add", "--title", `named ${i}`, "--description", "x", "--agent", "plain"]).stdout.trim(),
    );
    running.push(startAgent(w, "plain"), startAgent(w, "gpu", { AGENT_CAPABILITIES: "cuda,big-memory" }));
    await waitFor("all done", () => tasks(w, "done").length === 6, 60_000);
    for (const id of forGpu) expect(task(w, id).claimed_by).toBe("gpu");
    for (const id of forPlain) expect(task(w, id).claimed_by).toBe("plain");
  });

  it("a more urgent task is taken first", async () => {
    w = makeWorld();
    makeApp(w, "solo");
    const low = addEditTask(w, "low", [{ write: { path: "low.txt", content: "l" } }], ["--priority", "1"]);
    const high = addEditTask(w, "high", [{ write: { path: "high.txt", content: "h" } }], ["--priority", "9"]);
    running.push(startAgent(w, "solo"));
    await waitFor("both done", () => tasks(w, "done").length === 2);
    expect(task(w, high).completed_at! < task(w, low).completed_at!).toBe(true);
  });

  it("the janitor returns the task of a dead agent after its lease, with attempts + 1", async () => {
    w = makeWorld();
    makeApp(w, "dies");
    makeApp(w, "lives");
    const id = addEditTask(w, "slow", [{ sleep: { seconds: 2 } }, { write: { path: "slow.txt", content: "s" } }]);
    const dies = startAgent(w, "dies");
    await waitFor("claimed by dies", () => task(w, id).claimed_by === "dies" && task(w, id).status === "claimed");
    await stopAgent(dies, "SIGKILL");
    running.push(startAgent(w, "lives"));
    const t = await waitFor(
      "done by lives",
      () => {
        const x = task(w, id);
        return x.status === "done" ? x : undefined;
      },
      60_000,
    );
    expect(t.claimed_by).toBe("lives");
    expect(t.attempts).toBe(1);
    expect(trailers(w.app("lives"), "Task-Id")).toEqual([id]);
    expect(trailers(w.app("dies"), "Task-Id")).toEqual([]);
  });
});
