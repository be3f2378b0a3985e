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
import { mkdtempSync, rmSync } from "node:fs";
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

interface Row {
  agents: number;
  upS: number;
  noopUpS: number;
  destroyS: number;
  resources: number;
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
    let t = Date.now();
    const created = await stack.up();
    const upS = seconds(Date.now() - t);
    t = Date.now();
    await stack.up({ expectNoChanges: true });
    const noopUpS = seconds(Date.now() - t);
    t = Date.now();
    await stack.destroy();
    const destroyS = seconds(Date.now() - t);
    return { agents, upS, noopUpS, destroyS, resources: created["create"] ?? 0 };
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
    for (const n of sizes.length > 0 ? sizes : DEFAULT_SIZES) {
      const row = await measure(engine, dockerEngine, projectDir, base.tag, n, `n${n}`);
      rows.push(row);
      console.log(
        `${n} agents: up ${row.upS.toFixed(1)} s, no-op up ${row.noopUpS.toFixed(1)} s, destroy ${row.destroyS.toFixed(1)} s (${row.resources} resources)`,
      );
    }
    console.log("\nagents | resources | up (s) | no-op up (s) | destroy (s)");
    for (const r of rows)
      console.log(
        `${r.agents} | ${r.resources} | ${r.upS.toFixed(1)} | ${r.noopUpS.toFixed(1)} | ${r.destroyS.toFixed(1)}`,
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
