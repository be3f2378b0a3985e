import { quote } from "shell-quote";
import { dockerRunArgs, type ContainerSpec } from "./spec.js";

/**
 * Shell programs that manage one agent container on a Docker host. Pure functions of the
 * container spec, so the tests can read exactly what runs on a host.
 */

/** Seconds the runtime gets to finish or hand back its task on SIGTERM before Docker kills it. */
export const STOP_TIMEOUT_SECONDS = 60;

/**
 * Removes the container if it exists, gracefully (SIGTERM, then SIGKILL after the timeout).
 * "No such container" is success; any other failure (engine unreachable) fails the step, so a
 * destroy never reports success while a container still runs.
 */
export function containerRemoveProgram(name: string): string {
  const n = quote([name]);
  return [
    `docker stop --time ${STOP_TIMEOUT_SECONDS} ${n} >/dev/null 2>&1 || true`,
    `if ! out=$(docker rm --force ${n} 2>&1); then`,
    `  case "$out" in *"No such container"*) ;; *) echo "$out" >&2; exit 1 ;; esac`,
    "fi",
  ].join("\n");
}

/**
 * Creates (but does not start) the agent's container from its spec; a leftover container of the
 * same name is removed first. Starting and stopping is the run-state step's job, so a paused
 * fleet never starts a container, not even for a moment. Prints the container id.
 */
export function containerCreateProgram(spec: ContainerSpec): string {
  const args = dockerRunArgs(spec);
  if (args[0] !== "run" || args[1] !== "--detach") {
    throw new Error(`unexpected docker run arguments: ${args.slice(0, 2).join(" ")}`);
  }
  return [containerRemoveProgram(spec.name), quote(["docker", "create", ...args.slice(2)])].join("\n");
}

/** Starts the container, or stops it when the fleet is paused (its files are not touched). */
export function runStateProgram(name: string, paused: boolean): string {
  const n = quote([name]);
  return paused
    ? `docker stop --time ${STOP_TIMEOUT_SECONDS} ${n} >/dev/null && echo "stopped ${name} (paused)"`
    : `docker start ${n} >/dev/null && echo "started ${name}"`;
}

/**
 * The body of a Docker env-file (`NAME=value` per line). Docker reads values literally and cannot
 * carry a line break; a value with one is refused (the message names the variable, never the value).
 */
export function envFileContent(entries: ReadonlyArray<{ name: string; value: string }>, agent: string): string {
  return entries
    .map(({ name, value }) => {
      if (/[\r\n\0]/.test(value)) {
        throw new Error(
          `secret ${name} of agent ${agent} contains a line break or NUL; a Docker env-file cannot carry it`,
        );
      }
      return `${name}=${value}\n`;
    })
    .join("");
}

/** Image tag for a build: per fleet, named by the content hash of its context. */
export function builtImageTag(fleet: string, contextHash: string): string {
  return `${fleet}/agent:${contextHash.slice(0, 16)}`;
}
