import { containerName } from "./spec.js";
import { readScript, shellProgram } from "../hosts/shell.js";
import type { HostLayout } from "../hosts/hostLayout.js";

/**
 * Idle scale-down on Docker hosts: the host-side waker (fleet/scripts/idle-waker.sh) as a
 * program with its parameters, and the systemd unit that runs it on SSH hosts. Pure functions:
 * the fleet writes their text to the host, the unit tests run the very program.
 */

/** Seconds between the waker's passes: a task for an idle-stopped agent waits at most this long. */
export const IDLE_WAKER_INTERVAL_SECONDS = 5;

export interface IdleWakerAgent {
  name: string;
  capabilities: string[];
}

export interface IdleWakerSettings {
  fleet: string;
  layout: Pick<HostLayout, "sharedDir" | "decisionsDir" | "idleWakerState">;
  /**
   * Every agent whose container should run (not `paused`): the idle ones are stopped and woken,
   * the others count as awake takers of shared tasks. A paused agent is left out, so it is never woken.
   */
  agents: IdleWakerAgent[];
  intervalSeconds?: number;
}

/** The waker program (`once` or `loop` is its argument). Deterministic: sorted agents. */
export function idleWakerProgram(s: IdleWakerSettings): string {
  const agents = [...s.agents]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => `${a.name}:${containerName(s.fleet, a.name)}:${[...a.capabilities].sort().join(",")}`);
  return shellProgram(readScript(__dirname, "idle-waker.sh"), {
    AF_SHARED: s.layout.sharedDir,
    AF_DECISIONS: s.layout.decisionsDir,
    AF_STATE: s.layout.idleWakerState,
    AF_AGENTS: agents.join(" "),
    AF_INTERVAL: String(s.intervalSeconds ?? IDLE_WAKER_INTERVAL_SECONDS),
  });
}

/** The systemd unit's name on SSH hosts (one per fleet). */
export function idleWakerUnitName(fleet: string): string {
  return `agent-fleet-${fleet}-idle-waker`;
}

/**
 * The systemd unit: root, after Docker, restarted if it dies, started at boot (so after a reboot
 * idle-stopped agents, which Docker leaves stopped, are woken when work comes).
 */
export function idleWakerUnit(fleet: string, program: string): string {
  return [
    "[Unit]",
    `Description=agent-fleet ${fleet}: idle scale-down waker (stops idle agents, starts them for new tasks)`,
    "After=docker.service",
    "Wants=docker.service",
    "",
    "[Service]",
    `ExecStart=/bin/sh ${program} loop`,
    "Restart=always",
    "RestartSec=5",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
