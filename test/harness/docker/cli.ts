import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Running the docker CLI against one engine, always as an argv (never through a shell).
 *
 * The CLI comes from Debian's `docker.io` (`/usr/bin/docker`) unless AGENT_FLEET_DOCKER_CLI names
 * another one: a machine may carry a different `docker` earlier on PATH, and the tests must talk to
 * the client that matches the engine they start.
 */
export function dockerCliPath(): string {
  const fromEnv = process.env.AGENT_FLEET_DOCKER_CLI;
  if (fromEnv) return fromEnv;
  return existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}

export interface DockerTarget {
  /** DOCKER_HOST value, e.g. unix:///var/tmp/agent-fleet-dockerd/containers/docker.sock */
  host: string;
  /** Path of the docker CLI binary. */
  cli: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment; DOCKER_HOST is always set from the target. */
  env?: NodeJS.ProcessEnv;
  /** Bytes for stdin. */
  input?: string;
  /** Kill the command after this many ms (a hang must fail the test, not stall the suite). */
  timeoutMs?: number;
  cwd?: string;
}

/** Environment that points a docker CLI (or the host agentctl wrapper) at the target engine. */
export function dockerEnv(target: DockerTarget, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    DOCKER_HOST: target.host,
    // The classic builder: no BuildKit here, and the Dockerfile uses none of its syntax.
    DOCKER_BUILDKIT: "0",
  };
}

/** Runs any program to completion and returns its exit code and output; never throws on exit code. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        stderr += `\n[harness] killed after ${opts.timeoutMs} ms`;
        child.kill("SIGKILL");
      }, opts.timeoutMs);
    }
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => {
      /* the command may exit without reading its input */
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** `docker ARGS` against the target; returns the result whatever the exit code. */
export function dockerTry(target: DockerTarget, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(target.cli, args, { ...opts, env: dockerEnv(target, opts.env) });
}

/** `docker ARGS` against the target; throws with the command and its stderr when it fails. */
export async function docker(target: DockerTarget, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await dockerTry(target, args, opts);
  if (r.code !== 0) {
    throw new Error(`docker ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** Runs a command that must succeed, e.g. debootstrap or tar; throws with its stderr tail. */
export async function mustRun(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-30).join("\n");
    throw new Error(`${file} ${args.join(" ")} failed (exit ${r.code}):\n${tail}`);
  }
  return r.stdout;
}
