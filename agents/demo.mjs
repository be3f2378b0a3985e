// npm run demo: two agents on local folders, no Docker, no Pulumi.
//   alpha: APPROVAL_REQUIRED=false (its change is committed at once)
//   beta:  APPROVAL_REQUIRED=true  (its change waits as a proposal until approved)
// Both run the deterministic example agent (agents/agent-1). The demo queues a task for each,
// shows the results and the waiting proposal, approves it, and shows the commit.
// Then a coordinator (agents/coordinator, canCreateTasks) splits an instruction list into tasks
// for two workers (worker-1 autonomous, worker-2 with approval) on the shared project demo
// (seeded from projects/demo as a bare repository, as a host does), and the demo shows the tasks
// it created, the project's history, the waiting proposal and the comms log.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runtimeBin = path.join(repo, "dist", "runtime", "bin", "agent-runtime.js");
const agentctlBin = path.join(repo, "dist", "runtime", "bin", "agentctl.js");
if (!fs.existsSync(runtimeBin)) {
  console.error("build first: npx tsc -p runtime/tsconfig.json (npm run demo does this)");
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-fleet-demo-"));
fs.chmodSync(dir, 0o755);
const shared = path.join(dir, "shared");
const decisions = path.join(dir, "decisions");
const scratch = path.join(dir, "scratch");
for (const d of [shared, decisions, scratch]) fs.mkdirSync(d);
fs.chmodSync(scratch, 0o1777);

const isRoot = process.getuid?.() === 0;
const hasAgentUser = fs
  .readFileSync("/etc/passwd", "utf8")
  .split("\n")
  .some((l) => l.startsWith("agent:"));
const runAs = isRoot ? (hasAgentUser ? "agent" : "nobody") : undefined;

const say = (s) => console.log(`\n\x1b[1m== ${s}\x1b[0m`);
const ctlEnv = {
  ...process.env,
  AGENT_SHARED_DIR: shared,
  AGENT_DECISIONS_DIR: decisions,
  AGENTCTL_USER: "demo-operator",
};
function ctl(args, input) {
  const r = spawnSync(process.execPath, [agentctlBin, ...args], { env: ctlEnv, input: input ?? "", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`agentctl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const show = (args) => {
  console.log(`$ agentctl ${args.join(" ")}`);
  process.stdout.write(ctl(args));
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`demo: timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** A shared project as a host seeds it: a bare repository whose HEAD names main, from projects/<name>. */
function seedProject(root, name) {
  const bare = path.join(root, name);
  const seed = path.join(dir, `seed-${name}`);
  fs.cpSync(path.join(repo, "projects", name), seed, { recursive: true });
  const git = (cwd, ...args) => {
    const r = spawnSync(
      "git",
      ["-c", "safe.directory=*", "-c", "user.name=demo-operator", "-c", "user.email=demo@agent-fleet.invalid", ...args],
      { cwd, encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  };
  fs.mkdirSync(bare, { recursive: true, mode: 0o755 });
  git(bare, "init", "-q", "--bare");
  git(bare, "symbolic-ref", "HEAD", "refs/heads/main");
  git(seed, "init", "-q");
  git(seed, "add", "-A");
  git(seed, "commit", "-q", "-m", `Initial import of project ${name}`);
  git(seed, "push", "-q", bare, "HEAD:refs/heads/main");
  fs.rmSync(seed, { recursive: true, force: true });
  return bare;
}

const agents = [];
function start(name, approvalRequired, code = "agent-1", extraEnv = {}, agentJson = undefined) {
  const app = path.join(dir, "agents", name);
  fs.cpSync(path.join(repo, "agents", code), app, { recursive: true });
  if (agentJson) fs.writeFileSync(path.join(app, "agent.json"), JSON.stringify(agentJson, null, 2) + "\n");
  fs.writeFileSync(path.join(app, "README.md"), `# ${name}\n\nAn example agent of the agent-fleet demo.\n`);
  const log = fs.openSync(path.join(dir, `${name}.out`), "a");
  const child = spawn(process.execPath, [runtimeBin], {
    stdio: ["ignore", log, log],
    env: {
      PATH: process.env.PATH,
      AGENT_NAME: name,
      APPROVAL_REQUIRED: String(approvalRequired),
      AGENT_APP_DIR: app,
      AGENT_SHARED_DIR: shared,
      AGENT_DECISIONS_DIR: decisions,
      AGENT_SCRATCH_DIR: scratch,
      AGENT_POLL_MS: "300",
      ...(runAs ? { AGENT_RUN_AS: runAs } : {}),
      ...extraEnv,
    },
  });
  agents.push(child);
  return app;
}

try {
  say(`Fleet folders in ${dir}`);
  console.log(
    `shared: ${shared}\ndecisions: ${decisions}\nagent code: ${path.join(dir, "agents")}/<name> (each a git repo)`,
  );
  if (runAs) console.log(`running as root: agent programs run as "${runAs}"`);
  const alphaApp = start("alpha", false);
  const betaApp = start("beta", true);

  say("Queue a task for each agent (instructions: markdown with an edit block, see agents/agent-1/README.md)");
  const t1 = ctl(
    ["task", "add", "--title", "Add a greeting", "--agent", "alpha", "--instructions", "-"],
    '# Add a greeting\n\n```json\n{"edits": [{"write": {"path": "greetings/hello.txt", "content": "Hello from alpha\\n"}}]}\n```\n',
  ).trim();
  const t2 = ctl(
    ["task", "add", "--title", "Document the agent", "--agent", "beta", "--priority", "7", "--instructions", "-"],
    '# Document the agent\n\n```json\n{"edits": [{"append": {"path": "README.md", "content": "\\nThis agent needs approval for every change.\\n"}}]}\n```\n',
  ).trim();
  console.log(`queued ${t1} (for alpha) and ${t2} (for beta)`);

  await until("both tasks", () => JSON.parse(ctl(["tasks", "--state", "done", "--json"])).length === 2);
  say("Both agents ran their task");
  show(["tasks"]);
  show(["status"]);

  say("alpha is autonomous: its change is already a commit");
  console.log(
    spawnSync("git", ["-c", "safe.directory=*", "log", "-1", "--format=%h %an: %s%n%n%b"], {
      cwd: alphaApp,
      encoding: "utf8",
    }).stdout.trim(),
  );

  say("beta needs approval: its change waits as a proposal");
  const proposal = JSON.parse(ctl(["proposals", "--state", "pending", "--json"]))[0];
  show(["proposals"]);
  show(["diff", proposal.id]);

  say(`The operator approves it (on a host: ssh ops@host agentctl approve ${proposal.id})`);
  show(["approve", proposal.id, "--note", "reviewed in the demo"]);
  await until(
    "the commit",
    () => JSON.parse(ctl(["proposals", "--json"])).find((p) => p.id === proposal.id)?.state === "applied",
  );
  console.log(
    spawnSync("git", ["-c", "safe.directory=*", "log", "-1", "--format=%h %an: %s%n%n%b"], {
      cwd: betaApp,
      encoding: "utf8",
    }).stdout.trim(),
  );

  say("Merged logs (last 8 lines)");
  show(["logs", "--lines", "8"]);

  say("A coordinator and two workers on the shared project demo");
  const projectsDir = path.join(dir, "projects");
  const project = seedProject(projectsDir, "demo");
  console.log(`project demo: ${project} (a bare repository, seeded from projects/demo)`);
  const onDemo = { AGENT_PROJECTS_DIR: projectsDir, AGENT_PROJECTS: "demo" };
  // A project task runs in a clone of the project, not of the agent's code: the workers (agent-1)
  // start their program from their own code dir (agents/coordinator/README.md).
  const worker = JSON.parse(fs.readFileSync(path.join(repo, "agents", "coordinator", "worker.json"), "utf8"));
  start("worker-1", false, "agent-1", onDemo, worker);
  start("worker-2", true, "agent-1", onDemo, worker);
  // A coordinator knows the fleet from the status board: the workers report there first.
  await until("the workers on the status board", () =>
    ["worker-1", "worker-2"].every((n) => fs.existsSync(path.join(shared, "agents", n, "status.json"))),
  );
  start("coordinator", false, "coordinator", { ...onDemo, AGENT_CAN_CREATE_TASKS: "true" });
  const plan = [
    "# Build the demo",
    "",
    "- Write the greeting",
    "  context: src/greeting.txt",
    "  ```json",
    '  {"write": {"path": "src/greeting.txt", "content": "hello from worker-1\\n"}}',
    "  ```",
    "- Add a changelog entry",
    "  ```json",
    '  {"append": {"path": "CHANGELOG.md", "content": "- a greeting (worker-2, approved by a human)\\n"}}',
    "  ```",
    "- Say who reviewed it",
    "  ```json",
    '  {"write": {"path": "REVIEWED.md", "content": "reviewed: worker-1 committed this on its own\\n"}}',
    "  ```",
    "",
  ].join("\n");
  console.log(plan);
  const parent = ctl(
    ["task", "add", "--title", "Build the demo", "--agent", "coordinator", "--instructions", "-"],
    plan,
  ).trim();
  const planned = await until("the coordinator's task", () => {
    const t = JSON.parse(ctl(["task", "show", parent, "--json"]));
    return t.status === "done" || t.status === "failed" ? t : undefined;
  });
  console.log(
    `the coordinator's task ${parent}: ${planned.status}, created ${planned.result?.created_tasks?.length ?? 0} tasks`,
  );
  if (!planned.result?.created_tasks?.length)
    throw new Error(`the coordinator created no task: ${ctl(["task", "show", parent])}`);
  show(["tasks", "--parent", parent]);
  await until("the workers' tasks", () =>
    JSON.parse(ctl(["tasks", "--parent", parent, "--json"])).every((t) => t.status === "done" || t.status === "failed"),
  );
  say("The workers ran them: worker-1 is autonomous (committed to the project), worker-2 waits for approval");
  show(["tasks", "--parent", parent]);
  show(["proposals", "--agent", "worker-2"]);
  const waiting = JSON.parse(ctl(["proposals", "--agent", "worker-2", "--state", "pending", "--json"]))[0];
  if (waiting) {
    show(["approve", waiting.id, "--note", "reviewed in the demo"]);
    await until(
      "worker-2's commit",
      () => JSON.parse(ctl(["proposals", "--json"])).find((p) => p.id === waiting.id)?.state === "applied",
    );
  }
  say("The project's history: every worker's change, each commit with its trailers");
  console.log(
    spawnSync(
      "git",
      [
        "-c",
        "safe.directory=*",
        "log",
        "--format=%h %an: %s  (Approved-By: %(trailers:key=Approved-By,valueonly,separator=))",
        "main",
      ],
      {
        cwd: project,
        encoding: "utf8",
      },
    ).stdout.trim(),
  );
  say("The comms log: what the agents said");
  show(["comms"]);
  say("Done");
  console.log(
    `Explore: AGENT_SHARED_DIR=${shared} AGENT_DECISIONS_DIR=${decisions} node ${path.relative(process.cwd(), agentctlBin)} tasks`,
  );
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  for (const a of agents) a.kill("SIGTERM");
  await Promise.all(agents.map((a) => new Promise((r) => (a.exitCode !== null ? r() : a.on("exit", r)))));
}
