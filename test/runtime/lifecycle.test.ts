import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  AGENT_2,
  ctl,
  ctlJson,
  git,
  IS_ROOT,
  makeApp,
  makeWorld,
  settled,
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

const finished = (id: string) => settled(w, id);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("runs, shutdown and privileges", () => {
  it("SIGTERM during a long run: after the grace period the run is killed and the task handed back, attempts unchanged", async () => {
    w = makeWorld();
    makeApp(w, "s1");
    const agent = startAgent(w, "s1", { AGENT_STOP_GRACE_SECONDS: "1" });
    const id = addEditTask(w, "long", [{ sleep: { seconds: 120 } }]);
    await waitFor("running", () => agent.output().includes("task-claimed"));
    const exit = await stopAgent(agent, "SIGTERM");
    expect(exit.code).toBe(0);
    const t = task(w, id);
    expect(t.status).toBe("pending");
    expect(t.attempts).toBe(0);
    expect(agent.output()).toContain("task-handed-back");
    const st = ctlJson<Array<{ state: string }>>(w, ["status"]);
    expect(st[0]!.state).toBe("stopped");
    expect(ctl(w, ["health", "--agent", "s1"]).code).toBe(1);
  });

  it("SIGTERM while a short run finishes within the grace period: the task completes", async () => {
    w = makeWorld();
    const app = makeApp(w, "s2");
    const agent = startAgent(w, "s2", { AGENT_STOP_GRACE_SECONDS: "60" });
    const id = addEditTask(w, "short", [{ sleep: { seconds: 1 } }, { write: { path: "s.txt", content: "s" } }]);
    await waitFor("running", () => agent.output().includes("task-claimed"));
    expect((await stopAgent(agent, "SIGTERM")).code).toBe(0);
    expect(task(w, id).status).toBe("done");
    expect(trailers(app, "Task-Id")).toEqual([id]);
  });

  it("a timeout kills the program's whole process group; the task is retried, then fails with the reason", async () => {
    w = makeWorld();
    const pidFile = path.join(w.dir, "bg.pid");
    fs.writeFileSync(pidFile, "");
    fs.chmodSync(pidFile, 0o666);
    // The program starts a background child that would outlive it, then hangs.
    makeApp(w, "s3", { agentJson: { command: ["sh", "-c", `sleep 300 & echo $! >> ${pidFile}; sleep 300`] } });
    running.push(startAgent(w, "s3", { AGENT_TASK_TIMEOUT_SECONDS: "1", AGENT_MAX_ATTEMPTS: "2" }));
    const id = ctl(w, ["task", "add", "--title", "hang", "--description", "hang"]).stdout.trim();
    const t = await waitFor("failed", finished(id), 90_000);
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(2);
    expect(t.result?.error).toMatch(/gave up after 2 attempts; last error: timed out after 1 s/);
    const pids = fs.readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
    expect(pids.length).toBe(2);
    await waitFor("background children gone", () => pids.every((p) => !alive(p)), 20_000);
  });

  it("AGENT_EXCLUSIVE_RUN_AS: a child that escaped the process group with setsid does not outlive its task", async () => {
    w = makeWorld();
    const pidFile = path.join(w.dir, "escaped.pid");
    fs.writeFileSync(pidFile, "");
    fs.chmodSync(pidFile, 0o666);
    // A new session: the process-group kill cannot reach it, only the kill by uid can.
    makeApp(w, "s8", {
      agentJson: {
        command: ["sh", "-c", `setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> ${pidFile}; sleep 1; exit 0`],
      },
    });
    // A uid of its own, as in the container: nothing else on this machine runs as it.
    const agent = startAgent(w, "s8", {
      AGENT_EXCLUSIVE_RUN_AS: "true",
      ...(IS_ROOT ? { AGENT_RUN_AS: "47001:47001" } : {}),
    });
    running.push(agent);
    const id = ctl(w, ["task", "add", "--title", "escape", "--description", "escape"]).stdout.trim();
    const t = await waitFor("done", finished(id));
    expect(t.status).toBe("done");
    const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    expect(pid).toBeGreaterThan(0);
    if (IS_ROOT) {
      await waitFor("escaped child gone", () => !alive(pid), 20_000);
    } else {
      // As an ordinary user there is no agent user to sweep; the runtime says separation is off.
      expect(agent.output()).toContain("privilege-separation-off");
      process.kill(pid, "SIGKILL");
    }
  });

  it("program output goes to the agent's log, bounded; a non-zero exit fails the task with the output's last lines", async () => {
    w = makeWorld();
    makeApp(w, "s4", {
      agentJson: {
        command: [
          "sh",
          "-c",
          "i=0; while [ $i -lt 3000 ]; do echo \"line $i of noise\"; i=$((i+1)); done; echo 'the real reason' >&2; exit 3",
        ],
      },
    });
    running.push(startAgent(w, "s4", { AGENT_OUTPUT_MAX_BYTES: "2048" }));
    const id = ctl(w, ["task", "add", "--title", "noisy", "--description", "x"]).stdout.trim();
    const t = await waitFor("failed", finished(id));
    expect(t.status).toBe("failed");
    expect(t.result?.error).toMatch(/agent program exited with 3: .*the real reason/);
    const log = fs.readFileSync(path.join(w.shared, "logs", "s4.jsonl"), "utf8");
    const outputLines = log.split("\n").filter((l) => l.includes('"program-output"'));
    expect(outputLines.length).toBeLessThan(200);
    expect(log).toContain("is not logged");
  });

  it("privilege separation: the agent program cannot write /app, the shared state or the decisions", async () => {
    w = makeWorld();
    const app = makeApp(w, "s5", {
      agentJson: {
        command: [
          "sh",
          "-c",
          [
            'r=""',
            `for f in "$AGENT_APP_DIR_PROBE/owned.txt" "${w.shared}/tasks/pending/x.json" "${w.shared}/agents/s5/status.json" "${w.decisions}/p-x.json" "$TASK_FILE"; do`,
            '  if ( echo hacked > "$f" ) 2>/dev/null; then r="$r WROTE:$f"; else r="$r denied"; fi',
            "done",
            'echo "result:$r"',
            "echo ok > inside.txt",
          ].join("\n"),
        ],
        env: { AGENT_APP_DIR_PROBE: "" },
      },
    });
    fs.writeFileSync(
      path.join(app, "agent.json"),
      fs
        .readFileSync(path.join(app, "agent.json"), "utf8")
        .replace('"AGENT_APP_DIR_PROBE": ""', `"AGENT_APP_DIR_PROBE": "${app}"`),
    );
    const agent = startAgent(w, "s5");
    running.push(agent);
    const id = ctl(w, ["task", "add", "--title", "probe", "--description", "x"]).stdout.trim();
    const t = await waitFor("done", finished(id));
    expect(t.status).toBe("done");
    // The runtime's stdout reaches this process through a pipe, possibly after the task file says
    // done: wait for the lines instead of reading them once.
    const outputHas = (text: string) => () => (agent.output().includes(text) ? true : undefined);
    await waitFor("the program's result line", outputHas("result:"));
    const line = agent
      .output()
      .split("\n")
      .find((l) => l.includes("result:"));
    if (IS_ROOT) {
      await waitFor("the privilege-separation event", outputHas('"privilege-separation"'));
      expect(line).toContain("result: denied denied denied denied denied");
      expect(fs.existsSync(path.join(app, "owned.txt"))).toBe(false);
      // Its change still arrives, through the runtime, as a commit.
      expect(fs.readFileSync(path.join(app, "inside.txt"), "utf8")).toBe("ok\n");
      expect(trailers(app, "Task-Id")).toEqual([id]);
    } else {
      // As an ordinary user there is nobody to switch to: the runtime says so.
      expect(agent.output()).toContain("privilege-separation-off");
    }
  });

  it("agent-2 without ANTHROPIC_API_KEY: the task fails at once with a clear reason", async () => {
    w = makeWorld();
    makeApp(w, "s6", { from: AGENT_2 });
    running.push(startAgent(w, "s6"));
    const id = ctl(w, ["task", "add", "--title", "write docs", "--description", "please"]).stdout.trim();
    const t = await waitFor("failed", finished(id));
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(1);
    expect(t.result?.error).toMatch(/exited with 78: .*ANTHROPIC_API_KEY is not set/);
  });
});

