import { quote } from "shell-quote";
import { CONSOLE_NAME, CONSOLE_PATHS, consoleTokenProblem } from "../contract/console.js";
import { ENV } from "../contract/env.js";
import { normalizeNotifySink, notifySinkProblems, NOTIFY_PATHS, type NotifyFile } from "../contract/notify.js";
import { CONTAINER_PATHS } from "../contract/paths.js";
import { hostLayout } from "../hosts/hostLayout.js";
import { containerRemoveProgram } from "./containerCommands.js";
import type { ContainerSpec } from "./spec.js";

/**
 * The review console on a Docker host: its own container `<fleet>-console` running `agentctl serve`
 * from the agent image. It is the only container besides the operator's `agentctl` that writes
 * decisions (the agents mount them read-only), it sits on a network of its own (no agent can
 * reach it), and its port is published on the host's 127.0.0.1 only: the operator reaches it
 * through an SSH tunnel. Pure functions of the settings, tested directly.
 */

export interface ConsoleSettings {
  fleet: string;
  image: string;
  /** Root of the fleet's files on the host (see hostLayout.ts). */
  hostRoot: string;
  /** Port inside the container and on the host's 127.0.0.1. */
  port: number;
  /**
   * The group that may use the operator socket besides root: the local machine's operator (who
   * runs Pulumi and owns the fleet's folder). None on SSH hosts: there the operator uses sudo.
   */
  socketGroup?: number;
  /** The console delivers notifications (its sinks file is written next to the tokens). */
  notify?: boolean;
}

export function consoleContainerName(fleet: string): string {
  return `${fleet}-${CONSOLE_NAME}`;
}

/** The console's own bridge network: the agents' containers are not on it. */
export function consoleNetworkName(fleet: string): string {
  return `${fleet}-${CONSOLE_NAME}`;
}

/** Resources of the console container: a Node.js HTTP server over files. */
export const CONSOLE_RESOURCES = { cpus: 0.5, memoryMb: 256, pids: 64 } as const;
/** Seconds between the console container's health checks (GET /api/v1/health). */
export const CONSOLE_HEALTH_INTERVAL_SECONDS = 30;

/**
 * `agentctl serve` as the console container (or Fargate task) runs it. In a container of its own
 * network it listens on every interface there (Docker forwards the host's 127.0.0.1:PORT to it);
 * on Fargate on the task's loopback only (the SSM port forward connects there).
 */
export function consoleServeCommand(listen: string, extra: string[] = []): string[] {
  return ["agentctl", "serve", "--listen", listen, "--tokens", CONSOLE_PATHS.tokens, ...extra];
}

/** The serve arguments that turn notifications on. */
export const CONSOLE_NOTIFY_ARGS = ["--notify", NOTIFY_PATHS.file] as const;

/** A health check that needs nothing but the image's Node.js. */
export function consoleHealthCommand(port: number): string {
  const url = `http://127.0.0.1:${port}/api/v1/health`;
  return `node -e "require('http').get('${url}',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"`;
}

export function consoleSpec(s: ConsoleSettings): ContainerSpec {
  const layout = hostLayout(s.hostRoot);
  const name = consoleContainerName(s.fleet);
  const socketArgs = [
    "--operator-socket",
    CONSOLE_PATHS.socket,
    ...(s.socketGroup !== undefined ? ["--operator-socket-group", String(s.socketGroup)] : []),
  ];
  return {
    name,
    image: s.image,
    hostname: "console",
    // Root without capabilities: it writes the decisions and shared folders, which root owns.
    user: "root",
    env: { [ENV.decisionsDir]: CONTAINER_PATHS.decisions, [ENV.sharedDir]: CONTAINER_PATHS.shared },
    mounts: [
      { source: layout.sharedDir, target: CONTAINER_PATHS.shared, readOnly: false },
      { source: layout.decisionsDir, target: CONTAINER_PATHS.decisions, readOnly: false },
      { source: layout.consoleDir, target: "/run/console", readOnly: true },
      { source: layout.runDir, target: CONSOLE_PATHS.socketDir, readOnly: false },
    ],
    tmpfs: [{ target: "/tmp", options: "rw,nosuid,nodev,noexec,size=16m,mode=1777" }],
    readOnlyRootFs: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges"],
    cpus: CONSOLE_RESOURCES.cpus,
    memoryMb: CONSOLE_RESOURCES.memoryMb,
    pidsLimit: CONSOLE_RESOURCES.pids,
    logDriver: "json-file",
    logOptions: { "max-file": "3", "max-size": "10m" },
    restart: "unless-stopped",
    labels: { "agent-fleet.fleet": s.fleet, "agent-fleet.role": "console" },
    network: consoleNetworkName(s.fleet),
    publish: [{ hostIp: "127.0.0.1", hostPort: s.port, containerPort: s.port }],
    ...(s.socketGroup !== undefined ? { groupAdd: [s.socketGroup] } : {}),
    health: { command: consoleHealthCommand(s.port), intervalSeconds: CONSOLE_HEALTH_INTERVAL_SECONDS },
    command: consoleServeCommand(`0.0.0.0:${s.port}`, [...socketArgs, ...(s.notify ? CONSOLE_NOTIFY_ARGS : [])]),
  };
}

/** Creates the console's network when missing (the container create program runs this first). */
export function consoleNetworkProgram(fleet: string): string {
  const n = quote([consoleNetworkName(fleet)]);
  return `docker network inspect ${n} >/dev/null 2>&1 || docker network create --driver bridge ${n} >/dev/null`;
}

/** Removes the console container, then its network. */
export function consoleRemoveProgram(fleet: string): string {
  return [
    containerRemoveProgram(consoleContainerName(fleet)),
    `docker network rm ${quote([consoleNetworkName(fleet)])} >/dev/null 2>&1 || true`,
  ].join("\n");
}

/**
 * The tokens file's text (`name:token` lines) from the stack's tokens. A bad value is refused
 * with its config key and never quoted: the message ends up in Pulumi's output.
 */
export function consoleTokensFile(tokens: Record<string, string>): string {
  return Object.keys(tokens)
    .sort()
    .map((name) => {
      const problem = consoleTokenProblem(tokens[name]!);
      if (problem) throw new Error(`agent-fleet:console.tokens.${name}: the token ${problem}`);
      return `${name}:${tokens[name]}\n`;
    })
    .join("");
}

/**
 * The notifications file's text (JSON `{ fleet, sinks }`) from the stack's `notify` list, read
 * with its secrets. The config checked the same rules already; a problem here (a value that only
 * the secret holds) is refused with its config key and never quoted.
 */
export function consoleNotifyFile(fleet: string, sinks: unknown[]): string {
  const file: NotifyFile = {
    fleet,
    sinks: sinks.map((sink, i) => {
      const [p] = notifySinkProblems(sink, (x) => typeof x === "string");
      if (p)
        throw new Error(
          `agent-fleet:notify[${i}]${p.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("")}: ${p.message}`,
        );
      return normalizeNotifySink(sink as Record<string, unknown>);
    }),
  };
  return JSON.stringify(file) + "\n";
}

/** Where the operator opens the console once the port is reachable on their machine. */
export function consoleUrl(port: number): string {
  return `http://127.0.0.1:${port}/`;
}

/** The SSH tunnel to a remote host's console: `ssh -N -L PORT:127.0.0.1:PORT [-p N] user@host`. */
export function consoleTunnelCommand(sshCommand: string, port: number): string {
  const rest = sshCommand.replace(/^ssh /, "");
  return `ssh -N -L ${port}:127.0.0.1:${port} ${rest}`;
}
