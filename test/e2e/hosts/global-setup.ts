/**
 * The real-CLI scenarios' world, shared by all of them (collected only where the machine has the
 * command provider and the Node.js language host; see test/harness/engine/hostPieces.ts): one
 * private Docker engine (instance "e2e", its data root kept between runs so the agent image's
 * layers stay cached) and the offline Debian base image the stacks build their agent image from.
 */
import type { TestProject } from "vitest/node";
import { buildBaseImage, docker, dockerTry, ensureDockerEngine } from "../../harness/docker/index.js";
import { E2E_FLEET_LABEL, E2E_FLEET_PREFIX } from "./world.js";

export interface HostsContext {
  dockerHost: string;
  dockerCli: string;
  baseImage: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    hosts: HostsContext;
  }
}

/** Containers of scenarios an interrupted run left behind (they hold names and restart with the engine). */
async function removeLeftovers(target: { host: string; cli: string }): Promise<void> {
  const rows = await docker(target, [
    "ps",
    "-a",
    "--filter",
    `label=${E2E_FLEET_LABEL}`,
    "--format",
    `{{.ID}} {{.Label "${E2E_FLEET_LABEL}"}}`,
  ]);
  const ids = rows
    .split("\n")
    .map((l) => l.split(" "))
    .filter(([id, fleet]) => id && fleet?.startsWith(E2E_FLEET_PREFIX))
    .map(([id]) => id!);
  if (ids.length > 0) await dockerTry(target, ["rm", "-f", "-v", ...ids], { timeoutMs: 120_000 });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const engine = await ensureDockerEngine({ instance: "e2e" });
  try {
    await removeLeftovers(engine);
    const base = await buildBaseImage(engine);
    process.stderr.write(
      `[e2e-hosts] docker engine ${engine.host} and base image ${base.tag} (${base.action}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    project.provide("hosts", { dockerHost: engine.host, dockerCli: engine.cli, baseImage: base.tag });
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return async () => {
    await removeLeftovers(engine);
    // Dangling layers of earlier agent images are full copies on vfs; keep a day's worth as cache.
    await dockerTry(engine, ["image", "prune", "--force", "--filter", "until=24h"], { timeoutMs: 300_000 });
    await engine.stop();
  };
}
