import * as path from "node:path";
import { OPERATOR_SOCKET_NAME } from "../contract/console.js";

/**
 * Where a Docker host keeps a fleet's files. One root per fleet:
 *
 *   <root>/agents/<name>/      agent code, mounted at /app (a git repo the runtime commits to)
 *   <root>/projects/<name>/    a shared project (a bare git repo), mounted at /projects/<name> into its agents only
 *   <root>/shared/             mounted at /shared in every container: tasks, status, logs, proposals
 *   <root>/decisions/          written only by the operator; mounted read-only at /decisions
 *   <root>/secrets/<name>.env  mode 0600, passed with --env-file
 *   <root>/egress/<name>/      the egress proxy's socket for an allow-listed agent, mounted at /egress
 *   <root>/image/              the agent image's build context (when the image is built on the host)
 *   <root>/seed/<name>.revision  the code revision last pushed into each agent's folder
 *   <root>/upload/             archives copied to hosts that do not see the project's files (SSH hosts)
 *   <root>/bin/agentctl        the host agentctl wrapper on the local machine (SSH hosts: /usr/local/bin)
 *   <root>/console/tokens      the console's tokens (root-owned, 0600), mounted read-only into its container
 *   <root>/run/agentctl.sock   the console's operator socket, which the host agentctl talks to
 *   <root>/run/idle/           the idle waker's own state (root-owned 0700 on SSH hosts)
 *   <root>/bin/idle-waker      the idle waker (a shell program; on SSH hosts run by a systemd unit)
 *
 * Pure path arithmetic, shared by the container spec, the host bootstrap, cloud-init and the tests.
 */
export interface HostLayout {
  root: string;
  agentsDir: string;
  projectsDir: string;
  sharedDir: string;
  decisionsDir: string;
  secretsDir: string;
  /** Mounted at /egress in the fleet's egress proxy container. */
  egressDir: string;
  imageContextDir: string;
  seedDir: string;
  uploadDir: string;
  binDir: string;
  consoleDir: string;
  runDir: string;
  /** The idle waker's program and its state folder (idle scale-down). */
  idleWaker: string;
  idleWakerState: string;
  /** The console's operator socket (fleet/console.ts). */
  operatorSocket: string;
  agentCodeDir(agent: string): string;
  projectDir(project: string): string;
  secretsFile(agent: string): string;
  /** One agent's egress socket folder (mounted at /egress in its container). */
  agentEgressDir(agent: string): string;
}

/** Host paths are POSIX: hosts are Linux machines even when Pulumi runs elsewhere. */
export function hostLayout(root: string): HostLayout {
  if (!path.posix.isAbsolute(root)) {
    throw new Error(`host root must be an absolute path, got "${root}"`);
  }
  const r = path.posix.normalize(root).replace(/\/+$/, "") || "/";
  const join = (...parts: string[]) => path.posix.join(r, ...parts);
  return {
    root: r,
    agentsDir: join("agents"),
    projectsDir: join("projects"),
    sharedDir: join("shared"),
    decisionsDir: join("decisions"),
    secretsDir: join("secrets"),
    egressDir: join("egress"),
    imageContextDir: join("image"),
    seedDir: join("seed"),
    uploadDir: join("upload"),
    binDir: join("bin"),
    consoleDir: join("console"),
    runDir: join("run"),
    idleWaker: join("bin", "idle-waker"),
    idleWakerState: join("run", "idle"),
    operatorSocket: join("run", OPERATOR_SOCKET_NAME),
    agentCodeDir: (agent) => join("agents", agent),
    projectDir: (project) => join("projects", project),
    secretsFile: (agent) => join("secrets", `${agent}.env`),
    agentEgressDir: (agent) => join("egress", agent),
  };
}
