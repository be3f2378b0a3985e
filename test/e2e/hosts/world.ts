/**
 * One real-CLI scenario's world: a project copy with its own stack (test/harness/engine/cliProject.ts)
 * under a work folder, a fleet name the global setup recognises as a leftover, the Docker engine of
 * the hosts global setup, and a cleanup that destroys and removes the stack and then removes
 * whatever the fleet left in the engine and the work folder.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { inject } from "vitest";
import { docker, dockerEnv, dockerTry, run, type DockerTarget } from "../../harness/docker/index.js";
import { CliStack, copyProject } from "../../harness/engine/cliProject.js";
import { TEST_FLEET_LABEL } from "../../containers/constants.js";

/** The label the program puts on every agent container (its value: the fleet name). */
export const E2E_FLEET_LABEL = TEST_FLEET_LABEL;
/** Fleet (and stack) names of these scenarios start with this; the global setup removes leftovers. */
export const E2E_FLEET_PREFIX = "e2e-";

export const E2E_WORK_ROOT = process.env.AGENT_FLEET_E2E_DIR ?? "/var/tmp/agent-fleet-e2e";

export interface HostsWorld {
  engine: DockerTarget;
  /** DOCKER_HOST for the CLI (and so for the command provider's local commands) and for the tests' docker calls. */
  dockerEnv: Record<string, string>;
  baseImage: string;
  fleet: string;
  work: string;
  projectDir: string;
  stack: CliStack;
  cleanup(): Promise<void>;
}

/**
 * `own`: an engine (and base image on it) the scenario brought itself, instead of the suite's
 * (e.g. one with a bridge, for containers on the engine's default network).
 */
export function hostsWorld(
  kind: string,
  env: Record<string, string> = {},
  own?: { engine: DockerTarget; baseImage: string },
): HostsWorld {
  const ctx = inject("hosts");
  const engine = own?.engine ?? { host: ctx.dockerHost, cli: ctx.dockerCli };
  const fleet = `${E2E_FLEET_PREFIX}${kind}-${randomBytes(3).toString("hex")}`;
  const work = path.join(E2E_WORK_ROOT, fleet);
  mkdirSync(work, { recursive: true });
  const projectDir = copyProject(path.join(work, "project"));
  const denv = dockerEnv(engine);
  const dockerVars = { DOCKER_HOST: denv.DOCKER_HOST!, DOCKER_BUILDKIT: denv.DOCKER_BUILDKIT! };
  const stack = new CliStack({
    engine: inject("engine"),
    projectDir,
    stackName: fleet,
    env: { ...dockerVars, ...env },
  });
  return {
    engine,
    dockerEnv: dockerVars,
    baseImage: own?.baseImage ?? ctx.baseImage,
    fleet,
    work,
    projectDir,
    stack,
    async cleanup() {
      try {
        await stack.remove();
      } finally {
        const ids = (await docker(engine, ["ps", "-aq", "--filter", `label=${E2E_FLEET_LABEL}=${fleet}`]))
          .split("\n")
          .filter(Boolean);
        if (ids.length > 0) await dockerTry(engine, ["rm", "-f", ...ids], { timeoutMs: 120_000 });
        const images = (await docker(engine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${fleet}/agent`]))
          .split("\n")
          .filter(Boolean);
        if (images.length > 0) await dockerTry(engine, ["image", "rm", ...images], { timeoutMs: 120_000 });
        if (process.env.AGENT_FLEET_KEEP_E2E !== "1") await run("rm", ["-rf", "--one-file-system", work]);
      }
    },
  };
}

/** Container id per agent container name (only existing containers). */
export async function containerIds(engine: DockerTarget, names: string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    const r = await dockerTry(engine, ["inspect", "--format", "{{.Id}}", name]);
    out[name] = r.code === 0 ? r.stdout.trim() : undefined;
  }
  return out;
}

/** Agent names whose resources a preview replaces (URN names `fleet-<agent>-...`). */
export function replacedAgents(steps: { op: string; urn: string }[], agents: string[]): string[] {
  const replaced = steps
    .filter((s) => s.op === "replace" || s.op === "create-replacement")
    .map((s) => s.urn.split("::").pop()!);
  return agents.filter((a) => replaced.some((name) => name.startsWith(`fleet-${a}-`)));
}
