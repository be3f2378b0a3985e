/**
 * `npm run bench:engine`: wall time of the real `pulumi up` on the local target for 1, 10 and 50
 * agents, and of a no-op `up` after each, printed as figures (never asserted: the machine is shared).
 *
 * The same path as the real-CLI scenarios (test/e2e/hosts/): a copy of the project, a stack per size
 * created with `pulumi stack init` and a generated config, the locally built CLI with the machine's
 * command provider and Node.js language host (both required; test/harness/engine/hostPieces.ts),
 * and the hosts suite's private Docker engine and offline base image. A warm-up stack builds the
 * agent image first (its time is printed apart); every measured stack reuses it, so the figures are
 * the engine's and the host programs' time, not the image build's. Each stack is destroyed after.
 *
 *   npm run bench:engine [-- 1 10 50]
 */
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  buildBaseImage,
  docker,
  dockerEnv,
  dockerTry,
  ensureDockerEngine,
  type DockerTarget,
} from "../harness/docker/index.js";
import { CliStack, copyProject } from "../harness/engine/cliProject.js";
import { prepareEngine, type EngineContext } from "../harness/engine/engineContext.js";
import { hostPiecesLine } from "../harness/engine/hostPieces.js";

const FLEET = "bench-engine";
const DEFAULT_SIZES = [1, 10, 50];
const KEEP_FREE_BYTES = 15e9;

interface Row {
  agents: number;
  upS: number;
  noopUpS: number;
  destroyS: number;
  resources: number;
  /** Mean `docker stats --no-stream` memory of the fleet's containers after the no-op up (MiB). */
  memPerAgentMiB: number;
  /** Disk the up took on the engine's file system, per agent (MB): the storage driver's copies. */
  diskPerAgentMB: number;
}

/** Free bytes of the file system holding `dir`. */
function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** 1.5GiB, 512MiB, 800kB, ... as MiB. */
function mib(text: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B)$/.exec(text.trim());
  if (!m) throw new Error(`unexpected docker stats memory figure: ${text}`);
  const unit: Record<string, number> = {
    B: 1 / 2 ** 20,
    kB: 1e3 / 2 ** 20,
    KiB: 1 / 1024,
    MB: 1e6 / 2 ** 20,
    MiB: 1,
    GB: 1e9 / 2 ** 20,
    GiB: 1024,
  };
  return Number(m[1]) * (unit[m[2]!] ?? NaN);
}

