import { quote } from "shell-quote";
import { CONTAINER_PATHS } from "../contract/paths.js";
import { RUNTIME_CAPABILITIES } from "../contract/capabilities.js";
import { runtimeEnvironment, type AgentBudget } from "../contract/env.js";
import type { AgentResources } from "../config/defaults.js";
import { hostLayout } from "../hosts/hostLayout.js";

/**
 * The container spec of one agent: a pure function of that agent's settings.
 *
 * The Pulumi layer puts this object into the triggers of the agent's container resource, so
 * `pulumi preview` shows exactly which agents change (e.g. when autonomy flips) and leaves the
 * others untouched. The container tests run the very same spec against a real Docker engine.
 * Keep it deterministic: no timestamps, no randomness, sorted maps.
 */

/** One agent's settings, as the config layer resolves them (defaults applied). */
export interface AgentContainerSettings {
  /** Agent name: a lowercase DNS label, unique in the fleet. */
  name: string;
  /** Fleet name; prefixes container names so several fleets can share a host. */
  fleet: string;
  /** Image reference (a tag built on the host, or a registry reference). */
  image: string;
  /** Root of the fleet's files on the host (see hostLayout.ts). */
  hostRoot: string;
  approvalRequired: boolean;
  capabilities: string[];
  /** Plain environment for the agent program. Secrets never go here. */
  env: Record<string, string>;
  /** True when the agent has secrets: they reach it only through `<root>/secrets/<name>.env`. */
  hasSecrets: boolean;
  resources: AgentResources;
  /** Per-task time budget for the agent program; the runtime's default when absent. */
  taskTimeoutSeconds?: number;
  /** Spending limits (AGENT_BUDGET_USD_PER_DAY / _PER_TASK); none when absent. */
  budget?: AgentBudget;
  /** Distinct human approvers per proposal (AGENT_REVIEW_APPROVALS); one when absent. */
  reviewApprovals?: number;
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface Tmpfs {
  target: string;
  /** Mount options, e.g. "rw,nosuid,nodev,size=256m,mode=1777". */
  options: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  hostname: string;
  /**
   * The runtime runs as root inside the container (it writes /app and reads /decisions) and
   * runs every agent program as the unprivileged `agent` user of the image.
   */
  user: string;
  /** Sorted by key. */
  env: Record<string, string>;
  /** Host path of the secrets env-file, when the agent has secrets. */
  envFile?: string;
  mounts: Mount[];
  tmpfs: Tmpfs[];
  readOnlyRootFs: boolean;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  cpus: number;
  memoryMb: number;
  pidsLimit: number;
  logDriver: string;
  logOptions: Record<string, string>;
  restart: string;
  /** Sorted by key. */
  labels: Record<string, string>;
}

export function containerName(fleet: string, agent: string): string {
  return `${fleet}-${agent}`;
}

export function containerSpec(s: AgentContainerSettings): ContainerSpec {
  const layout = hostLayout(s.hostRoot);
  const name = containerName(s.fleet, s.name);
  return {
    name,
    image: s.image,
    hostname: s.name,
    user: "root",
    env: runtimeEnvironment(s),
    ...(s.hasSecrets ? { envFile: layout.secretsFile(s.name) } : {}),
    mounts: [
      { source: layout.agentCodeDir(s.name), target: CONTAINER_PATHS.app, readOnly: false },
      { source: layout.sharedDir, target: CONTAINER_PATHS.shared, readOnly: false },
      { source: layout.decisionsDir, target: CONTAINER_PATHS.decisions, readOnly: true },
    ],
    tmpfs: [
      { target: "/tmp", options: "rw,nosuid,nodev,noexec,size=64m,mode=1777" },
      { target: CONTAINER_PATHS.scratch, options: "rw,nosuid,nodev,exec,size=512m,mode=1777" },
    ],
    readOnlyRootFs: true,
    capDrop: ["ALL"],
    capAdd: [...RUNTIME_CAPABILITIES],
    securityOpt: ["no-new-privileges"],
    cpus: s.resources.cpus,
    memoryMb: s.resources.memoryMb,
    pidsLimit: s.resources.pids,
    logDriver: "json-file",
    logOptions: { "max-file": "3", "max-size": "10m" },
    restart: "unless-stopped",
    labels: sortKeys({
      "agent-fleet.agent": s.name,
      "agent-fleet.fleet": s.fleet,
    }),
  };
}

/**
 * `docker run` arguments (after `docker`) for a spec, detached. No port is ever published and
 * no Docker socket is ever mounted: neither can be expressed in a ContainerSpec.
 */
export function dockerRunArgs(spec: ContainerSpec): string[] {
  const args = ["run", "--detach", "--name", spec.name, "--hostname", spec.hostname, "--user", spec.user];
  for (const [k, v] of Object.entries(spec.env)) args.push("--env", `${k}=${v}`);
  if (spec.envFile) args.push("--env-file", spec.envFile);
  for (const m of spec.mounts) {
    args.push("--mount", `type=bind,source=${m.source},target=${m.target}${m.readOnly ? ",readonly" : ""}`);
  }
  for (const t of spec.tmpfs) args.push("--tmpfs", `${t.target}:${t.options}`);
  if (spec.readOnlyRootFs) args.push("--read-only");
  for (const c of spec.capDrop) args.push("--cap-drop", c);
  for (const c of spec.capAdd) args.push("--cap-add", c);
  for (const o of spec.securityOpt) args.push("--security-opt", o);
  args.push(
    "--cpus",
    String(spec.cpus),
    "--memory",
    `${spec.memoryMb}m`,
    "--memory-swap",
    `${spec.memoryMb}m`,
    "--pids-limit",
    String(spec.pidsLimit),
    "--log-driver",
    spec.logDriver,
  );
  for (const [k, v] of Object.entries(spec.logOptions)) args.push("--log-opt", `${k}=${v}`);
  args.push("--restart", spec.restart);
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  args.push(spec.image);
  return args;
}

/** The same as one shell command line, quoted by shell-quote (never by hand). */
export function dockerRunCommand(spec: ContainerSpec, docker = "docker"): string {
  return quote([docker, ...dockerRunArgs(spec)]);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
