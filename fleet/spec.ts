import { quote } from "shell-quote";
import { CONTAINER_PATHS } from "../contract/paths.js";
import { RUNTIME_CAPABILITIES } from "../contract/capabilities.js";
import { EGRESS, egressTargetString, type NetworkSetting } from "../contract/egress.js";
import { ENV, runtimeEnvironment, type AgentBudget, type AgentReviewers } from "../contract/env.js";
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
  /** May propose binary files and symlinks (AGENT_ALLOW_BINARY); absent: the runtime's default (false). */
  allowBinary?: boolean;
  /** Network access (config default: DEFAULT_NETWORK, see config/defaults.ts). */
  network: NetworkSetting;
  /** Shared projects this agent works on: each is mounted at /projects/<name>, no other is. */
  projects?: string[];
  /** Spending limits (AGENT_BUDGET_USD_PER_DAY / _PER_TASK); none when absent. */
  budget?: AgentBudget;
  /** Distinct human approvers per proposal (AGENT_REVIEW_APPROVALS); one when absent. */
  reviewApprovals?: number;
  /** A coordinator (AGENT_CAN_CREATE_TASKS); absent: the default (false). */
  canCreateTasks?: boolean;
  /** Reviewer agents of its proposals (AGENT_REVIEWERS, AGENT_REVIEW_QUORUM); none when absent. */
  reviewers?: AgentReviewers;
  /** Idle scale-down after this many minutes with nothing to claim (AGENT_IDLE_AFTER_SECONDS); never when absent. */
  idleAfterMinutes?: number;
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

/** A port published on the host: only ever on a loopback address (dockerRunArgs refuses others). */
export interface PublishedPort {
  hostIp: "127.0.0.1";
  hostPort: number;
  containerPort: number;
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
  /**
   * `none` (loopback only: agents with network none or an allow-list), `bridge` (the host's
   * default network: network full, and the egress proxy) or the console's own network
   * (fleet/console.ts). The engines here run without iptables,
   * so isolation must not rest on Docker networks' firewall rules: `none` has no route at all.
   */
  network: "none" | "bridge" | (string & {});
  /** The allow-list the egress proxy enforces for this agent (canonical host:port, sorted). */
  egressAllow?: string[];
  /** Sorted by key. */
  labels: Record<string, string>;
  /**
   * The console container only (fleet/console.ts); an agent's spec never has these: a port on
   * the host's loopback, an extra group (for its operator socket), its own health check.
   */
  publish?: PublishedPort[];
  groupAdd?: number[];
  health?: { command: string; intervalSeconds: number };
  /** Command after the image (default: the image's CMD, the agent runtime). */
  command?: string[];
}

export function containerName(fleet: string, agent: string): string {
  return `${fleet}-${agent}`;
}

/** Name of a fleet's egress proxy container. */
export function egressContainerName(fleet: string): string {
  return `${fleet}-egress`;
}

export function containerSpec(s: AgentContainerSettings): ContainerSpec {
  const layout = hostLayout(s.hostRoot);
  const name = containerName(s.fleet, s.name);
  const allow = s.network.mode === "allow" ? s.network.allow.map(egressTargetString).sort() : undefined;
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
      // Read-only: connecting to the socket needs no write access to the folder.
      ...(allow ? [{ source: layout.agentEgressDir(s.name), target: CONTAINER_PATHS.egress, readOnly: true }] : []),
      ...[...(s.projects ?? [])].sort().map((p) => ({
        source: layout.projectDir(p),
        target: `${CONTAINER_PATHS.projects}/${p}`,
        readOnly: false,
      })),
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
    network: s.network.mode === "full" ? "bridge" : "none",
    ...(allow ? { egressAllow: allow } : {}),
    labels: sortKeys({
      "agent-fleet.agent": s.name,
      "agent-fleet.fleet": s.fleet,
    }),
  };
}

/** What the fleet's egress proxy needs: the fleet, its image and root, and every agent's setting. */
export interface EgressProxySettings {
  fleet: string;
  image: string;
  hostRoot: string;
  agents: { name: string; network: NetworkSetting }[];
}

/**
 * The fleet's egress proxy container (`<fleet>-egress`), or undefined when no agent has an
 * allow-list. It runs the agent image's `egress-proxy` on the host's default network, with the
 * same hardening as an agent (read-only root, no capabilities at all, no-new-privileges) and
 * `<root>/egress` mounted: one socket folder per allow-listed agent.
 */
export function egressProxySpec(s: EgressProxySettings): ContainerSpec | undefined {
  const rules = Object.fromEntries(
    s.agents
      .filter((a) => a.network.mode === "allow")
      .map((a) => [a.name, a.network.mode === "allow" ? a.network.allow.map(egressTargetString).sort() : []] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  if (Object.keys(rules).length === 0) return undefined;
  const layout = hostLayout(s.hostRoot);
  const name = egressContainerName(s.fleet);
  return {
    name,
    image: s.image,
    hostname: "egress",
    user: "root",
    env: sortKeys({ [ENV.egressDir]: CONTAINER_PATHS.egress, [ENV.egressRules]: JSON.stringify(rules) }),
    mounts: [{ source: layout.egressDir, target: CONTAINER_PATHS.egress, readOnly: false }],
    tmpfs: [{ target: "/tmp", options: "rw,nosuid,nodev,noexec,size=16m,mode=1777" }],
    readOnlyRootFs: true,
    // Root creating sockets in root-owned folders needs no capability at all.
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges"],
    cpus: 0.5,
    memoryMb: 128,
    pidsLimit: 64,
    logDriver: "json-file",
    logOptions: { "max-file": "3", "max-size": "10m" },
    restart: "unless-stopped",
    network: "bridge",
    labels: sortKeys({ "agent-fleet.fleet": s.fleet, "agent-fleet.role": "egress" }),
    command: ["egress-proxy"],
  };
}

export { EGRESS };

/**
 * `docker run` arguments (after `docker`) for a spec, detached. No Docker socket is ever mounted
 * (a ContainerSpec cannot express it), and a port is only ever published on the host's loopback
 * (the console's: agents publish none).
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
  // `bridge` is the engine's default: no flag, so a `full` agent's command is what it was before.
  // Anything else is `none` or a network of the fleet's own (the console's).
  if (spec.network !== "bridge") args.push("--network", spec.network);
  for (const [k, v] of Object.entries(spec.labels)) args.push("--label", `${k}=${v}`);
  for (const p of spec.publish ?? []) {
    if (p.hostIp !== "127.0.0.1")
      throw new Error(`${spec.name}: a port is only published on 127.0.0.1, got ${p.hostIp}`);
    args.push("--publish", `${p.hostIp}:${p.hostPort}:${p.containerPort}`);
  }
  for (const g of spec.groupAdd ?? []) args.push("--group-add", String(g));
  if (spec.health) {
    args.push("--health-cmd", spec.health.command, "--health-interval", `${spec.health.intervalSeconds}s`);
  }
  args.push(spec.image, ...(spec.command ?? []));
  return args;
}

/** The same as one shell command line, quoted by shell-quote (never by hand). */
export function dockerRunCommand(spec: ContainerSpec, docker = "docker"): string {
  return quote([docker, ...dockerRunArgs(spec)]);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
