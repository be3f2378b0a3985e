import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A real agent-runtime process on temp dirs, for the benchmarks. */
export interface BenchAgent {
  child: ChildProcess;
  app: string;
  shared: string;
  decisions: string;
  stop(): Promise<void>;
}

export function runtimeBin(): string {
  return path.join(path.dirname(process.argv[1]!), "..", "runtime", "bin", "agent-runtime.js");
}

export function startBenchAgent(dir: string, name: string, agentDir: string, env: Record<string, string>): BenchAgent {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.dirname(dir), 0o755);
  const app = path.join(dir, "apps", name);
  const shared = path.join(dir, "shared");
  const decisions = path.join(dir, "decisions");
  const scratch = path.join(dir, "scratch");
  fs.mkdirSync(path.dirname(app), { recursive: true });
  if (!fs.existsSync(app)) fs.cpSync(agentDir, app, { recursive: true });
  for (const d of [shared, decisions, scratch]) fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(scratch, 0o1777);
  const child = spawn(process.execPath, [runtimeBin()], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH,
      AGENT_NAME: name,
      APPROVAL_REQUIRED: "true",
      AGENT_APP_DIR: app,
      AGENT_SHARED_DIR: shared,
      AGENT_DECISIONS_DIR: decisions,
      AGENT_SCRATCH_DIR: scratch,
      ...(process.getuid?.() === 0 ? { AGENT_RUN_AS: "nobody" } : {}),
      ...env,
    },
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    child,
    app,
    shared,
    decisions,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export async function until<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 120_000,
  everyMs = 5,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
