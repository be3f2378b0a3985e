import type { TestProject } from "vitest/node";
import { buildAgentImage, buildBaseImage, docker, dockerTry, ensureDockerEngine } from "../harness/docker/index.js";
import { TEST_FLEET_LABEL, TEST_FLEET_PREFIX } from "./constants.js";

/**
 * The container suite's world: a private Docker engine (Debian's dockerd, its own socket and
 * data root), an offline Debian base image, and the agent image built from agent-image/Dockerfile
 * with BASE_IMAGE pointing at that base. Anything that cannot be had fails the suite loudly:
 * there is no skip path.
 */
export interface ContainerSuiteContext {
  dockerHost: string;
  dockerCli: string;
  image: string;
  baseImage: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    containers: ContainerSuiteContext;
  }
}

async function removeTestContainers(target: { host: string; cli: string }): Promise<void> {
  const rows = await docker(target, [
    "ps",
    "-a",
    "--filter",
    `label=${TEST_FLEET_LABEL}`,
    "--format",
    `{{.ID}} {{.Label "${TEST_FLEET_LABEL}"}}`,
  ]);
  const ids = rows
    .split("\n")
    .map((l) => l.split(" "))
    .filter(([id, fleet]) => id && fleet?.startsWith(TEST_FLEET_PREFIX))
    .map(([id]) => id!);
  if (ids.length > 0) await dockerTry(target, ["rm", "-f", "-v", ...ids], { timeoutMs: 120_000 });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const engine = await ensureDockerEngine({ instance: "containers" });
  console.log(
    `[containers] engine ${engine.host} ${engine.startedHere ? `started in ${((Date.now() - t0) / 1000).toFixed(1)} s` : "reused"}`,
  );
  try {
    // Containers left by an interrupted run would hold names and restart with the engine.
    await removeTestContainers(engine);
    const base = await buildBaseImage(engine);
    console.log(`[containers] base image ${base.tag}: ${base.action} in ${base.seconds.toFixed(1)} s`);
    const image = await buildAgentImage(engine, { baseImage: base.tag });
    console.log(
      `[containers] agent image ${image.tag}: ${(image.sizeBytes / 1e6).toFixed(0)} MB, built in ${image.seconds.toFixed(1)} s`,
    );
    // Earlier builds' images stay behind as dangling layers (full copies on vfs); drop the stale
    // ones, keep a day's worth as build cache.
    await dockerTry(engine, ["image", "prune", "--force", "--filter", "until=24h"], { timeoutMs: 300_000 });
    project.provide("containers", {
      dockerHost: engine.host,
      dockerCli: engine.cli,
      image: image.tag,
      baseImage: base.tag,
    });
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return async () => {
    await removeTestContainers(engine);
    await engine.stop();
  };
}
