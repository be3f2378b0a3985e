import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { startBenchAgent, until } from "./runtimeProcess.js";

export interface Rss {
  rss: number;
  anon: number;
  file: number;
}

function readRss(pid: number): Rss {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  const r = { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
  if (!r.rss) throw new Error(`cannot read VmRSS of ${pid}`);
  return r;
}

/**
 * Resident memory (MiB) of an idle runtime (started, empty queue, a few heartbeats later), and of
 * a bare `node` process with one timer on the same machine for reference. RssFile is mostly the
 * node binary's text, shared by every Node process on the host.
 */
export async function idleRss(
  dir: string,
  agentDir: string,
  settleMs: number,
): Promise<{ runtime: Rss; bareNode: Rss }> {
  const agent = startBenchAgent(dir, "bench-idle", agentDir, {
    AGENT_POLL_MS: "1000",
    AGENT_HEARTBEAT_SECONDS: "1",
    AGENT_LEASE_SECONDS: "5",
  });
  const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await until("status", () => fs.existsSync(`${agent.shared}/agents/bench-idle/status.json`), 60_000, 50);
    await new Promise((r) => setTimeout(r, settleMs));
    return { runtime: readRss(agent.child.pid!), bareNode: readRss(bare.pid!) };
  } finally {
    bare.kill();
    await agent.stop();
  }
}
