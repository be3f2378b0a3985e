/**
 * Container create -> healthy for the agent image, split into what the storage driver costs and
 * what the container itself costs (part of `npm run bench`; also on its own:
 * `node --import tsx test/bench/containerStart.ts [count] [--base TAG]`, where TAG is another base
 * image already in the engine, to compare with).
 *
 * On the containers suite's private engine (test/harness/docker: Debian's dockerd with the vfs
 * storage driver, the offline base image, the agent image built from agent-image/Dockerfile),
 * `count` agent containers (default 3), one after another, each from the real container spec
 * (fleet/spec.ts) with the fleet's folders as on a host:
 * - `docker create` (client wall time): on vfs a full copy of the image's file system (twice:
 *   the init layer and the container's own layer);
 * - `docker start` (client wall time);
 * - started -> the runtime's first status file (its `started_at`): the runtime's own start;
 * - started -> first passing health check (Docker's health log): the HEALTHCHECK interval on top.
 * Prints one line per container and a JSON line; figures only, nothing is asserted. Exit 0 with
 * a "skipped" line when the machine has no dockerd or docker CLI. The engine is shared with the
 * container suites: run it when they are not running.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { DEFAULT_NETWORK, DEFAULT_RESOURCES } from "../../config/defaults.js";
import { containerSpec, dockerRunArgs } from "../../fleet/spec.js";
import { hostLayout } from "../../hosts/hostLayout.js";
import {
  buildAgentImage,
  buildBaseImage,
  docker,
  dockerTry,
  ensureDockerEngine,
  run,
  type DockerTarget,
} from "../harness/docker/index.js";
import { REPO_ROOT } from "../harness/docker/agentImage.js";
import { TEST_FLEET_LABEL, TEST_FLEET_PREFIX } from "../containers/constants.js";

export interface ContainerStartFigures {
  imageMB: number;
  containers: Array<{ createS: number; startS: number; runtimeS: number; healthyS: number; totalS: number }>;
  /** The container with the median create -> healthy time. */
  median: { createS: number; startS: number; runtimeS: number; healthyS: number; totalS: number };
  /** Share of create -> healthy spent in `docker create` (the storage driver's copy). */
  createShare: number;
  storageDriver: string;
}

const WORK_ROOT = process.env.AGENT_FLEET_CTEST_DIR ?? "/var/tmp/agent-fleet-ctest";

async function missingDocker(): Promise<string | undefined> {
  const missing: string[] = [];
  for (const bin of [process.env.AGENT_FLEET_DOCKERD ?? "dockerd", "docker"]) {
    const r = await run("sh", ["-c", 'command -v "$1"', "sh", bin]);
    if (r.code !== 0) missing.push(bin);
  }
  return missing.length > 0 ? missing.join(", ") : undefined;
}

