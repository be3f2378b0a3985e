import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Real processes on real directories: helpers shared by the runtime tests. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const RUNTIME_BIN = path.join(ROOT, "dist", "runtime", "bin", "agent-runtime.js");
export const AGENTCTL_BIN = path.join(ROOT, "dist", "runtime", "bin", "agentctl.js");
export const AGENT_1 = path.join(ROOT, "agents", "agent-1");
export const AGENT_2 = path.join(ROOT, "agents", "agent-2");
export const IS_ROOT = process.getuid?.() === 0;

export interface World {
  dir: string;
  shared: string;
  decisions: string;
  scratch: string;
  app(name: string): string;
  cleanup(): void;
}

/** A fleet on disk: shared, decisions and scratch dirs in a fresh temp dir. */
export function makeWorld(): World {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "af-runtime-"));
  fs.chmodSync(dir, 0o755); // the agent user (when we are root) must reach the app dirs
  const shared = path.join(dir, "shared");
  const decisions = path.join(dir, "decisions");
  const scratch = path.join(dir, "scratch");
  for (const d of [shared, decisions, scratch]) fs.mkdirSync(d, { mode: 0o755 });
  fs.chmodSync(scratch, 0o1777);
  return {
    dir,
    shared,
    decisions,
    scratch,
    app: (name) => path.join(dir, "apps", name),
    cleanup: () => removeWorldDir(dir),
  };
}

/**
 * A SIGKILLed runtime's children (the agent program, git as the agent user) may still be writing
 * in scratch for a while on a loaded machine: retry for up to 60 s instead of failing on ENOTEMPTY.
 */
function removeWorldDir(dir: string): void {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EBUSY") || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}

/** Create an agent's app dir: a copy of `from` (default agents/agent-1), or just an agent.json. */
export function makeApp(
  w: World,
  name: string,
  opts: { from?: string; agentJson?: unknown; files?: Record<string, string> } = {},
): string {
  const app = w.app(name);
  fs.mkdirSync(app, { recursive: true, mode: 0o755 });
  if (opts.agentJson === undefined) fs.cpSync(opts.from ?? AGENT_1, app, { recursive: true });
  else fs.writeFileSync(path.join(app, "agent.json"), JSON.stringify(opts.agentJson, null, 2));
  for (const [f, c] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
    fs.writeFileSync(path.join(app, f), c);
  }
  return app;
}

export function runtimeEnv(w: World, name: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AGENT_NAME: name,
    APPROVAL_REQUIRED: "false",
    AGENT_APP_DIR: w.app(name),
    AGENT_SHARED_DIR: w.shared,
    AGENT_DECISIONS_DIR: w.decisions,
    AGENT_SCRATCH_DIR: w.scratch,
    AGENT_POLL_MS: "100",
    AGENT_HEARTBEAT_SECONDS: "1",
    AGENT_LEASE_SECONDS: "4",
    AGENT_BACKOFF_BASE_MS: "50",
    AGENT_BACKOFF_MAX_MS: "200",
    ...(IS_ROOT ? { AGENT_RUN_AS: "nobody" } : {}),
    ...extra,
  };
}

export interface RunningAgent {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startAgent(w: World, name: string, extra: Record<string, string> = {}): RunningAgent {
  const child = spawn(process.execPath, [RUNTIME_BIN], {
    env: runtimeEnv(w, name, extra),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  });
  child.stderr!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  return { name, child, output: () => out, exited };
}

export async function stopAgent(a: RunningAgent, signal: NodeJS.Signals = "SIGTERM") {
  if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill(signal);
  return a.exited;
}

/** After each test: SIGKILL the agents it started (nothing to wait for) and remove its world. */
export async function tearDown(running: RunningAgent[], w: World | undefined): Promise<void> {
  for (const a of running.splice(0)) await stopAgent(a, "SIGKILL");
  w?.cleanup();
}

/** A `waitFor` probe: the task once it is done or failed. */
export function settled(w: World, id: string): () => TaskJson | undefined {
  return () => {
    const t = task(w, id);
    return t.status === "done" || t.status === "failed" ? t : undefined;
  };
}

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ctl(
  w: World,
  args: string[],
  opts: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): CtlResult {
  const r = spawnSync(process.execPath, [AGENTCTL_BIN, ...args], {
    cwd: opts.cwd ?? w.dir,
    input: opts.input ?? "",
    env: {
      PATH: process.env.PATH,
      AGENT_SHARED_DIR: w.shared,
      AGENT_DECISIONS_DIR: w.decisions,
      AGENTCTL_USER: "tester",
      ...opts.env,
    },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ctlJson<T = unknown>(w: World, args: string[]): T {
  const r = ctl(w, [...args, "--json"]);
  if (r.code !== 0) throw new Error(`agentctl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** An agent-1 task: instructions with its edit block. Returns the task id. */
export function addEditTask(w: World, title: string, edits: unknown[], extraArgs: string[] = []): string {
  const md = `# ${title}\n\n\`\`\`json\n${JSON.stringify({ edits })}\n\`\`\`\n`;
  const r = ctl(w, ["task", "add", "--title", title, "--instructions", "-", ...extraArgs], { input: md });
  if (r.code !== 0) throw new Error(`task add failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Bounded wait for a condition on real files (not a timing assertion: only a ceiling). */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function git(repo: string, args: string[]): string {
  const r = spawnSync("git", ["-c", "safe.directory=*", ...args], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Values of one trailer over a repo's whole history. */
export function trailers(repo: string, key: string): string[] {
  const out = git(repo, ["log", `--format=%(trailers:key=${key},valueonly)`]);
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

export interface TaskJson {
  id: string;
  status: string;
  attempts: number;
  claimed_by: string | null;
  result: { outcome: string; proposal_id?: string; commit?: string; error?: string } | null;
  last_error: string | null;
  title: string;
  completed_at: string | null;
  [k: string]: unknown;
}
export interface ProposalJson {
  id: string;
  state: string;
  agent: string;
  task_id: string;
  commit: string | null;
  reason: string | null;
  decided_by: string | null;
  base_commit: string;
  diffstat: { files: Array<{ path: string }> };
}

export function tasks(w: World, state?: string): TaskJson[] {
  return ctlJson<TaskJson[]>(w, ["tasks", ...(state ? ["--state", state] : [])]);
}

export function proposals(w: World, state?: string): ProposalJson[] {
  return ctlJson<ProposalJson[]>(w, ["proposals", ...(state ? ["--state", state] : [])]);
}

export function task(w: World, id: string): TaskJson {
  return ctlJson<TaskJson>(w, ["task", "show", id]);
}
