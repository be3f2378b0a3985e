import * as path from "node:path";
import { docker, type DockerTarget } from "./cli.js";

/**
 * The repository root (the agent image's build context). `__dirname`: the package compiles to
 * CommonJS (no "type": "module"), and vitest and tsx both provide it.
 */
export const REPO_ROOT = path.resolve(__dirname, "../../..");

export const AGENT_IMAGE_TAG = "agent-fleet-test/agent:dev";

export interface AgentImageOptions {
  /** BASE_IMAGE build arg, e.g. the debootstrap base. */
  baseImage: string;
  tag?: string;
  /** Extra --build-arg NAME=VALUE pairs. */
  buildArgs?: Record<string, string>;
  repoRoot?: string;
}

export interface BuiltAgentImage {
  tag: string;
  id: string;
  sizeBytes: number;
  seconds: number;
  /** The build's output, for the log when a test wants it. */
  log: string;
}

/**
 * Builds the agent image from agent-image/Dockerfile with the repository root as context, the
 * classic builder (DOCKER_BUILDKIT=0 comes with the target's environment) and no network.
 * The engine's layer cache makes a warm rebuild a matter of seconds.
 */
export async function buildAgentImage(target: DockerTarget, opts: AgentImageOptions): Promise<BuiltAgentImage> {
  const started = Date.now();
  const root = opts.repoRoot ?? REPO_ROOT;
  const tag = opts.tag ?? AGENT_IMAGE_TAG;
  const args = [
    "build",
    "--force-rm", // a failed step's container would otherwise stay behind
    "--network",
    "none",
    "--file",
    path.join(root, "agent-image", "Dockerfile"),
    "--build-arg",
    `BASE_IMAGE=${opts.baseImage}`,
    ...Object.entries(opts.buildArgs ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    "--tag",
    tag,
    root,
  ];
  const log = await docker(target, args, { timeoutMs: 30 * 60_000 });
  const inspect = await docker(target, ["image", "inspect", "--format", "{{.Id}} {{.Size}}", tag]);
  const [id, size] = inspect.trim().split(" ");
  return { tag, id: id!, sizeBytes: Number(size), seconds: (Date.now() - started) / 1000, log };
}