async function waitHealthy(target: DockerTarget, name: string, timeoutMs = 180_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = JSON.parse(await docker(target, ["inspect", name]))[0];
    const status = c.State.Health?.Status;
    if (status === "healthy") return c;
    if (status === "unhealthy" || Date.now() > until) {
      const logs = await dockerTry(target, ["logs", "--tail", "20", name]);
      throw new Error(`${name} is ${status ?? "without health"}:\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Returns undefined (after printing why) when the machine has no Docker engine to start. */
export async function containerStart(
  count = 3,
  opts: { baseImage?: string } = {},
): Promise<ContainerStartFigures | undefined> {
  const missing = await missingDocker();
  if (missing) {
    console.log(`container create -> healthy: skipped (no ${missing} on this machine)`);
    return undefined;
  }
  const engine = await ensureDockerEngine({ instance: "containers" });
  const fleet = `${TEST_FLEET_PREFIX}bench-${randomBytes(3).toString("hex")}`;
  const root = path.join(WORK_ROOT, fleet);
  try {
    // Another base image (already in the engine) to compare with: the agent image built on it gets a tag of its own.
    const image = opts.baseImage
      ? await buildAgentImage(engine, { baseImage: opts.baseImage, tag: "agent-fleet-test/agent:bench-other-base" })
      : await buildAgentImage(engine, { baseImage: (await buildBaseImage(engine)).tag });
    const storageDriver = (await docker(engine, ["info", "--format", "{{.Driver}}"])).trim();
    const layout = hostLayout(path.join(root, "srv"));
    for (const d of [layout.agentsDir, layout.sharedDir, layout.decisionsDir, layout.secretsDir]) {
      mkdirSync(d, { recursive: true, mode: 0o755 });
    }
    const rows: ContainerStartFigures["containers"] = [];
    for (let i = 1; i <= count; i++) {
      const agent = `agent-${i}`;
      cpSync(path.join(REPO_ROOT, "agents", "agent-1"), layout.agentCodeDir(agent), { recursive: true });
      const spec = containerSpec({
        name: agent,
        fleet,
        image: image.tag,
        hostRoot: layout.root,
        approvalRequired: true,
        network: DEFAULT_NETWORK,
        capabilities: [],
        env: {},
        hasSecrets: false,
        resources: DEFAULT_RESOURCES,
      });
      const [verb, detach, ...rest] = dockerRunArgs(spec);
      if (verb !== "run" || detach !== "--detach") throw new Error(`unexpected docker run argv: ${verb} ${detach}`);
      let t = Date.now();
      await docker(engine, ["create", ...rest], { timeoutMs: 600_000 });
      const createS = (Date.now() - t) / 1000;
      t = Date.now();
      await docker(engine, ["start", spec.name], { timeoutMs: 120_000 });
      const startS = (Date.now() - t) / 1000;
      const c = await waitHealthy(engine, spec.name);
      const startedAt = Date.parse(c.State.StartedAt);
      const log: Array<{ Start: string; End: string; ExitCode: number }> = c.State.Health.Log;
      const ok = log.find((l) => l.ExitCode === 0 && Date.parse(l.Start) >= startedAt)!;
      const status = JSON.parse(readFileSync(path.join(layout.sharedDir, "agents", agent, "status.json"), "utf8"));
      const runtimeS = (Date.parse(status.started_at) - startedAt) / 1000;
      const healthyS = (Date.parse(ok.End) - startedAt) / 1000;
      const row = { createS, startS, runtimeS, healthyS, totalS: createS + startS + healthyS };
      rows.push(row);
      console.log(
        `container ${i}/${count}: docker create ${createS.toFixed(1)} s, docker start ${startS.toFixed(1)} s, ` +
          `started -> runtime's first status ${runtimeS.toFixed(1)} s, started -> healthy ${healthyS.toFixed(1)} s; ` +
          `create -> healthy ${row.totalS.toFixed(1)} s`,
      );
    }
    // The container whose create -> healthy is the median one, so that its parts add up.
    const med = [...rows].sort((a, b) => a.totalS - b.totalS)[Math.floor(rows.length / 2)]!;
    const figures: ContainerStartFigures = {
      imageMB: Math.round(image.sizeBytes / 1e6),
      containers: rows,
      median: med,
      createShare: Number((med.createS / med.totalS).toFixed(3)),
      storageDriver,
    };
    console.log(
      `container create -> healthy (${storageDriver}, image ${figures.imageMB} MB${opts.baseImage ? ` on ${opts.baseImage}` : ""}, the median of ${count}): ` +
        `${med.totalS.toFixed(1)} s = docker create ${med.createS.toFixed(1)} s (${(figures.createShare * 100).toFixed(0)} %, ` +
        `${(figures.imageMB / med.createS).toFixed(0)} MB/s of image) + docker start ${med.startS.toFixed(1)} s + ` +
        `started -> healthy ${med.healthyS.toFixed(1)} s (runtime's first status at ${med.runtimeS.toFixed(1)} s)`,
    );
    return figures;
  } finally {
    const ids = (await docker(engine, ["ps", "-aq", "--filter", `label=${TEST_FLEET_LABEL}=${fleet}`]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await dockerTry(engine, ["rm", "-f", ...ids], { timeoutMs: 300_000 });
    await run("rm", ["-rf", "--one-file-system", root]);
    await engine.stop();
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const base = argv.indexOf("--base");
  const baseImage = base >= 0 ? argv[base + 1] : undefined;
  if (base >= 0) argv.splice(base, 2);
  containerStart(Number(argv[0] ?? 3), { baseImage }).then(
    (f) => {
      if (f) console.log(JSON.stringify(f));
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}
