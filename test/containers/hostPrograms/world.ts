import { randomBytes } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { inject } from "vitest";
import { dockerContextFiles } from "../../../fleet/buildContext.js";
import { REPO_ROOT } from "../../harness/docker/agentImage.js";
import { docker, dockerEnv, dockerTry, run, type DockerTarget } from "../../harness/docker/index.js";
import { TEST_FLEET_LABEL, TEST_FLEET_PREFIX } from "../constants.js";
import { waitFor } from "../fleet.js";

/**
 * The containers suite's engine (global-setup.ts) as seen from these tests, and a fleet's work
 * folder under /var/tmp (the fleet root, the operator's folder), removed by `cleanup`.
 */
export const WORK_ROOT = process.env.AGENT_FLEET_CTEST_DIR ?? "/var/tmp/agent-fleet-ctest";

/**
 * A frozen copy of the project as the program sees it: the image's build context (the files the
 * .dockerignore allow-list admits) and agents/agent-1. Other work in the repository's tree during
 * a run (runtime edits) would otherwise change the image hash between two evaluations, and with it
 * every container, in the middle of a scenario. Returns the copy's folder.
 */
export function snapshotProject(dest: string, agents: string[] = ["agents/agent-1"]): string {
  for (const rel of [...dockerContextFiles(REPO_ROOT).files, ".dockerignore"]) {
    mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, rel), path.join(dest, rel));
  }
  for (const a of agents) cpSync(path.join(REPO_ROOT, a), path.join(dest, a), { recursive: true });
  return dest;
}

export interface FleetWorld {
  engine: DockerTarget;
  /** Environment for programs that drive the engine (DOCKER_HOST set). */
  env: NodeJS.ProcessEnv;
  baseImage: string;
  /** Fleet name: a test-fleet prefix (global setup removes leftovers) and a random part. */
  fleet: string;
  work: string;
  cleanup(): Promise<void>;
}

export function fleetWorld(kind: string): FleetWorld {
  const ctx = inject("containers");
  const engine = { host: ctx.dockerHost, cli: ctx.dockerCli };
  const fleet = `${TEST_FLEET_PREFIX}${kind}-${randomBytes(3).toString("hex")}`;
  const work = path.join(WORK_ROOT, fleet);
  mkdirSync(work, { recursive: true });
  return {
    engine,
    env: dockerEnv(engine),
    baseImage: ctx.baseImage,
    fleet,
    work,
    async cleanup() {
      const ids = (await docker(engine, ["ps", "-aq", "--filter", `label=${TEST_FLEET_LABEL}=${fleet}`]))
        .split("\n")
        .filter(Boolean);
      if (ids.length > 0) await dockerTry(engine, ["rm", "-f", ...ids], { timeoutMs: 120_000 });
      const images = (await docker(engine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${fleet}/agent`]))
        .split("\n")
        .filter(Boolean);
      if (images.length > 0) await dockerTry(engine, ["image", "rm", ...images], { timeoutMs: 120_000 });
      if (process.env.AGENT_FLEET_KEEP_CTEST !== "1") await run("rm", ["-rf", "--one-file-system", work]);
    },
  };
}

/**
 * Agent images of host-programs fleets left by an interrupted run (`<fleet>/agent:<hash>`; a
 * finished run removes its own). Containers are removed by the suite's global setup.
 */
export async function removeStaleFleetImages(engine: DockerTarget, kind: string): Promise<void> {
  const refs = (await docker(engine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]))
    .split("\n")
    .filter((ref) => ref.startsWith(`${TEST_FLEET_PREFIX}${kind}-`) && /^[^/]+\/agent:/.test(ref));
  if (refs.length > 0) await dockerTry(engine, ["image", "rm", ...refs], { timeoutMs: 120_000 });
}

export async function containerState(
  engine: DockerTarget,
  name: string,
): Promise<{ running: boolean; status: string; health: string; id: string } | undefined> {
  const r = await dockerTry(engine, [
    "inspect",
    "--format",
    "{{.State.Running}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Id}}",
    name,
  ]);
  if (r.code !== 0) {
    if (/No such (object|container)/i.test(r.stderr)) return undefined;
    throw new Error(`docker inspect ${name}: ${r.stderr}`);
  }
  const [running, status, health, id] = r.stdout.trim().split(" ");
  return { running: running === "true", status: status!, health: health!, id: id! };
}

export function waitHealthy(engine: DockerTarget, name: string): Promise<true> {
  return waitFor(
    `${name} to be healthy`,
    async () => {
      const s = await containerState(engine, name);
      if (s?.health === "unhealthy" || (s && s.status === "exited")) {
        const logs = await dockerTry(engine, ["logs", "--tail", "40", name]);
        throw new Error(`${name} is ${s.health}/${s.status}:\n${logs.stdout}${logs.stderr}`);
      }
      return s?.health === "healthy" ? true : undefined;
    },
    240_000,
    500,
  );
}
