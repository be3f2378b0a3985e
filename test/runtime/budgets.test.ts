import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  AGENT_2,
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
  type TaskJson,
  type World,
} from "./helpers.js";

/** Usage reports, the ledger, budgets and `agentctl usage`, on real runtimes and programs. */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

/**
 * A deterministic agent program: its task's description is JSON saying what to write to
 * $TASK_USAGE_FILE (`write`: a string written as is, `link`: make it a symlink to that path) and
 * how long to sleep first; it appends the task id and $TASK_BUDGET_USD to spend.log (a change).
 */
const PROGRAM = `
import * as fs from "node:fs";
const task = JSON.parse(fs.readFileSync(process.env.TASK_FILE, "utf8"));
const o = JSON.parse(task.description || "{}");
if (o.sleepMs) await new Promise((r) => setTimeout(r, o.sleepMs));
if (o.link) fs.symlinkSync(o.link, process.env.TASK_USAGE_FILE);
else if (o.write !== undefined) fs.writeFileSync(process.env.TASK_USAGE_FILE, o.write);
fs.appendFileSync("spend.log", process.env.TASK_ID + " budget=" + (process.env.TASK_BUDGET_USD ?? "none") + "\\n");
`;

function spender(name: string): string {
  return makeApp(w, name, { agentJson: { command: ["node", "spend.mjs"] }, files: { "spend.mjs": PROGRAM } });
}

