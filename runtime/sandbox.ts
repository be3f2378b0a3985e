import { spawn } from "node:child_process";
import * as fs from "node:fs";

/**
 * Privilege separation: when the runtime is root (in the container), everything that touches
 * the agent's scratch copy runs as the unprivileged AGENT_RUN_AS user; the runtime itself only
 * reads the patch those processes print. As an ordinary user (development) there is nothing to
 * switch to: programs run as that user, and the runtime says so.
 */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

export function resolveRunAs(spec: string, passwdFile = "/etc/passwd"): RunAs {
  const numeric = /^(\d+):(\d+)$/.exec(spec);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2]), name: spec };
  let passwd: string;
  try {
    passwd = fs.readFileSync(passwdFile, "utf8");
  } catch (err) {
    throw new Error(`AGENT_RUN_AS=${spec}: cannot read ${passwdFile}: ${(err as Error).message}`);
  }
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === spec && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (uid === 0) throw new Error(`AGENT_RUN_AS=${spec} is root: agent programs must run as an unprivileged user`);
      return { uid, gid, name: spec };
    }
  }
  throw new Error(`AGENT_RUN_AS=${spec}: no such user in ${passwdFile} (create it, or give uid:gid)`);
}

export interface ProgramRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the run was stopped from outside (runtime shutdown). */
  aborted: boolean;
  outputTail: string;
  outputBytes: number;
}

export interface ProgramOptions {
  command: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  runAs?: RunAs;
  timeoutMs: number;
  stdin?: string;
  /** Each output line, until maxOutputBytes have been passed on. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

const TAIL_BYTES = 4096;
const KILL_AFTER_TERM_MS = 3000;

/**
 * Run the agent program in its own process group; on timeout or abort the whole group gets
 * SIGTERM, then SIGKILL. Whatever the program leaves running in its group is killed at the end.
 */
export function runProgram(o: ProgramOptions): Promise<ProgramRun> {
  return new Promise((resolve) => {
    const [cmd, ...args] = o.command as [string, ...string[]];
    let child;
    try {
      child = spawn(cmd, args, {
        cwd: o.cwd,
        env: o.env,
        detached: true, // new process group: a timeout kills all of it
        stdio: ["pipe", "pipe", "pipe"],
        ...(o.runAs ? { uid: o.runAs.uid, gid: o.runAs.gid } : {}),
      });
    } catch (err) {
      resolve({
        code: 127,
        signal: null,
        timedOut: false,
        aborted: false,
        outputTail: `cannot start ${cmd}: ${(err as Error).message}`,
        outputBytes: 0,
      });
      return;
    }
    let tail = "";
    let passed = 0;
    let total = 0;
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pid = child.pid;
    const killGroup = (sig: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        /* group already gone */
      }
    };
    const stop = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_AFTER_TERM_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    // Aborted before the program started (a SIGTERM while the working copy was being cloned):
    // the listener would never fire, and the run would last until its timeout.
    if (o.signal?.aborted) onAbort();
    const partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
    const feed = (stream: "stdout" | "stderr", b: Buffer) => {
      total += b.length;
      const s = b.toString("utf8");
      tail = (tail + s).slice(-TAIL_BYTES);
      if (passed >= o.maxOutputBytes) return;
      const room = o.maxOutputBytes - passed;
      const kept = b.length > room ? b.subarray(0, room).toString("utf8") : s;
      passed += Math.min(b.length, room);
      const text = partial[stream] + kept;
      const lines = text.split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const line of lines) o.onLine?.(stream, line);
      if (passed >= o.maxOutputBytes) o.onLine?.(stream, `[output past ${o.maxOutputBytes} bytes is not logged]`);
    };
    child.stdout!.on("data", (b: Buffer) => feed("stdout", b));
    child.stderr!.on("data", (b: Buffer) => feed("stderr", b));
    child.stdin!.on("error", () => {
      /* the program need not read its input */
    });
    child.stdin!.end(o.stdin ?? "");
    let spawnError: Error | undefined;
    child.on("error", (err) => {
      spawnError = err;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener("abort", onAbort);
      killGroup("SIGKILL"); // leftovers of the program's group
      for (const s of ["stdout", "stderr"] as const)
        if (partial[s] && passed < o.maxOutputBytes) o.onLine?.(s, partial[s]);
      if (spawnError) {
        resolve({
          code: 127,
          signal: null,
          timedOut,
          aborted,
          outputTail: `cannot start ${cmd}: ${spawnError.message}`,
          outputBytes: total,
        });
        return;
      }
      resolve({ code, signal, timedOut, aborted, outputTail: tail, outputBytes: total });
    });
  });
}

/** The last `n` lines of a run's output, on one line (for a reason shown to a human). */
export function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join(" | ");
}
