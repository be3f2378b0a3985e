import { quote } from "shell-quote";
import { ENV } from "../contract/env.js";
import { CONTAINER_PATHS } from "../contract/paths.js";
import { hostLayout } from "../hosts/hostLayout.js";

/** Where the wrapper is installed on Docker hosts. */
export const AGENTCTL_WRAPPER_PATH = "/usr/local/bin/agentctl";

export interface AgentctlWrapperOptions {
  /** The agent image (it carries the `agentctl` CLI). */
  image: string;
  /** Root of the fleet's files on the host (see hostLayout.ts). */
  hostRoot: string;
  /** The docker CLI to call; default `docker`. */
  docker?: string;
}

/**
 * The host-side `agentctl`: a small POSIX sh script that runs the image's own `agentctl` in a
 * throw-away container with the fleet's shared dir and the decisions dir (writable here: this is
 * the operator's side) mounted, so that `ssh ops@host agentctl proposals` and
 * `agentctl approve <id>` work without Node.js on the host. The current directory is mounted
 * read-only at the same path so `agentctl task add --instructions ./task.md` finds its files.
 * No network, no capabilities, read-only root.
 */
export function agentctlWrapperScript(o: AgentctlWrapperOptions): string {
  const layout = hostLayout(o.hostRoot);
  const docker = o.docker ?? "docker";
  const fixed = quote([
    "--rm",
    "--network",
    "none",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--mount",
    `type=bind,source=${layout.sharedDir},target=${CONTAINER_PATHS.shared}`,
    "--mount",
    `type=bind,source=${layout.decisionsDir},target=${CONTAINER_PATHS.decisions}`,
    "--env",
    `${ENV.sharedDir}=${CONTAINER_PATHS.shared}`,
    "--env",
    `${ENV.decisionsDir}=${CONTAINER_PATHS.decisions}`,
    "--entrypoint",
    "agentctl",
  ]);
  // Decisions and tasks record who made them; inside the container $USER is unset, so the
  // operator's name is passed in (sudo keeps the real person in SUDO_USER).
  const who = '--env "AGENTCTL_USER=${AGENTCTL_USER:-${SUDO_USER:-$(id -un)}}"';
  return [
    "#!/bin/sh",
    "# agentctl: installed by agent-fleet. Runs the agent image's agentctl against this host's fleet.",
    "# shell-quote escapes '=' ',' ':' where sh needs no escape; the words are the same.",
    "# shellcheck disable=SC1001",
    "set -eu",
    'tty=""',
    'if [ -t 0 ] && [ -t 1 ]; then tty="-t"; fi',
    "cwd=$(pwd -P)",
    `exec ${quote([docker])} run -i $tty ${fixed} ${who} \\`,
    '  --mount "type=bind,source=$cwd,target=$cwd,readonly" --workdir "$cwd" \\',
    `  ${quote([o.image])} "$@"`,
    "",
  ].join("\n");
}
