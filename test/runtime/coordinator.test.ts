import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { request, startConsole } from "./consoleHelpers.js";
import {
  AGENTCTL_BIN,
  ctl,
  ctlJson,
  makeApp,
  makeWorld,
  settled,
  startAgent,
  tasks,
  tearDown,
  waitFor,
  type RunningAgent,
  type TaskJson,
  type World,
} from "./helpers.js";
import { makeProject, projectFile, projectsDir } from "./projectHelpers.js";

/**
 * Coordinators and the comms log with real runtimes on real dirs: a coordinator's program writes
 * task files into $TASK_OUTBOX (good ones and hostile ones) and lines into $TASK_MESSAGES; the
 * runtime queues the good tasks, rejects every other file with its reason, and nothing else moves.
 */

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

interface OutboxResult {
  outcome: string;
  created_tasks?: string[];
  outbox_rejected?: Array<{ file: string; reason: string }>;
  messages_dropped?: number;
  error?: string;
}

const SECRET = "TOPSECRET-MARKER-7f3a";
const PLAN_TITLE = "plan the work";

/**
 * A coordinator app: its program copies `plan/*` into $TASK_OUTBOX, then runs `extra` (sh) to add
 * what a plain copy cannot (links, dirs), and writes `messages` into $TASK_MESSAGES.
 */
function coordinatorApp(
  name: string,
  plan: Record<string, string>,
  opts: { extra?: string; messages?: string; exit?: number } = {},
): void {
  const files: Record<string, string> = {};
  for (const [f, c] of Object.entries(plan)) files[`plan/${f}`] = c;
  files["messages.txt"] = opts.messages ?? "";
  files["run.sh"] = [
    "set -e",
    // Only the planning task plans: the tasks it creates may come back to it (any agent).
    `[ "$TASK_TITLE" = "${PLAN_TITLE}" ] || exit 0`,
    'for f in plan/*; do [ -e "$f" ] && cp "$f" "$TASK_OUTBOX/"; done',
    opts.extra ?? "",
    'if [ -s messages.txt ]; then cat messages.txt >> "$TASK_MESSAGES"; fi',
    `exit ${opts.exit ?? 0}`,
    "",
  ].join("\n");
  makeApp(w, name, { agentJson: { command: ["sh", "run.sh"], timeoutSeconds: 60 }, files });
}

/**
 * Project demo as the host seeds it (a bare repository under AGENT_PROJECTS_DIR), with links
 * committed in it that lead out of it (to a secret file, and to the folder holding it).
 */
function makeDemoProject(): string {
  fs.writeFileSync(path.join(w.dir, "secret.txt"), `${SECRET}\n`);
  return makeProject(w, "demo", { "src/a.txt": "alpha context\n", "notes/b.md": "# beta notes\n" }, "main", {
    "link.txt": path.join(w.dir, "secret.txt"),
    linkdir: w.dir,
  });
}

function json(v: unknown): string {
  return JSON.stringify(v);
}

/** Everything under `dir` (files' contents), for "did this leak anywhere" checks. */
function allText(dir: string): string {
  let out = "";
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (e.isFile()) out += fs.readFileSync(p, "utf8");
  }
  return out;
}

async function runCoordinatorTask(name: string): Promise<{ parent: TaskJson; result: OutboxResult }> {
  const r = ctl(w, ["task", "add", "--title", PLAN_TITLE, "--description", "split it", "--agent", name]);
  expect(r.code, r.stderr).toBe(0);
  const parent = await waitFor(`task of ${name} settled`, settled(w, r.stdout.trim()), 90_000);
  return { parent, result: parent.result as OutboxResult };
}

function rejectionOf(result: OutboxResult, file: string): string {
  const r = result.outbox_rejected?.find((x) => x.file === file);
  if (!r) throw new Error(`no rejection for ${file} in ${json(result.outbox_rejected)}`);
  return r.reason;
}

