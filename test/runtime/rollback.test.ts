import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  AGENT_1,
  ctl,
  git,
  makeApp,
  makeWorld,
  proposals,
  settled,
  startAgent,
  tearDown,
  trailers,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

const doneOrFailed = (id: string) => settled(w, id);

describe("self-modification safety", () => {
  it("a change that breaks agent.json is reverted by the runtime, recorded as rolled-back, and the agent keeps working", async () => {
    w = makeWorld();
    const app = makeApp(w, "r1");
    running.push(startAgent(w, "r1"));
    const bad = addEditTask(w, "Break my config", [{ write: { path: "agent.json", content: "{ not json" } }]);
    const p = await waitFor("rolled back", () => proposals(w, "rolled-back").find((x) => x.task_id === bad));
    expect(p.reason).toMatch(/no longer starts.*agent\.json is not valid JSON/);
    expect(JSON.parse(fs.readFileSync(path.join(app, "agent.json"), "utf8")).command).toEqual(["node", "agent.mjs"]);
    expect(trailers(app, "Rolled-Back-Proposal")).toEqual([p.id]);
    expect(git(app, ["status", "--porcelain"]).trim()).toBe("");
    const next = addEditTask(w, "Still works", [{ write: { path: "ok.txt", content: "ok\n" } }]);
    expect((await waitFor("next done", doneOrFailed(next))).status).toBe("done");
    expect(fs.readFileSync(path.join(app, "ok.txt"), "utf8")).toBe("ok\n");
    const st = JSON.parse(ctl(w, ["status", "--json"]).stdout)[0];
    expect(st.last_error).toMatch(/rolled back/);
  });

  it("a change that fails the documented start check is reverted", async () => {
    w = makeWorld();
    const app = makeApp(w, "r2", {
      agentJson: {
        command: ["node", "agent.mjs"],
        check: ["sh", "-c", "test ! -e BROKEN || { echo 'BROKEN marker present' >&2; exit 3; }"],
      },
      files: { "agent.mjs": fs.readFileSync(path.join(AGENT_1, "agent.mjs"), "utf8") },
    });
    running.push(startAgent(w, "r2"));
    const bad = addEditTask(w, "Poison", [{ write: { path: "BROKEN", content: "x" } }]);
    const p = await waitFor("rolled back", () => proposals(w, "rolled-back").find((x) => x.task_id === bad));
    expect(p.reason).toMatch(/start check .* exited with 3.*BROKEN marker present/);
    expect(fs.existsSync(path.join(app, "BROKEN"))).toBe(false);
  });

  it("N failed runs in a row right after a change revert it; a success in between confirms it", async () => {
    w = makeWorld();
    // The program refuses to work while POISON exists (its start check does not notice).
    const script = [
      'if grep -q poison-me "$TASK_INSTRUCTIONS"; then touch POISON; exit 0; fi',
      'if grep -q fail-me "$TASK_INSTRUCTIONS"; then echo "asked to fail" >&2; exit 1; fi',
      'if [ -e POISON ]; then echo "poisoned" >&2; exit 1; fi',
      'if grep -q noop "$TASK_INSTRUCTIONS"; then exit 0; fi',
      'printf "%s\\n" "$TASK_ID" > "out-$TASK_ID.txt"',
    ].join("\n");
    const app = makeApp(w, "r3", { agentJson: { command: ["sh", "-c", script] } });
    running.push(startAgent(w, "r3", { AGENT_ROLLBACK_AFTER_FAILURES: "2", AGENT_MAX_ATTEMPTS: "1" }));
    const add = (title: string, description: string) =>
      ctl(w, ["task", "add", "--title", title, "--description", description]).stdout.trim();
    const poison = add("poison", "poison-me");
    const pp = await waitFor("poison applied", () => proposals(w, "applied").find((x) => x.task_id === poison));
    expect(fs.existsSync(path.join(app, "POISON"))).toBe(true);
    expect((await waitFor("f1", doneOrFailed(add("f1", "work")))).status).toBe("failed");
    expect((await waitFor("f2", doneOrFailed(add("f2", "work")))).status).toBe("failed");
    const rb = await waitFor("rolled back", () => proposals(w, "rolled-back").find((x) => x.id === pp.id));
    expect(rb.reason).toMatch(/failed 2 runs in a row/);
    expect(fs.existsSync(path.join(app, "POISON"))).toBe(false);
    expect((await waitFor("ok", doneOrFailed(add("ok", "work")))).status).toBe("done");

    // A change followed by a successful run is confirmed: failures after that do not revert it.
    const keep = add("keep", "work");
    const kp = await waitFor("keep applied", () => proposals(w, "applied").find((x) => x.task_id === keep));
    const good = await waitFor("good", doneOrFailed(add("good", "noop")));
    expect(good.status).toBe("done");
    expect(good.result?.outcome).toBe("no-changes");
    expect((await waitFor("x1", doneOrFailed(add("x1", "fail-me")))).status).toBe("failed");
    expect((await waitFor("x2", doneOrFailed(add("x2", "fail-me")))).status).toBe("failed");
    expect((await waitFor("x3", doneOrFailed(add("x3", "fail-me")))).status).toBe("failed");
    expect(proposals(w).find((x) => x.id === kp.id)?.state).toBe("applied");
    expect(trailers(app, "Rolled-Back-Proposal")).toEqual([pp.id]);
  });
});