async function memoryPerAgent(target: DockerTarget): Promise<number> {
  const ids = (await docker(target, ["ps", "-q", "--filter", `label=agent-fleet.fleet=${FLEET}`]))
    .split("\n")
    .filter(Boolean);
  if (ids.length === 0) return NaN;
  const out = await docker(target, ["stats", "--no-stream", "--format", "{{.MemUsage}}", ...ids], {
    timeoutMs: 600_000,
  });
  const values = out
    .split("\n")
    .filter(Boolean)
    .map((l) => mib(l.split("/")[0]!));
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const seconds = (ms: number) => ms / 1000;

async function measure(
  engine: EngineContext,
  docker_: DockerTarget,
  projectDir: string,
  baseImage: string,
  agents: number,
  label: string,
): Promise<Row> {
  const denv = dockerEnv(docker_);
  const stack = new CliStack({
    engine,
    projectDir,
    stackName: `${FLEET}-${label}`,
    env: { DOCKER_HOST: denv.DOCKER_HOST!, DOCKER_BUILDKIT: denv.DOCKER_BUILDKIT! },
    timeoutMs: 60 * 60_000,
  });
  await stack.init({
    target: "local",
    fleetName: FLEET,
    image: { baseImage },
    agents: Array.from({ length: agents }, (_, i) => ({ name: `agent-${i + 1}`, code: "agents/agent-1" })),
  });
  try {
    const dataDir = ("dir" in docker_ && typeof docker_.dir === "string" && docker_.dir) || "/var/tmp";
    const freeBefore = freeBytes(dataDir);
    let t = Date.now();
    const created = await stack.up();
    const upS = seconds(Date.now() - t);
    const diskPerAgentMB = (freeBefore - freeBytes(dataDir)) / 1e6 / agents;
    t = Date.now();
    await stack.up({ expectNoChanges: true });
    const noopUpS = seconds(Date.now() - t);
    const memPerAgentMiB = await memoryPerAgent(docker_);
    t = Date.now();
    await stack.destroy();
    const destroyS = seconds(Date.now() - t);
    return { agents, upS, noopUpS, destroyS, resources: created["create"] ?? 0, memPerAgentMiB, diskPerAgentMB };
  } finally {
    await stack.remove();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const pulumiHome = mkdtempSync(path.join(tmpdir(), "agent-fleet-bench-pulumi-home-"));
  const work = mkdtempSync(path.join("/var/tmp", "agent-fleet-bench-engine-"));
  const dockerEngine = await ensureDockerEngine({ instance: "e2e" });
  try {
    const engine = prepareEngine(pulumiHome);
    if (engine.hostPieces.missing.length > 0)
      throw new Error(`bench:engine needs the real engine: ${hostPiecesLine(engine.hostPieces)}`);
    const base = await buildBaseImage(dockerEngine);
    const projectDir = copyProject(path.join(work, "project"));

    const warm = await measure(engine, dockerEngine, projectDir, base.tag, 1, "warmup");
    console.log(`warm-up (builds the agent image): up ${warm.upS.toFixed(1)} s`);
    const rows: Row[] = [];
    // On vfs every container is two full copies of the image (its init layer and its own layer):
    // a size that would leave less than KEEP_FREE_BYTES on the engine's file system is not run.
    const imageBytes = Math.max(
      ...(await docker(dockerEngine, ["image", "ls", "--format", "{{.Size}}", `${FLEET}/agent`]))
        .split("\n")
        .filter(Boolean)
        .map((sz) => mib(sz) * 2 ** 20),
    );
    const dataDir = dockerEngine.dir || "/var/tmp";
    for (const n of sizes.length > 0 ? sizes : DEFAULT_SIZES) {
      const need = 2 * n * imageBytes;
      if (freeBytes(dataDir) - need < KEEP_FREE_BYTES) {
        console.log(
          `${n} agents: not run: 2 copies x ${n} x ${(imageBytes / 1e6).toFixed(0)} MB image = ${(need / 1e9).toFixed(1)} GB, ` +
            `${(freeBytes(dataDir) / 1e9).toFixed(1)} GB free, ${KEEP_FREE_BYTES / 1e9} GB must stay free`,
        );
        continue;
      }
      const row = await measure(engine, dockerEngine, projectDir, base.tag, n, `n${n}`);
      rows.push(row);
      console.log(
        `${n} agents: up ${row.upS.toFixed(1)} s, no-op up ${row.noopUpS.toFixed(1)} s, destroy ${row.destroyS.toFixed(1)} s (${row.resources} resources); ` +
          `memory per agent (docker stats) ${row.memPerAgentMiB.toFixed(1)} MiB; disk per agent ${row.diskPerAgentMB.toFixed(0)} MB`,
      );
    }
    console.log("\nagents | resources | up (s) | no-op up (s) | destroy (s) | memory/agent (MiB) | disk/agent (MB)");
    for (const r of rows)
      console.log(
        `${r.agents} | ${r.resources} | ${r.upS.toFixed(1)} | ${r.noopUpS.toFixed(1)} | ${r.destroyS.toFixed(1)} | ${r.memPerAgentMiB.toFixed(1)} | ${r.diskPerAgentMB.toFixed(0)}`,
      );
  } finally {
    const images = (
      await docker(dockerEngine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${FLEET}/agent`])
    )
      .split("\n")
      .filter(Boolean);
    if (images.length > 0) await dockerTry(dockerEngine, ["image", "rm", ...images], { timeoutMs: 120_000 });
    await dockerEngine.stop();
    rmSync(pulumiHome, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