function queue(title: string, o: Record<string, unknown>, agent?: string, maxAttempts?: number): string {
  const r = ctl(w, [
    "task",
    "add",
    "--title",
    title,
    "--description",
    JSON.stringify(o),
    ...(agent ? ["--agent", agent] : []),
    ...(maxAttempts ? ["--max-attempts", String(maxAttempts)] : []),
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}
const usd = (x: number) => JSON.stringify({ usd: x, tokens_in: 100, tokens_out: 10 });

interface Status {
  agent: string;
  heartbeat_at: string;
  state: string;
  over_budget: { limit_usd: number; spent_usd: number; until: string } | null;
  usage_today: { usd: number; runs: number } | null;
}
const status = (agent: string) => ctlJson<Status[]>(w, ["status"]).find((s) => s.agent === agent);
type Result = TaskJson["result"] & { usage?: { usd: number; tokens_in: number }; usage_error?: string };
const resultOf = (t: TaskJson) => t.result as Result;

async function heartbeats(agent: string, n: number): Promise<void> {
  const seen = new Set<string>();
  await waitFor(`${n} heartbeats of ${agent}`, () => {
    const s = status(agent);
    if (s) seen.add(s.heartbeat_at);
    return seen.size > n;
  });
}

describe("usage and budgets", () => {
  it("records each run's usage in the task result and the ledger; over the daily budget the agent stops claiming until a higher limit", async () => {
    w = makeWorld();
    spender("b1");
    let agent = startAgent(w, "b1", { AGENT_BUDGET_USD_PER_DAY: "1" });
    running.push(agent);
    const first = queue("first", { write: usd(0.6) });
    const t1 = await waitFor("first", settled(w, first));
    expect(t1.status).toBe("done");
    expect(resultOf(t1).usage).toEqual({ usd: 0.6, tokens_in: 100, tokens_out: 10 });
    const second = queue("second", { write: usd(0.6) });
    expect((await waitFor("second", settled(w, second))).status).toBe("done");

    // 1.2 >= 1: no more claims today.
    await waitFor("over budget", () => status("b1")?.over_budget);
    const s = status("b1")!;
    expect(s.over_budget).toMatchObject({ limit_usd: 1, spent_usd: 1.2 });
    expect(Date.parse(s.over_budget!.until)).toBeGreaterThan(Date.now());
    expect(s.usage_today).toMatchObject({ usd: 1.2, runs: 2 });
    expect(ctl(w, ["status"]).stdout).toMatch(/b1\s+running \(over-budget\)/);
    const third = queue("third", { write: usd(0.1) });
    await heartbeats("b1", 3);
    expect(task(w, third).status).toBe("pending");
    expect(agent.output()).toContain('"event":"over-budget"');

    const u = ctlJson<{ days: Array<{ agent: string; usd: number; runs: number }>; total: { usd: number } }>(w, [
      "usage",
    ]);
    expect(u.days).toEqual([expect.objectContaining({ agent: "b1", usd: 1.2, runs: 2, tokens_in: 200 })]);
    expect(ctl(w, ["usage", "--agent", "b1"]).stdout).toMatch(/b1\s+2\s+200\s+20\s+\$1\.2000/);
    expect(ctlJson<{ days: unknown[] }>(w, ["usage", "--since", "2999-01-01"]).days).toEqual([]);
    expect(ctlJson<{ days: unknown[] }>(w, ["usage", "--agent", "nobody"]).days).toEqual([]);
    const bad = ctl(w, ["usage", "--since", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be a UTC day/);

    // A raised limit (what `pulumi up` with a new budget does: the runtime restarts with it).
    await stopAgent(agent, "SIGTERM");
    agent = startAgent(w, "b1", { AGENT_BUDGET_USD_PER_DAY: "5" });
    running.push(agent);
    expect((await waitFor("third", settled(w, third))).status).toBe("done");
    await waitFor("budget ok", () => status("b1")?.over_budget === null);
  });

  it("a run over the per-task budget fails and proposes nothing; the program saw the budget as $TASK_BUDGET_USD", async () => {
    w = makeWorld();
    const app = spender("b2");
    running.push(startAgent(w, "b2", { AGENT_BUDGET_USD_PER_TASK: "0.5" }));
    const cheap = queue("cheap", { write: usd(0.4) });
    expect((await waitFor("cheap", settled(w, cheap))).status).toBe("done");
    expect(fs.readFileSync(path.join(app, "spend.log"), "utf8")).toBe(`${cheap} budget=0.5\n`);
    const dear = queue("dear", { write: usd(0.7) });
    const t = await waitFor("dear", settled(w, dear));
    expect(t.status).toBe("failed");
    expect(resultOf(t).error).toMatch(/reported \$0\.7 of model usage, over the per-task budget of \$0\.5/);
    expect(resultOf(t).usage?.usd).toBe(0.7);
    expect(fs.readFileSync(path.join(app, "spend.log"), "utf8")).toBe(`${cheap} budget=0.5\n`);
    expect(ctlJson<{ total: { usd: number; runs: number } }>(w, ["usage"]).total).toMatchObject({ usd: 1.1, runs: 2 });
  });

  it("hostile reports are refused with the reason in the result, counted nowhere, and never read through a link", async () => {
    w = makeWorld();
    spender("b3");
    running.push(startAgent(w, "b3"));
    const secret = path.join(w.dir, "secret.json");
    fs.writeFileSync(secret, usd(999));
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ link: secret }, /symbolic link/],
      [{ write: "not json" }, /not JSON/],
      [{ write: JSON.stringify({ usd: -5 }) }, /"usd" must be a number/],
      [{ write: JSON.stringify({ usd: 1, extra: "x".repeat(5000) }) }, /larger than 4096 bytes/],
      [{ write: JSON.stringify({ usd: 1, note: 1 }) }, /unknown field "note"/],
    ];
    for (const [o, why] of cases) {
      const id = queue(`hostile ${JSON.stringify(o).slice(0, 30)}`, o);
      const t = await waitFor(id, settled(w, id));
      expect(t.status).toBe("done"); // the change itself is fine: only the report is refused
      expect(resultOf(t).usage).toBeUndefined();
      expect(resultOf(t).usage_error).toMatch(why);
    }
    expect(ctl(w, ["usage"]).stdout).toBe("no usage reported\n");
  });

  it("agent-2 reports what its coding CLI printed (tokens with cache, total_cost_usd)", async () => {
    w = makeWorld();
    const fake = path.join(w.dir, "fake-claude");
    fs.writeFileSync(
      fake,
      `#!/bin/sh\necho "edited" > cli.txt\nprintf '%s\\n' '{"type":"result","result":"done: edited cli.txt","total_cost_usd":0.0421,"usage":{"input_tokens":1000,"cache_read_input_tokens":500,"output_tokens":250}}'\n`,
      { mode: 0o755 },
    );
    makeApp(w, "c2", { from: AGENT_2 });
    running.push(startAgent(w, "c2", { ANTHROPIC_API_KEY: "test-key", AGENT_2_CLI: fake }));
    const id = queue("edit with the CLI", {});
    const t = await waitFor(id, settled(w, id));
    expect(t.status).toBe("done");
    expect(resultOf(t).usage).toEqual({ tokens_in: 1500, tokens_out: 250, usd: 0.0421 });
    expect(running[0]!.output()).toContain("done: edited cli.txt");
  });

  it("the ledger survives SIGKILL at any instant: always whole, every finished run's usage in it exactly once", async () => {
    w = makeWorld();
    spender("k1");
    // On a loaded machine one task can be the one running at every kill: enough attempts for all of them.
    const ids = Array.from({ length: 8 }, (_, i) =>
      queue(`kill ${i}`, { write: usd(0.01), sleepMs: 150 }, undefined, 10),
    );
    const ledgerDir = path.join(w.shared, "usage", "k1");
    let kills = 0;
    // Deterministic schedule: kill after 1, 2, 3, … ledger writes have happened since the start.
    for (let round = 1; round <= 4; round++) {
      const agent = startAgent(w, "k1");
      running.push(agent);
      const before = (agent.output().match(/usage-recorded/g) ?? []).length;
      await waitFor(`round ${round}`, () => {
        const n = (agent.output().match(/usage-recorded/g) ?? []).length;
        return n - before >= 1 || ids.every((id) => ["done", "failed"].includes(task(w, id).status));
      });
      await stopAgent(agent, "SIGKILL");
      kills++;
      for (const f of fs.readdirSync(ledgerDir).filter((n) => !n.startsWith(".tmp-"))) {
        const day = JSON.parse(fs.readFileSync(path.join(ledgerDir, f), "utf8"));
        expect(day.runs).toBe(day.entries.length);
      }
    }
    running.push(startAgent(w, "k1"));
    for (const id of ids) expect((await waitFor(id, settled(w, id))).status).toBe("done");
    const u = ctlJson<{ entries: Array<{ task: string; run_at: string }> }>(w, ["usage", "--agent", "k1"]);
    const keys = u.entries.map((e) => `${e.task} ${e.run_at}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Every finished task's usage is in the ledger (runs killed before their end may add more entries).
    for (const id of ids) expect(u.entries.some((e) => e.task === id)).toBe(true);
    expect(kills).toBe(4);
  });
});
