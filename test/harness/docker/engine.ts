import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { dockerCliPath, dockerTry, mustRun, run, type DockerTarget } from "./cli.js";

/**
 * A private Docker engine for the container and e2e suites: Debian's `dockerd` with its own socket,
 * data root, exec root, pid file and containerd namespace, so that it collides neither with a system
 * Docker nor with the engine another suite starts (each suite passes its own `instance`).
 *
 * Storage: `overlay2` where this machine can mount an overlay file system in the engine's own
 * folder (probed once per start: a kernel without overlayfs, or an engine folder that is itself on
 * overlayfs, cannot), else `vfs`, which works on any file system but copies the whole image for
 * every container (about 5 s and 2 × the image's size on disk per container here). An engine
 * that fails to start on overlay2 is started again on vfs. AGENT_FLEET_DOCKER_STORAGE_DRIVER
 * (`overlay2` or `vfs`) forces the choice. `--iptables=false` leaves the machine's firewall alone,
 * and `--bridge none` keeps it off `docker0` (which a second engine would fight over): agent
 * containers need no network, and no port is ever published.
 *
 * The data root persists between runs, so built images stay cached; the engine process itself is
 * stopped at the end of a run unless AGENT_FLEET_KEEP_DOCKERD=1. When the socket already answers
 * (a previous run kept it, or another process of the same suite started it) it is reused as is.
 */
export interface EngineOptions {
  /** Names this engine's directory and containerd namespace, e.g. "containers" or "e2e". */
  instance: string;
  /**
   * Directory for socket, data root, exec root, pid file and log. Default
   * `${AGENT_FLEET_DOCKERD_DIR:-/var/tmp/agent-fleet-dockerd}/<instance>`.
   */
  dir?: string;
  /** Seconds to wait for the engine to answer after start; default 90. */
  startTimeoutSeconds?: number;
  /**
   * Give containers a network on a bridge of this engine's own (default: none). The bridge is
   * created with this address (the test machine's address on it, e.g. "172.29.213.1/24") when
   * missing and removed by `stop`; it is never docker0, so it collides with no other engine.
   * IP forwarding stays off: the test machine and the containers on the bridge reach each other
   * directly, nothing is routed.
   */
  bridge?: { name: string; cidr: string };
}

export interface DockerEngine extends DockerTarget {
  instance: string;
  dir: string;
  socket: string;
  logFile: string;
  /** The engine's storage driver (`docker info`'s, for an engine this call did not start). */
  storageDriver: string;
  /** True when this call started dockerd (and so `stop` will stop it). */
  startedHere: boolean;
  /** Stops dockerd if this call started it and AGENT_FLEET_KEEP_DOCKERD is not 1. */
  stop(): Promise<void>;
}

export function engineDir(instance: string, dir?: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(instance)) {
    throw new Error(`engine instance must be a lowercase name like "containers", got "${instance}"`);
  }
  return dir ?? path.join(process.env.AGENT_FLEET_DOCKERD_DIR ?? "/var/tmp/agent-fleet-dockerd", instance);
}

export type StorageDriver = "overlay2" | "vfs";
export const STORAGE_DRIVER_ENV = "AGENT_FLEET_DOCKER_STORAGE_DRIVER";

/**
 * `overlay2` when an overlay file system mounts in `dir` (lower, upper and work folders there, a
 * file of the lower one seen through the mount), else `vfs`; AGENT_FLEET_DOCKER_STORAGE_DRIVER
 * forces one. Needs root, as dockerd does.
 */
