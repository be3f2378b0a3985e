/**
 * The Exoscale simulator (test/harness/exoscale) as its own process, for engine tests: the CLI and the
 * dynamic-provider plugin it starts are separate processes, so they reach the simulator over loopback
 * through EXOSCALE_API_ENDPOINT / EXOSCALE_API_KEY / EXOSCALE_API_SECRET, like the real API.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import * as path from "node:path";
import { REPO_ROOT } from "./engineContext.js";
import type { Inventory } from "../exoscale/simulator.js";

export interface RunningSimulator {
  endpoint: string;
  /** The environment that points Exoscale clients (our dynamic providers) at this simulator. */
  env: Record<string, string>;
  inventory(): Promise<Inventory>;
  /** New instances get this public IP. */
  setNextPublicIp(ip: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startExoscaleSimulator(
  opts: { publicIp?: string; startTimeoutMs?: number } = {},
): Promise<RunningSimulator> {
  const args = ["--import", "tsx", path.join(REPO_ROOT, "test/harness/exoscale/main.ts")];
  if (opts.publicIp) args.push("--public-ip", opts.publicIp);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const first = await firstLine(child, opts.startTimeoutMs ?? 60_000);
  const info = JSON.parse(first) as { endpoint: string; apiKey: string; apiSecret: string };
  const base = info.endpoint.replace(/\/v2$/, "");
  const call = async (method: string, p: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${p}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${p}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    endpoint: info.endpoint,
    env: { EXOSCALE_API_ENDPOINT: info.endpoint, EXOSCALE_API_KEY: info.apiKey, EXOSCALE_API_SECRET: info.apiSecret },
    inventory: async () => (await call("GET", "/_sim/inventory")) as Inventory,
    setNextPublicIp: async (ip) => {
      await call("POST", "/_sim/next-public-ip", { ip });
    },
    stop: () => stopChild(child),
  };
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Exoscale simulator printed nothing within ${timeoutMs} ms`));
    }, timeoutMs);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Exoscale simulator exited with ${code} before it was ready`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
