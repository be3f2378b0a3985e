import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { newTaskId } from "../../runtime/ids.js";
import { queueFileName, type TaskRecord } from "../../runtime/queue/taskRecord.js";
import { ensureSharedLayout, sharedLayout } from "../../runtime/sharedLayout.js";

/** Raw rename rate of the file system under `dir`: N files moved between two directories. */
export function rawRenameRate(dir: string, n: number): number {
  const a = path.join(dir, "rename-a");
  const b = path.join(dir, "rename-b");
  fs.mkdirSync(a, { recursive: true });
  fs.mkdirSync(b, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(a, `f${i}.json`), "{}");
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fs.renameSync(path.join(a, `f${i}.json`), path.join(b, `f${i}.json`));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(a, { recursive: true, force: true });
  fs.rmSync(b, { recursive: true, force: true });
  return n / s;
}

/**
 * The same file system's own scaling: `procs` processes renaming disjoint files between the same
 * two directories at once (no races, no reads). A reference for the claim figures.
 */
export async function rawParallelRenameRate(dir: string, procs: number, n: number): Promise<number> {
  const d = path.join(dir, `parallel-${procs}`);
  fs.mkdirSync(path.join(d, "a"), { recursive: true });
  fs.mkdirSync(path.join(d, "b"), { recursive: true });
  const per = Math.floor(n / procs);
  for (let p = 0; p < procs; p++) for (let i = 0; i < per; i++) fs.writeFileSync(path.join(d, "a", `f${p}-${i}`), "{}");
  const worker = path.join(path.dirname(process.argv[1]!), "runtime", "renameWorker.js");
  const ends = await race(procs, (i) => [worker, d, String(per), String(i)]);
  fs.rmSync(d, { recursive: true, force: true });
  return (per * procs) / ((ends.end - ends.start) / 1000);
}

/** Start `procs` workers, wait until all are ready, say go, collect their last JSON lines. */
async function race(
  procs: number,
  args: (i: number) => string[],
): Promise<{ start: number; end: number; results: Array<Record<string, number>> }> {
  const children = Array.from({ length: procs }, (_, i) =>
    spawn(process.execPath, args(i), { stdio: ["pipe", "pipe", "inherit"] }),
  );
  const outputs = children.map((c) => {
    let out = "";
    c.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
    });
    return { text: () => out, exit: new Promise<void>((r) => c.on("exit", () => r())) };
  });
  while (!outputs.every((o) => o.text().includes("ready"))) await new Promise((r) => setTimeout(r, 5));
  const start = Date.now();
  for (const c of children) c.stdin!.end("go\n");
  await Promise.all(outputs.map((o) => o.exit));
  const results = outputs.map((o) => JSON.parse(o.text().trim().split("\n").pop()!) as Record<string, number>);
  return { start, end: Math.max(...results.map((r) => r.end!)), results };
}

/** Fill pending/ with n valid tasks (setup, not measured: plain writes, no fsync). */
function fillQueue(shared: string, n: number): void {
  const l = sharedLayout(shared);
  ensureSharedLayout(l);
  const now = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    const id = newTaskId();
    const r: TaskRecord = {
      id,
      title: `bench ${i}`,
      description: "",
      instruction_file: null,
      context_files: [],
      status: "pending",
      priority: 5,
      agent: null,
      capability: null,
      attempts: 0,
      max_attempts: 0,
      claimed_by: null,
      claimed_at: null,
      completed_at: null,
      created_at: now,
      created_by: "bench",
      last_error: null,
      result: null,
      history: [],
    };
    fs.writeFileSync(
      path.join(l.pending, queueFileName({ priority: 5, id, target: { kind: "any" }, attempts: 0 })),
      JSON.stringify(r),
    );
  }
}

/** Claims per second with `procs` processes racing on one queue of n tasks. */
export async function claimThroughput(
  dir: string,
  procs: number,
  n: number,
): Promise<{ rate: number; perProcess: number[] }> {
  const shared = path.join(dir, `claim-${procs}`);
  fs.mkdirSync(shared, { recursive: true });
  fillQueue(shared, n);
  const worker = path.join(path.dirname(process.argv[1]!), "runtime", "claimWorker.js");
  const r = await race(procs, (i) => [worker, shared, `bench-${i}`]);
  const total = r.results.reduce((a, x) => a + x.claims!, 0);
  if (total !== n)
    throw new Error(`claim benchmark: ${total} claims for ${n} tasks (each task must be claimed exactly once)`);
  const perProcess = r.results.map((x) => x.claims!);
  const rate = n / ((r.end - r.start) / 1000);
  fs.rmSync(shared, { recursive: true, force: true });
  return { rate, perProcess };
}
