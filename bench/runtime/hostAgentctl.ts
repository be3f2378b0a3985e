import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { agentctlWrapperScript } from "../../fleet/agentctlWrapper.js";

/**
 * The host `agentctl` on a warm host: the very wrapper script the fleet installs
 * (fleet/agentctlWrapper.ts), answered by a running `agentctl serve --operator-socket` (what the
 * console container runs; the socket is a bind-mounted file, so Docker is not on this path).
 * Measured side by side with a bare `node -e 0` (and agentctl run directly) in the same run,
 * interleaved, medians: the figure is the ratio, which a noisy shared machine moves less than
 * milliseconds. A `docker` that fails is first on PATH, so a slow-path call would fail the run.
 */
export interface HostAgentctlFigures {
  samples: number;
  wrapperMs: number;
  bareNodeMs: number;
  directAgentctlMs: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${String(r.stderr)}`);
  return ms;
}

export async function hostAgentctlLatency(dir: string, repo: string, samples: number): Promise<HostAgentctlFigures> {
  const agentctl = path.join(repo, "dist", "runtime", "bin", "agentctl.js");
  const shared = path.join(dir, "shared");
  const decisions = path.join(dir, "decisions");
  const run = path.join(dir, "run");
  const bin = path.join(dir, "bin");
  for (const d of [shared, decisions, run, bin]) fs.mkdirSync(d, { recursive: true });
  const tokens = path.join(dir, "tokens");
  fs.writeFileSync(tokens, "bench:bench-token-0123456789abcdef\n", { mode: 0o600 });
  fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho 'bench: the slow path ran' >&2\nexit 99\n", {
    mode: 0o755,
  });
  const sock = path.join(run, "agentctl.sock");
  const wrapper = path.join(bin, "agentctl");
  fs.writeFileSync(wrapper, agentctlWrapperScript({ image: "bench/agent:1", hostRoot: dir, socket: sock }), {
    mode: 0o755,
  });
  const env = { PATH: `${bin}:${process.env.PATH}`, AGENTCTL_USER: "bench" };
  const direct = { ...env, AGENT_SHARED_DIR: shared, AGENT_DECISIONS_DIR: decisions };
  // Something to show: a queue of 20 tasks.
  for (let i = 0; i < 20; i++) {
    timed(process.execPath, [agentctl, "task", "add", "--title", `bench task ${i}`, "--description", "x"], direct);
  }

  const server = spawn(
    process.execPath,
    [
      agentctl,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--tokens",
      tokens,
      "--shared",
      shared,
      "--decisions",
      decisions,
      "--operator-socket",
      sock,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agentctl serve did not start: ${out}`)), 60_000);
      const seen = (b: Buffer) => {
        out += b.toString();
        if (out.includes("operator socket")) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout!.on("data", seen);
      server.stderr!.on("data", seen);
      server.once("exit", (code) => reject(new Error(`agentctl serve exited ${code}: ${out}`)));
    });
    // Warm: the page cache holds perl, node and the runtime's files.
    for (let i = 0; i < 3; i++) {
      timed(wrapper, ["status"], env);
      timed(process.execPath, ["-e", "0"], env);
    }
    const w: number[] = [];
    const n: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < samples; i++) {
      w.push(timed(wrapper, ["tasks"], env));
      n.push(timed(process.execPath, ["-e", "0"], env));
      d.push(timed(process.execPath, [agentctl, "tasks"], direct));
    }
    return { samples, wrapperMs: median(w), bareNodeMs: median(n), directAgentctlMs: median(d) };
  } finally {
    server.kill("SIGKILL");
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.floor(s.length / 2)]!.toFixed(1));
}