export async function chooseStorageDriver(dir: string): Promise<StorageDriver> {
  const forced = process.env[STORAGE_DRIVER_ENV];
  if (forced !== undefined && forced !== "") {
    if (forced !== "overlay2" && forced !== "vfs") {
      throw new Error(`${STORAGE_DRIVER_ENV} must be "overlay2" or "vfs", got "${forced}"`);
    }
    return forced;
  }
  const probe = path.join(dir, "overlay-probe");
  rmSync(probe, { recursive: true, force: true });
  for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(path.join(probe, d), { recursive: true });
  writeFileSync(path.join(probe, "lower", "seen"), "overlay\n");
  const merged = path.join(probe, "merged");
  const options = ["lower", "upper", "work"].map((d) => `${d}dir=${path.join(probe, d)}`).join(",");
  try {
    const mounted = await run("mount", ["-t", "overlay", "overlay", "-o", options, merged]);
    if (mounted.code !== 0) return "vfs";
    const seen = existsSync(path.join(merged, "seen"));
    await run("umount", [merged]);
    return seen ? "overlay2" : "vfs";
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** The dockerd argv for an engine directory (exported so the e2e suite and docs show the same). */
export function dockerdArgs(
  instance: string,
  dir: string,
  bridge = "none",
  storageDriver: StorageDriver = "vfs",
): string[] {
  return [
    "--storage-driver",
    storageDriver,
    "--iptables=false",
    "--ip-masq=false",
    ...(bridge === "none" ? [] : ["--ip-forward=false"]),
    "--bridge",
    bridge,
    "--host",
    `unix://${path.join(dir, "docker.sock")}`,
    "--data-root",
    path.join(dir, "data"),
    "--exec-root",
    path.join(dir, "exec"),
    "--pidfile",
    path.join(dir, "dockerd.pid"),
    "--containerd-namespace",
    `agent-fleet-${instance}`,
    "--containerd-plugins-namespace",
    `agent-fleet-${instance}-plugins`,
  ];
}

async function answers(target: DockerTarget): Promise<boolean> {
  const r = await dockerTry(target, ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 15_000 });
  return r.code === 0 && r.stdout.trim() !== "";
}

async function driverOf(target: DockerTarget): Promise<string> {
  const r = await dockerTry(target, ["info", "--format", "{{.Driver}}"], { timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.trim() : "unknown";
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns a running engine for `instance`, starting dockerd when its socket does not answer.
 * Throws (loudly, with the daemon's log tail) when the engine cannot start: a container suite
 * without an engine must fail, never skip.
 */
export async function ensureDockerEngine(opts: EngineOptions): Promise<DockerEngine> {
  const cli = dockerCliPath();
  // An engine given from outside (e.g. a CI machine with its own Docker) is used as is.
  const external = process.env.AGENT_FLEET_DOCKER_HOST;
  if (external) {
    const target = { host: external, cli };
    if (!(await answers(target))) {
      throw new Error(`AGENT_FLEET_DOCKER_HOST=${external} does not answer \`docker version\``);
    }
    return {
      ...target,
      storageDriver: await driverOf(target),
      instance: opts.instance,
      dir: "",
      socket: "",
      logFile: "",
      startedHere: false,
      stop: async () => {},
    };
  }

  const dir = engineDir(opts.instance, opts.dir);
  const socket = path.join(dir, "docker.sock");
  if (socket.length > 100) throw new Error(`engine socket path too long for a unix socket: ${socket}`);
  const logFile = path.join(dir, "dockerd.log");
  const target: DockerTarget = { host: `unix://${socket}`, cli };
  const base = { ...target, instance: opts.instance, dir, socket, logFile };

  if (await answers(target)) {
    return { ...base, storageDriver: await driverOf(target), startedHere: false, stop: async () => {} };
  }

  const dockerd = process.env.AGENT_FLEET_DOCKERD ?? "dockerd";
  mkdirSync(dir, { recursive: true });
  let bridgeMadeHere = false;
  if (opts.bridge) bridgeMadeHere = await ensureBridge(opts.bridge);
  const removeBridge = async () => {
    if (bridgeMadeHere) await run("ip", ["link", "delete", opts.bridge!.name]);
  };
  const forced = process.env[STORAGE_DRIVER_ENV];
  let storageDriver = await chooseStorageDriver(dir);
  let started = await startDockerd(dockerd, opts, dir, target, storageDriver);
  if ("failed" in started && storageDriver === "overlay2" && !forced) {
    // The probe mounted an overlay, yet dockerd would not run on it: vfs works everywhere.
    storageDriver = "vfs";
    started = await startDockerd(dockerd, opts, dir, target, storageDriver);
  }
  if ("failed" in started) {
    await removeBridge();
    throw new Error(`Docker engine "${opts.instance}" ${started.failed}\n${logTail(logFile)}`);
  }
  const child = started.child;
  const pid = child.pid!;
  return {
    ...base,
    storageDriver,
    startedHere: true,
    stop: async () => {
      if (process.env.AGENT_FLEET_KEEP_DOCKERD === "1") return;
      if (!pidAlive(pid)) return;
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 120 && pidAlive(pid); i++) await sleep(250);
      if (pidAlive(pid)) process.kill(pid, "SIGKILL");
      await removeBridge();
    },
  };
}

/** Starts dockerd on `storageDriver` and waits until it answers; says why when it does not. */
async function startDockerd(
  dockerd: string,
  opts: EngineOptions,
  dir: string,
  target: DockerTarget,
  storageDriver: StorageDriver,
): Promise<{ child: ChildProcess } | { failed: string }> {
  const socket = path.join(dir, "docker.sock");
  const out = openSync(path.join(dir, "dockerd.log"), "a");
  const child = spawn(dockerd, dockerdArgs(opts.instance, dir, opts.bridge?.name, storageDriver), {
    detached: true, // its own process group: the test runner's Ctrl-C does not tear it down mid-write
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  let exited: string | undefined;
  child.on("error", (err) => (exited = `cannot start ${dockerd}: ${err.message} (is Debian's docker.io installed?)`));
  child.on("exit", (code, signal) => (exited = `dockerd exited (code ${code}, signal ${signal})`));
  child.unref();

  const deadline = Date.now() + (opts.startTimeoutSeconds ?? 90) * 1000;
  for (;;) {
    if (exited) return { failed: `did not start on ${storageDriver}: ${exited}` };
    if (existsSync(socket) && (await answers(target))) return { child };
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      return { failed: `did not answer on ${socket} in time (${storageDriver})` };
    }
    await sleep(250);
  }
}

/** Creates the bridge interface with its address unless it exists; true when created here. */
async function ensureBridge(bridge: { name: string; cidr: string }): Promise<boolean> {
  if (bridge.name === "docker0" || !/^[a-z][a-z0-9-]{0,14}$/.test(bridge.name)) {
    throw new Error(`engine bridge must be a name of our own (not docker0), up to 15 characters: "${bridge.name}"`);
  }
  if ((await run("ip", ["link", "show", bridge.name])).code === 0) return false;
  await mustRun("ip", ["link", "add", "name", bridge.name, "type", "bridge"]);
  try {
    await mustRun("ip", ["address", "add", bridge.cidr, "dev", bridge.name]);
    await mustRun("ip", ["link", "set", bridge.name, "up"]);
  } catch (err) {
    await run("ip", ["link", "delete", bridge.name]);
    throw err;
  }
  return true;
}
