/**
 * `npm run bench`: figures, not pass/fail (a shared, noisy machine). Prints one line per figure
 * and a JSON summary at the end.
 *
 * Runtime benchmarks:
 * - claim throughput with 1, 4 and 16 claiming processes, as a ratio to the raw rename rate of
 *   the same file system measured in the same run (goal: >= 0.5 at 16);
 * - decision-to-commit latency p50/p99 (goal: p50 < 200 ms);
 * - idle runtime resident memory (goal: < 45 MB);
 * - the host `agentctl` (the installed wrapper answered by the console's operator socket), as a
 *   ratio to a bare `node -e 0` in the same run (goal: <= 150 ms on a warm host).
 *
 * Program and container benchmarks, each in a child process (`node --import tsx`: they need the
 * whole project, which this build leaves out):
 * - program evaluation under mocks for 100 agents (goal: <= 2 s), cold and warm, as a ratio to the
 *   SDK registering the same resources alone (test/bench/programEval.ts);
 * - container create -> healthy (goal: <= 3 s), split into the storage driver's copy and the
 *   container's own start (test/bench/containerStart.ts), on the containers suite's private Docker
 *   engine; skipped with a message where the machine has no Docker, or with BENCH_DOCKER=0.
 *
 * BENCH_ONLY=claims|runtime|agentctl|program|containers runs one part.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { claimThroughput, rawParallelRenameRate, rawRenameRate } from "./runtime/claimThroughput.js";
import { decisionLatency, percentile } from "./runtime/decisionLatency.js";
import { idleRss } from "./runtime/idleMemory.js";
import { hostAgentctlLatency } from "./runtime/hostAgentctl.js";

const N_CLAIMS = Number(process.env.BENCH_CLAIM_TASKS ?? 4000);
const N_LATENCY = Number(process.env.BENCH_LATENCY_SAMPLES ?? 40);
const N_AGENTCTL = Number(process.env.BENCH_AGENTCTL_SAMPLES ?? 15);

async function main(): Promise<void> {
  const repo = path.resolve(path.dirname(process.argv[1]!), "..", "..");
  const agent1 = path.join(repo, "agents", "agent-1");
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "af-bench-"));
  const summary: Record<string, unknown> = { node: process.version, cpus: os.cpus().length, tmpdir: os.tmpdir() };
  const only = process.env.BENCH_ONLY;
  try {
    if (!only || only === "claims" || only === "runtime") await runtimeBenches(base, agent1, summary, only);
    if (!only || only === "agentctl") await hostAgentctl(base, repo, summary);
    if (!only || only === "program") summary.programEvaluation = childBench(repo, "test/bench/programEval.ts");
    if ((!only || only === "containers") && process.env.BENCH_DOCKER !== "0")
      summary.containerStart = childBench(repo, "test/bench/containerStart.ts") ?? "skipped";
    console.log(JSON.stringify(summary));
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/**
 * Runs one of the project's benchmarks (test/bench/) in a child process with tsx; its output goes
 * to this one's, and its last line, JSON, is its summary (none when it skipped).
 */
function childBench(repo: string, script: string): unknown {
  const r = spawnSync(process.execPath, ["--import", "tsx", script], {
    cwd: repo,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = (r.stdout ?? "").trimEnd().split("\n");
  const last = lines[lines.length - 1] ?? "";
  const json = last.startsWith("{");
  for (const l of json ? lines.slice(0, -1) : lines) console.log(l);
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal})`);
  return json ? JSON.parse(last) : undefined;
}

async function runtimeBenches(
  base: string,
  agent1: string,
  summary: Record<string, unknown>,
  only: string | undefined,
): Promise<void> {
  {
    // Figures on a shared machine are noisy: each is the median of three runs.
    const raw = median([0, 1, 2].map(() => rawRenameRate(base, N_CLAIMS)));
    console.log(`raw rename rate (${os.tmpdir()}): ${raw.toFixed(0)} renames/s`);
    summary.rawRenamePerSecond = Math.round(raw);
    for (const procs of [1, 4, 16]) {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await claimThroughput(base, procs, N_CLAIMS));
      runs.sort((a, b) => a.rate - b.rate);
      const r = runs[1]!;
      const ratio = r.rate / raw;
      const parallel =
        procs === 1
          ? raw
          : median([
              await rawParallelRenameRate(base, procs, N_CLAIMS),
              await rawParallelRenameRate(base, procs, N_CLAIMS),
              await rawParallelRenameRate(base, procs, N_CLAIMS),
            ]);
      console.log(
        `claim throughput, ${String(procs).padStart(2)} process(es): ${r.rate.toFixed(0)} claims/s = ${ratio.toFixed(2)} x raw rename` +
          ` (file system alone with ${procs} renaming processes: ${parallel.toFixed(0)}/s = ${(parallel / raw).toFixed(2)} x; claims per process: ${r.perProcess.join(" ")})`,
      );
      summary[`rawParallelRenameRatio${procs}`] = Number((parallel / raw).toFixed(3));
      summary[`claimRatio${procs}`] = Number(ratio.toFixed(3));
      summary[`claimsPerSecond${procs}`] = Math.round(r.rate);
    }
    if (only === "claims") return;
    const lat = await decisionLatency(path.join(base, "latency"), agent1, N_LATENCY);
    const p50 = percentile(lat, 50);
    const p99 = percentile(lat, 99);
    console.log(`decision-to-commit latency (${lat.length} approvals): p50 ${p50} ms, p99 ${p99} ms`);
    summary.decisionToCommitMs = { p50, p99, samples: lat.length };
    const mem = await idleRss(path.join(base, "idle"), agent1, 3000);
    const f = (r: { rss: number; anon: number; file: number }) =>
      `${r.rss.toFixed(1)} MiB (anon ${r.anon.toFixed(1)}, file ${r.file.toFixed(1)})`;
    console.log(`idle runtime resident memory: ${f(mem.runtime)}; bare node with one timer: ${f(mem.bareNode)}`);
    summary.idleRssMiB = Number(mem.runtime.rss.toFixed(1));
    summary.idleRssAnonMiB = Number(mem.runtime.anon.toFixed(1));
    summary.bareNodeRssMiB = Number(mem.bareNode.rss.toFixed(1));
  }
}

async function hostAgentctl(base: string, repo: string, summary: Record<string, unknown>): Promise<void> {
  const h = await hostAgentctlLatency(path.join(base, "host-agentctl"), repo, N_AGENTCTL);
  console.log(
    `host agentctl (wrapper -> operator socket), \`agentctl tasks\`: ${h.wrapperMs} ms = ${(h.wrapperMs / h.bareNodeMs).toFixed(2)} x bare \`node -e 0\` (${h.bareNodeMs} ms); agentctl run directly: ${h.directAgentctlMs} ms (medians of ${h.samples})`,
  );
  summary.hostAgentctlMs = h.wrapperMs;
  summary.hostAgentctlRatioToBareNode = Number((h.wrapperMs / h.bareNodeMs).toFixed(3));
  summary.bareNodeMs = h.bareNodeMs;
  summary.directAgentctlMs = h.directAgentctlMs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