describe("agentctl", () => {
  it("task add copies instructions (file or stdin) and context into the queue; the record carries the documented fields", async () => {
    w = makeWorld();
    const cwd = path.join(w.dir, "operator");
    fs.mkdirSync(cwd);
    fs.writeFileSync(
      path.join(cwd, "task.md"),
      '# Do it\n\n```json\n{"write": {"path": "from-file.txt", "content": "f"}}\n```\n',
    );
    fs.mkdirSync(path.join(cwd, "ctxdir"));
    fs.writeFileSync(path.join(cwd, "ctxdir", "a.txt"), "A");
    fs.writeFileSync(path.join(cwd, "notes.txt"), "N");
    const r = ctl(
      w,
      [
        "task",
        "add",
        "--title",
        "from file",
        "--instructions",
        "task.md",
        "--context",
        "notes.txt",
        "--context",
        "ctxdir",
        "--priority",
        "7",
        "--json",
      ],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout);
    for (const k of [
      "id",
      "title",
      "description",
      "instruction_file",
      "context_files",
      "status",
      "claimed_by",
      "claimed_at",
      "completed_at",
      "attempts",
      "priority",
      "agent",
      "capability",
      "result",
    ]) {
      expect(rec, k).toHaveProperty(k);
    }
    expect(rec.priority).toBe(7);
    // The caller's files may vanish (the host wrapper's cwd is gone after the command): copies remain.
    fs.rmSync(cwd, { recursive: true });
    expect(fs.readFileSync(path.join(w.shared, rec.instruction_file), "utf8")).toContain("from-file.txt");
    expect(rec.context_files.map((f: string) => fs.existsSync(path.join(w.shared, f)))).toEqual([true, true]);
    const fromStdin = ctl(w, ["task", "add", "--title", "from stdin", "--instructions", "-"], {
      input: '```json\n{"write": {"path": "from-stdin.txt", "content": "s"}}\n```\n',
    });
    expect(fromStdin.code).toBe(0);

    // The program sees the context through TASK_CONTEXT_DIR.
    const app = makeApp(w, "c1");
    const agent = startAgent(w, "c1");
    running.push(agent);
    await waitFor("both done", () => tasks(w, "done").length === 2);
    expect(fs.readFileSync(path.join(app, "from-file.txt"), "utf8")).toBe("f");
    expect(fs.readFileSync(path.join(app, "from-stdin.txt"), "utf8")).toBe("s");
    const done = task(w, rec.id);
    expect(done.claimed_by).toBe("c1");
    expect(done.claimed_at).toBeTruthy();
    expect(done.completed_at).toBeTruthy();
    expect(done.result?.commit).toBe(git(app, ["log", "-1", "--format=%H", "--grep", rec.id]).trim());

    // status, health, logs
    expect(ctl(w, ["health", "--agent", "c1"]).code).toBe(0);
    expect(ctl(w, ["health"], { env: { AGENT_NAME: "c1" } }).code).toBe(0);
    expect(ctl(w, ["health", "--agent", "nobody-here"]).code).toBe(1);
    const st = ctlJson<Array<Record<string, unknown>>>(w, ["status"]);
    expect(st[0]).toMatchObject({ agent: "c1", approval_required: false, current_task: null, alive: true });
    const logs = ctl(w, ["logs", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { time: string; event: string });
    expect(logs.map((l) => l.time)).toEqual([...logs.map((l) => l.time)].sort());
    expect(logs.some((l) => l.event === "task-done")).toBe(true);
  });

  it("logs from several agents are merged in time order; --agent filters; --follow streams new lines", async () => {
    w = makeWorld();
    makeApp(w, "m1");
    makeApp(w, "m2");
    running.push(startAgent(w, "m1"), startAgent(w, "m2"));
    await waitFor(
      "both started",
      () =>
        fs.existsSync(path.join(w.shared, "logs", "m2.jsonl")) &&
        fs.existsSync(path.join(w.shared, "logs", "m1.jsonl")),
    );
    const merged = ctl(w, ["logs", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { time: string; agent: string });
    expect(new Set(merged.map((l) => l.agent))).toEqual(new Set(["m1", "m2"]));
    expect(merged.map((l) => l.time)).toEqual([...merged.map((l) => l.time)].sort());
    const only = ctl(w, ["logs", "--json", "--agent", "m2"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { agent: string });
    expect(new Set(only.map((l) => l.agent))).toEqual(new Set(["m2"]));

    const { spawn } = await import("node:child_process");
    const { AGENTCTL_BIN } = await import("./helpers.js");
    const follow = spawn(process.execPath, [AGENTCTL_BIN, "logs", "--follow", "--shared", w.shared], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    follow.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    const id = addEditTask(w, "followed", [{ write: { path: "f.txt", content: "f" } }]);
    await waitFor("followed line", () => out.includes(`task-done task=${id}`), 60_000);
    follow.kill("SIGTERM");
  });
});