describe("coordinators: tasks from $TASK_OUTBOX", () => {
  it("queues the valid task files with created_by and parent; rejects every hostile file with its reason; nothing else is affected", async () => {
    w = makeWorld();
    const repo = makeDemoProject();
    // The worker: reports to the status board (so it is a known agent with capability `build`),
    // works on project demo, and its program records the context files it was given (committed
    // to the project for a project task, to its own code for the other).
    makeApp(w, "worker", {
      agentJson: {
        command: [
          "sh",
          "-c",
          'cat "$TASK_CONTEXT_DIR"/* > "ctx-$TASK_ID.txt" 2>/dev/null; echo "worker did $TASK_ID" >> "$TASK_MESSAGES"; echo ok > "out-$TASK_ID.txt"',
        ],
        timeoutSeconds: 60,
      },
    });
    const big = json({ title: "big", instructions: "x".repeat(5000) });
    coordinatorApp(
      "coord",
      {
        "01-good.json": json({
          title: "write a",
          instructions: "do the a part",
          project: "demo",
          agent: "worker",
          priority: 7,
          context: ["src/a.txt", "notes/b.md"],
        }),
        "02-cap.json": json({ title: "by capability", description: "any agent that can build", capability: "build" }),
        "03-malformed.json": "{ not json",
        "04-unknown-agent.json": json({ title: "t", instructions: "i", agent: "ghost" }),
        "05-unknown-cap.json": json({ title: "t", instructions: "i", capability: "quantum" }),
        "06-unknown-project.json": json({ title: "t", instructions: "i", project: "other" }),
        "07-traversal.json": json({ title: "t", instructions: "i", project: "demo", context: ["../../secret.txt"] }),
        "08-absolute.json": json({ title: "t", instructions: "i", project: "demo", context: ["/etc/passwd"] }),
        "09-link-context.json": json({ title: "t", instructions: "i", project: "demo", context: ["link.txt"] }),
        "10-linkdir-context.json": json({
          title: "t",
          instructions: "i",
          project: "demo",
          context: ["linkdir/secret.txt"],
        }),
        "13-not-a-task.txt": "hello",
        "14-unknown-field.json": json({ title: "t", instructions: "i", approve: true }),
        "15-big.json": big,
        "16-escape.json": json({ title: "t", instructions: "i", agent: "\u001b[2Jx\u202e" }),
        "17-no-instructions.json": json({ title: "t" }),
        "18-git.json": json({ title: "t", instructions: "i", project: "demo", context: [".git/config"] }),
        "20-context-no-project.json": json({ title: "t", instructions: "i", context: ["src/a.txt"] }),
        "21-context-dir.json": json({ title: "t", instructions: "i", project: "demo", context: ["src"] }),
      },
      {
        extra: [
          'ln -s /etc/passwd "$TASK_OUTBOX/11-link.json"',
          'ln -s "$TASK_OUTBOX/01-good.json" "$TASK_OUTBOX/11b-link-to-good.json"',
          'mkdir "$TASK_OUTBOX/12-dir.json"',
          `printf '{}' > "$TASK_OUTBOX/$(printf '19-evil\\033[2J.json')"`,
        ].join("\n"),
        messages: "planning: two tasks\n\u001b[31mred\u001b[0m alert\n",
      },
    );
    const common = { AGENT_PROJECTS_DIR: projectsDir(w), AGENT_PROJECTS: "demo", AGENT_OUTBOX_MAX_FILE_BYTES: "4096" };
    running.push(startAgent(w, "worker", { ...common, AGENT_CAPABILITIES: "build" }));
    await waitFor("worker on the status board", () =>
      fs.existsSync(path.join(w.shared, "agents", "worker", "status.json")),
    );
    running.push(startAgent(w, "coord", { ...common, AGENT_CAN_CREATE_TASKS: "true" }));
    const { parent, result } = await runCoordinatorTask("coord");
    expect(parent.status, json(parent)).toBe("done");
    expect(result.created_tasks, json(result)).toHaveLength(2);

    const reasons = {
      "03-malformed.json": /^malformed JSON: /,
      "04-unknown-agent.json": /^unknown agent "ghost"/,
      "05-unknown-cap.json": /^unknown capability "quantum"/,
      "06-unknown-project.json":
        /^unknown project "other": a coordinator may create tasks only for its own projects \(AGENT_PROJECTS: demo\)/,
      "07-traversal.json": /leaves the project \(".."\)/,
      "08-absolute.json": /is absolute/,
      "09-link-context.json": /^context file "link.txt": a symbolic link \(links are never followed\)/,
      "10-linkdir-context.json": /^context file "linkdir\/secret.txt": no such file in project demo \(main\)/,
      "11-link.json": /symbolic link \(links in \$TASK_OUTBOX are never followed\)/,
      "11b-link-to-good.json": /symbolic link/,
      "12-dir.json": /is a directory/,
      "13-not-a-task.txt": /must end in "\.json"/,
      "14-unknown-field.json": /^unknown field "approve"/,
      "15-big.json": /too large: \d+ bytes, over AGENT_OUTBOX_MAX_FILE_BYTES \(4096\)/,
      "17-no-instructions.json": /needs "instructions"/,
      "18-git.json": /points into \.git/,
      "20-context-no-project.json": /"context" names files of a project: give "project" too/,
      "21-context-dir.json": /^context file "src": not a regular file \(tree\)/,
    };
    for (const [file, re] of Object.entries(reasons)) expect(rejectionOf(result, file), file).toMatch(re);
    // An agent-chosen name in a reason comes back escaped (no raw ESC, no bidi override).
    const esc = rejectionOf(result, "16-escape.json");
    expect(esc).toContain("\\u001b[2Jx[BIDI U+202E RLO]");
    expect(esc).not.toContain("\u001b");
    expect(esc).not.toContain("\u202e");
    // So does the name of a file.
    expect(rejectionOf(result, "19-evil\\x1b[2J.json")).toMatch(/"title" is missing/);
    expect(result.outbox_rejected).toHaveLength(Object.keys(reasons).length + 2);

    // The children: marked with their creator, parent and project; the context read from the project.
    const children = ctlJson<TaskJson[]>(w, ["tasks", "--parent", parent.id]);
    expect(children.map((t) => t.id).sort()).toEqual([...result.created_tasks!].sort());
    const good = children.find((t) => t.title === "write a")!;
    expect(good).toMatchObject({
      created_by: "agent:coord",
      parent: parent.id,
      project: "demo",
      agent: "worker",
      priority: 7,
    });
    expect((good.context_files as string[]).map((f) => path.basename(f)).sort()).toEqual(["a.txt", "b.md"]);
    const byCap = children.find((t) => t.title === "by capability")!;
    expect(byCap).toMatchObject({ capability: "build", created_by: "agent:coord", parent: parent.id });
    expect(byCap.project ?? null).toBeNull();
    // Shown by `task show` (text is the same JSON) and in the table of `tasks --parent`.
    expect(JSON.parse(ctl(w, ["task", "show", good.id]).stdout)).toMatchObject({
      parent: parent.id,
      created_by: "agent:coord",
    });
    expect(ctl(w, ["tasks", "--parent", parent.id]).stdout).toContain("agent:coord");
    expect(ctl(w, ["tasks", "--parent", "nonsense"]).code).toBe(2);
    // And by the console's API (replies validated against docs/console-api.yaml).
    const consoleProc = await startConsole(w);
    try {
      const shown = await request(consoleProc, "GET", `/api/v1/tasks/${good.id}`);
      expect(shown.json).toMatchObject({ parent: parent.id, created_by: "agent:coord", project: "demo" });
      const parentShown = await request(consoleProc, "GET", `/api/v1/tasks/${parent.id}`);
      expect(parentShown.json).toMatchObject({ result: { created_tasks: result.created_tasks } });
    } finally {
      await consoleProc.stop();
    }

    // The worker runs them; the context it got is the project's files.
    for (const id of result.created_tasks!)
      expect((await waitFor(`child ${id}`, settled(w, id), 90_000)).status).toBe("done");
    // The context came from the project's HEAD; the worker's change went to the project.
    expect(projectFile(repo, `ctx-${good.id}.txt`)).toBe("alpha context\n# beta notes\n");
    expect(fs.existsSync(path.join(w.app("worker"), `out-${byCap.id}.txt`))).toBe(true);

    // Nothing else: the queue holds exactly the parent and its two children, and the secret
    // behind the links and the traversal reached no file of the shared dir.
    expect(
      tasks(w)
        .map((t) => t.id)
        .sort(),
    ).toEqual([parent.id, ...result.created_tasks!].sort());
    expect(allText(w.shared)).not.toContain(SECRET);

    // The comms log: the coordinator's lines, then the workers', escaped in text, exact in JSON.
    const text = ctl(w, ["comms"]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^\\S+ coord +${parent.id} planning: two tasks$`));
    expect(lines[1]).toContain("\\x1b[31mred\\x1b[0m alert");
    expect(text.stdout).not.toContain("\u001b");
    expect(text.stderr).toMatch(/control or invisible character/);
    expect(lines.slice(2).every((l) => / worker +t-\S+ worker did t-/.test(l))).toBe(true);
    expect(lines).toHaveLength(4);
    const asJson = ctl(w, ["comms", "--json", "--agent", "coord"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(asJson.map((m) => m.text)).toEqual(["planning: two tasks", "\u001b[31mred\u001b[0m alert"]);
    expect(asJson[0]).toMatchObject({ agent: "coord", task: parent.id });
  });

  it("caps: tasks per run, bytes per run and unfinished tasks per creator; each file over a cap is rejected by name", async () => {
    w = makeWorld();
    const t = (i: number) => json({ title: `task ${i}`, instructions: `number ${i} ${"y".repeat(200)}` });
    coordinatorApp("perrun", { "a.json": t(1), "b.json": t(2), "c.json": t(3) });
    coordinatorApp("pending", { "a.json": t(4), "b.json": t(5), "c.json": t(6) });
    coordinatorApp("bytes", { "a.json": t(7), "b.json": t(8), "c.json": t(9) });
    running.push(startAgent(w, "perrun", { AGENT_CAN_CREATE_TASKS: "true", AGENT_OUTBOX_MAX_TASKS: "2" }));
    running.push(startAgent(w, "pending", { AGENT_CAN_CREATE_TASKS: "true", AGENT_OUTBOX_MAX_PENDING: "1" }));
    // Each file is ~250 bytes: two fit in 600, the third does not.
    running.push(startAgent(w, "bytes", { AGENT_CAN_CREATE_TASKS: "true", AGENT_OUTBOX_MAX_RUN_BYTES: "600" }));
    // The created tasks are "any" tasks: a coordinator may claim one; its program does nothing
    // for a task that is not a planning task.
    const perrun = (await runCoordinatorTask("perrun")).result;
    expect(perrun.created_tasks).toHaveLength(2);
    expect(rejectionOf(perrun, "c.json")).toMatch(/over the cap of 2 tasks per run \(AGENT_OUTBOX_MAX_TASKS\)/);
    const pending = (await runCoordinatorTask("pending")).result;
    expect(pending.created_tasks).toHaveLength(1);
    expect(rejectionOf(pending, "b.json")).toMatch(
      /agent:pending has 1 unfinished tasks, the cap \(AGENT_OUTBOX_MAX_PENDING 1\)/,
    );
    expect(rejectionOf(pending, "c.json")).toMatch(/AGENT_OUTBOX_MAX_PENDING/);
    const bytes = (await runCoordinatorTask("bytes")).result;
    expect(bytes.created_tasks).toHaveLength(2);
    expect(rejectionOf(bytes, "c.json")).toMatch(/over the run's byte cap \(AGENT_OUTBOX_MAX_RUN_BYTES\)/);
    const created = tasks(w).filter((x) => String(x.created_by).startsWith("agent:"));
    expect(created.map((x) => x.title).sort()).toEqual(["task 1", "task 2", "task 4", "task 7", "task 8"].sort());
  });

  it("an agent that is not a coordinator, or a failed run, queues nothing and says why; a linked outbox or messages file is never followed", async () => {
    w = makeWorld();
    const plan = { "a.json": json({ title: "sneaky", instructions: "approve everything" }) };
    coordinatorApp("plain", plan, { messages: "hello from plain\n" });
    coordinatorApp("failing", plan, { exit: 3, messages: "about to fail\n" });
    coordinatorApp(
      "linked",
      {},
      {
        extra: [
          'rmdir "$TASK_OUTBOX"',
          `ln -s ${w.dir} "$TASK_OUTBOX"`,
          `ln -s ${path.join(w.dir, "secret.txt")} "$TASK_MESSAGES"`,
        ].join("\n"),
      },
    );
    fs.writeFileSync(path.join(w.dir, "secret.txt"), `${SECRET}\n`);
    fs.writeFileSync(path.join(w.dir, "z.json"), json({ title: "from outside", instructions: "x" }));
    running.push(startAgent(w, "plain"));
    running.push(startAgent(w, "failing", { AGENT_CAN_CREATE_TASKS: "true", AGENT_MAX_ATTEMPTS: "1" }));
    running.push(startAgent(w, "linked", { AGENT_CAN_CREATE_TASKS: "true" }));
    const plain = await runCoordinatorTask("plain");
    expect(plain.parent.status).toBe("done");
    expect(rejectionOf(plain.result, "a.json")).toMatch(
      /^ignored: this agent may not create tasks \(its config does not set canCreateTasks: true\)/,
    );
    expect(plain.result.created_tasks).toBeUndefined();
    const failing = await runCoordinatorTask("failing");
    expect(failing.parent.status).toBe("failed");
    expect(rejectionOf(failing.result, "a.json")).toMatch(/^not queued: the run did not succeed/);
    const linked = await runCoordinatorTask("linked");
    expect(linked.parent.status).toBe("done");
    expect(rejectionOf(linked.result, "$TASK_OUTBOX")).toMatch(
      /\$TASK_OUTBOX is a symlink, not a directory: nothing in it was read/,
    );
    expect(rejectionOf(linked.result, "$TASK_MESSAGES")).toMatch(/is a symlink, not a file/);
    // Only the three operator tasks exist; the messages of a failed run are still recorded.
    expect(tasks(w).every((x) => x.created_by === "tester")).toBe(true);
    expect(tasks(w)).toHaveLength(3);
    expect(allText(w.shared)).not.toContain(SECRET);
    const msgs = ctl(w, ["comms", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { agent: string; text: string });
    expect(msgs.map((m) => `${m.agent}: ${m.text}`).sort()).toEqual([
      "failing: about to fail",
      "plain: hello from plain",
    ]);
  });
});

describe("comms log", () => {
  it("bounds lines per run and line length; --follow prints new messages as they are recorded, in time order", async () => {
    w = makeWorld();
    const long = "z".repeat(40);
    coordinatorApp("talker", {}, { messages: `one\n\n${long}\nthree\nfour\nfive\n` });
    running.push(startAgent(w, "talker", { AGENT_MESSAGE_MAX_CHARS: "16", AGENT_MESSAGE_MAX_LINES: "3" }));
    const first = await runCoordinatorTask("talker");
    expect(first.result.messages_dropped).toBe(2);
    const msgs = ctl(w, ["comms", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { text: string; dropped?: number });
    expect(msgs.map((m) => m.text)).toEqual([
      "one",
      `${"z".repeat(16)}… [cut: 24 more characters]`,
      "three",
      "[2 more lines of this run's messages not recorded]",
    ]);
    expect(msgs[3]!.dropped).toBe(2);

    // Follow: a second agent's messages appear in the running `agentctl comms --follow`.
    coordinatorApp("other", {}, { messages: "from other\n" });
    const follow = spawn(process.execPath, [AGENTCTL_BIN, "comms", "--follow", "--lines", "1"], {
      env: { PATH: process.env.PATH, AGENT_SHARED_DIR: w.shared, AGENT_DECISIONS_DIR: w.decisions },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    follow.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    try {
      await waitFor("the last existing message", () => out.includes("messages not recorded"));
      expect(out).not.toContain(" one");
      running.push(startAgent(w, "other"));
      await runCoordinatorTask("other");
      await waitFor("the new message", () => out.includes("from other"));
      const lines = out.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]! < lines[1]!).toBe(true); // ISO times first: time order
    } finally {
      follow.kill("SIGTERM");
    }
  });

  it("an empty fleet has no messages; a bad --agent is a usage error", () => {
    w = makeWorld();
    const r = ctl(w, ["comms"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    const bad = ctl(w, ["comms", "--agent", "Bad Name"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--agent");
  });
});
