import type { NetworkSetting } from "../contract/egress.js";

/**
 * Defaults of the settings every target shares, defined once: the config applies them, the
 * components (SshHost, ExoscaleVps, DockerHostFleet) fall back to them, and Pulumi.yaml mirrors
 * the top-level ones (a unit test keeps them in step). Each target's own defaults live in its
 * folder (targets/<name>/config.ts).
 */

/** CPU share, memory limit (MiB, also the swap limit) and process limit of one agent's container. */
export interface AgentResources {
  /** CPU share, e.g. 0.5 or 2. */
  cpus: number;
  /** Memory limit in MiB (also the swap limit: no swap beyond it). */
  memoryMb: number;
  /** Maximum number of processes/threads in the container. */
  pids: number;
}

export const DEFAULT_RESOURCES: AgentResources = { cpus: 1, memoryMb: 1024, pids: 256 };

/**
 * An agent's network access when neither the agent nor the fleet sets `network`: loopback only.
 * Containers hold secrets (model API keys); an agent that can reach any address can send them
 * anywhere, so reaching out is something a stack asks for, per endpoint ("host:port" allow-list),
 * or, knowingly, `full`. See docs/program.md (Egress).
 */
export const DEFAULT_NETWORK: NetworkSetting = { mode: "none" };

/** Root of the fleet's files on a remote Docker host (vps, exoscale). */
export const DEFAULT_REMOTE_ROOT = "/srv/agent-fleet";

export const DEFAULTS = {
  approvalRequired: true,
  paused: false,
  purgeOnDestroy: false,
  sshUser: "ops",
  sshPort: 22,
} as const;
