#!/usr/bin/env node
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { NAME_PATTERN, PROPOSAL_ID_PATTERN, TASK_ID_PATTERN } from "../ids.js";
import { readDecision, writeDecision, type Decision } from "../proposals/decision.js";
import { PROPOSAL_STATES, ProposalStore, type Proposal, type ProposalState } from "../proposals/proposal.js";
import { TaskQueue, type ListedTask } from "../queue/taskQueue.js";
import { MAX_PRIORITY, MIN_PRIORITY, TASK_STATES, type TaskStatus } from "../queue/taskRecord.js";
import { ensureSharedLayout, sharedLayout, type SharedLayout } from "../sharedLayout.js";
import { heartbeatAge, leaseAlive, listStatuses, readStatus } from "../status.js";

/**
 * agentctl: the operator's CLI for a fleet's shared dir and decisions dir. On a Docker host it
 * runs inside a throw-away container of the agent image (components/fleet/agentctlWrapper.ts), so
 * every file it needs from the caller (instructions, context) is copied into the queue.
 */
const USAGE = `Usage: agentctl <command> [options]

Commands:
  task add --title T (--instructions FILE|- | --description D) [--context PATH]...
           [--agent NAME | --capability C] [--priority 0-9] [--max-attempts N]
                                   queue a task; prints its id
  task show ID                     one task record
  tasks [--state pending|claimed|done|failed]
  status                           each agent: heartbeat age, current task, approval mode, last error
  proposals [--state pending|approved|rejected|applied|conflict|rolled-back] [--agent NAME]
  diff ID                          the patch of a proposal
  approve ID [--note T]            approve a pending proposal
  reject ID --reason T             reject a pending proposal
  logs [--agent NAME] [--follow] [--lines N]   merged, time-ordered
  health [--agent NAME]            exit 0 when the agent's heartbeat is fresh (container health check)

Options for every command:
  --shared DIR      shared dir (default: $AGENT_SHARED_DIR or /shared)
  --decisions DIR   decisions dir (default: $AGENT_DECISIONS_DIR or /decisions)
  --json            machine-readable output
  --by NAME         who decides/queues (default: $AGENTCTL_USER, $SUDO_USER, $USER, or the login name)
`;

class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;
const COMMON: Options = {
  shared: { type: "string" },
  decisions: { type: "string" },
  json: { type: "boolean" },
  by: { type: "string" },
  help: { type: "boolean", short: "h" },
};

interface Ctx {
  layout: SharedLayout;
  decisionsDir: string;
  json: boolean;
  by: string;
  out: (s: string) => void;
}

function operator(flag: string | undefined): string {
  const env = process.env;
  let name = flag || env.AGENTCTL_USER || env.SUDO_USER || env.USER;
  if (!name) {
    try { name = os.userInfo().username; } catch { name = "operator"; }
  }
  return name;
}

function parse(args: string[], options: Options, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(positionals === 0 ? `unexpected argument "${parsed.positionals[0]}"` : `expected ${positionals} argument(s), got ${parsed.positionals.length}`);
  }
  return parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
}

function context(values: Record<string, unknown>): Ctx {
  const shared = (values.shared as string | undefined) || process.env.AGENT_SHARED_DIR || "/shared";
  const decisions = (values.decisions as string | undefined) || process.env.AGENT_DECISIONS_DIR || "/decisions";
  const layout = sharedLayout(shared);
  if (!fs.existsSync(layout.root)) throw new Error(`shared dir ${layout.root} does not exist (use --shared or AGENT_SHARED_DIR)`);
  return { layout, decisionsDir: path.resolve(decisions), json: values.json === true, by: operator(values.by as string | undefined), out: (s) => process.stdout.write(s) };
}

function printJson(c: Ctx, v: unknown): void {
  c.out(JSON.stringify(v, null, 2) + "\n");
}

function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}

function age(iso: string | null | undefined): string {
  if (!iso) return "-";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function oneLine(s: string | null | undefined, max = 60): string {
  if (!s) return "-";
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max - 1) + "…" : t;
}

// ------------------------------------------------------------------ task add / tasks

function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((err as NodeJS.ErrnoException).code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function taskAdd(args: string[]): number {
  const { values } = parse(args, {
    title: { type: "string" },
    description: { type: "string" },
    instructions: { type: "string" },
    context: { type: "string", multiple: true },
    agent: { type: "string" },
    capability: { type: "string" },
    priority: { type: "string" },
    "max-attempts": { type: "string" },
  }, 0);
  const title = (values.title as string | undefined)?.trim();
  if (!title) throw new UsageError("task add needs --title");
  if (values.agent && values.capability) throw new UsageError("give --agent or --capability, not both");
  for (const k of ["agent", "capability"] as const) {
    const v = values[k] as string | undefined;
    if (v !== undefined && !NAME_PATTERN.test(v)) throw new UsageError(`--${k} "${v}" is not valid (lowercase letters, digits, dashes)`);
  }
  let priority: number | undefined;
  if (values.priority !== undefined) {
    const p = String(values.priority);
    if (!/^\d+$/.test(p) || Number(p) < MIN_PRIORITY || Number(p) > MAX_PRIORITY) throw new UsageError(`--priority must be a whole number from ${MIN_PRIORITY} (lowest) to ${MAX_PRIORITY} (most urgent), got "${p}"`);
    priority = Number(p);
  }
  let maxAttempts = 0; // 0: the claiming runtime's AGENT_MAX_ATTEMPTS
  if (values["max-attempts"] !== undefined) {
    const m = String(values["max-attempts"]);
    if (!/^\d+$/.test(m) || Number(m) < 1 || Number(m) > 100) throw new UsageError(`--max-attempts must be a whole number from 1 to 100, got "${m}"`);
    maxAttempts = Number(m);
  }
  let instructions: Buffer | undefined;
  const ins = values.instructions as string | undefined;
  if (ins !== undefined) {
    if (ins === "-") instructions = readStdin();
    else {
      try {
        instructions = fs.readFileSync(ins);
      } catch (err) {
        throw new Error(`cannot read --instructions ${ins}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
      }
    }
  }
  const description = values.description as string | undefined;
  if (instructions === undefined && !description) throw new UsageError("task add needs --instructions FILE (or - for stdin) or --description TEXT");
  const contexts = (values.context as string[] | undefined) ?? [];
  for (const p of contexts) {
    if (!fs.existsSync(p)) throw new Error(`--context ${p}: no such file or directory`);
  }
  const c = context(values);
  ensureSharedLayout(c.layout);
  const queue = new TaskQueue(c.layout);
  const record = queue.addTask({
    title, createdBy: c.by, maxAttempts, contextPaths: contexts,
    ...(description !== undefined ? { description } : {}),
    ...(instructions !== undefined ? { instructions } : {}),
    ...(values.agent ? { agent: values.agent as string } : {}),
    ...(values.capability ? { capability: values.capability as string } : {}),
    ...(priority !== undefined ? { priority } : {}),
  });
  if (c.json) printJson(c, record);
  else c.out(record.id + "\n");
  return 0;
}

function taskShow(args: string[]): number {
  const { values, positionals } = parse(args, {}, 1);
  const c = context(values);
  const id = positionals[0]!;
  if (!TASK_ID_PATTERN.test(id)) throw new UsageError(`"${id}" is not a task id (t-YYMMDD-HHMMSS-xxxxxx)`);
  const t = new TaskQueue(c.layout).find(id);
  if (!t) throw new Error(`no task ${id}`);
  printJson(c, t);
  return 0;
}

function tasks(args: string[]): number {
  const { values } = parse(args, { state: { type: "string" }, agent: { type: "string" } }, 0);
  const state = values.state as string | undefined;
  if (state !== undefined && !TASK_STATES.includes(state as TaskStatus)) throw new UsageError(`--state must be one of ${TASK_STATES.join(", ")}, got "${state}"`);
  const c = context(values);
  let list: ListedTask[] = new TaskQueue(c.layout).list(state as TaskStatus | undefined);
  if (values.agent) list = list.filter((t) => t.claimed_by === values.agent || t.agent === values.agent);
  if (c.json) {
    printJson(c, list.map(({ file: _f, ...t }) => t));
    return 0;
  }
  const rows = [["ID", "STATUS", "PRI", "TRY", "FOR", "AGENT", "TITLE", "RESULT"]];
  for (const t of list) {
    const target = t.agent ? `agent:${t.agent}` : t.capability ? `cap:${t.capability}` : "any";
    const res = t.result ? `${t.result.outcome}${t.result.proposal_id ? " " + t.result.proposal_id : ""}${t.result.error ? ": " + oneLine(t.result.error, 50) : ""}` : t.last_error ? `last error: ${oneLine(t.last_error, 40)}` : "-";
    rows.push([t.id, t.status, String(t.priority), String(t.attempts), target, t.claimed_by ?? "-", oneLine(t.title, 40), res]);
  }
  c.out(list.length === 0 ? "no tasks\n" : table(rows));
  return 0;
}

// ------------------------------------------------------------------ status / health

function status(args: string[]): number {
  const { values } = parse(args, {}, 0);
  const c = context(values);
  const statuses = listStatuses(c.layout).map((s) => ({
    ...s,
    heartbeat_age_seconds: Math.round(heartbeatAge(s) * 10) / 10,
    alive: leaseAlive(s, s.lease_seconds ?? 30),
  }));
  if (c.json) {
    printJson(c, statuses);
    return 0;
  }
  const rows = [["AGENT", "STATE", "HEARTBEAT", "APPROVAL", "CURRENT TASK", "DONE", "FAILED", "LAST ERROR"]];
  for (const s of statuses) {
    rows.push([
      s.agent, s.alive ? s.state : `${s.state === "stopped" ? "stopped" : "dead?"}`, `${age(s.heartbeat_at)} ago`,
      s.approval_required ? "required" : "autonomous", s.current_task ?? "-", String(s.tasks_done), String(s.tasks_failed), oneLine(s.last_error, 60),
    ]);
  }
  c.out(statuses.length === 0 ? "no agents have reported yet\n" : table(rows));
  return 0;
}

function health(args: string[]): number {
  const { values } = parse(args, { agent: { type: "string" } }, 0);
  const c = context(values);
  const agent = (values.agent as string | undefined) || process.env.AGENT_NAME;
  if (!agent) throw new UsageError("health needs --agent NAME or AGENT_NAME");
  const s = readStatus(c.layout, agent);
  const lease = Number(process.env.AGENT_LEASE_SECONDS || s?.lease_seconds || 30);
  const healthy = !!s && s.state !== "stopped" && heartbeatAge(s) <= lease;
  const report = { agent, healthy, state: s?.state ?? null, heartbeat_age_seconds: s ? Math.round(heartbeatAge(s) * 10) / 10 : null, last_error: s?.last_error ?? null };
  if (c.json) printJson(c, report);
  else c.out(healthy ? `${agent}: healthy (heartbeat ${age(s!.heartbeat_at)} ago)\n` : `${agent}: unhealthy (${s ? `state ${s.state}, heartbeat ${age(s.heartbeat_at)} ago, lease ${lease}s` : "no status file yet"})\n`);
  return healthy ? 0 : 1;
}

// ------------------------------------------------------------------ proposals

function effectiveState(p: Proposal, decisionsDir: string): { state: ProposalState; decision: Decision | null } {
  const d = readDecision(decisionsDir, p.id);
  return { state: p.state, decision: d.kind === "decided" ? d.decision : null };
}

function proposals(args: string[]): number {
  const { values } = parse(args, { state: { type: "string" }, agent: { type: "string" } }, 0);
  const state = values.state as string | undefined;
  if (state !== undefined && !PROPOSAL_STATES.includes(state as ProposalState)) throw new UsageError(`--state must be one of ${PROPOSAL_STATES.join(", ")}, got "${state}"`);
  const c = context(values);
  const list = new ProposalStore(c.layout).list({
    ...(state ? { state: state as ProposalState } : {}),
    ...(values.agent ? { agent: values.agent as string } : {}),
  });
  if (c.json) {
    printJson(c, list.map((p) => ({ ...p, decision: effectiveState(p, c.decisionsDir).decision })));
    return 0;
  }
  const rows = [["ID", "STATE", "AGENT", "TASK", "CHANGE", "AGE", "TITLE / REASON"]];
  for (const p of list) {
    const { decision } = effectiveState(p, c.decisionsDir);
    const st = p.state === "pending" && decision ? `pending (${decision.decision}d, not yet applied)` : p.state;
    const change = `${p.diffstat.files.length} file(s) +${p.diffstat.added} -${p.diffstat.removed}`;
    rows.push([p.id, st, p.agent, p.task_id, change, age(p.created_at), oneLine(p.reason ? `${p.task_title}: ${p.reason}` : p.task_title, 70)]);
  }
  c.out(list.length === 0 ? "no proposals\n" : table(rows));
  return 0;
}

function proposalArg(c: Ctx, id: string): Proposal {
  if (!PROPOSAL_ID_PATTERN.test(id)) throw new UsageError(`"${id}" is not a proposal id (p-YYMMDD-HHMMSS-xxxxxx)`);
  const p = new ProposalStore(c.layout).get(id);
  if (!p) throw new Error(`no proposal ${id} in ${c.layout.proposals}`);
  return p;
}

function diff(args: string[]): number {
  const { values, positionals } = parse(args, {}, 1);
  const c = context(values);
  const p = proposalArg(c, positionals[0]!);
  const patch = new ProposalStore(c.layout).patch(p.id);
  if (c.json) printJson(c, { ...p, patch });
  else {
    c.out(`# proposal ${p.id} (${p.state}) by ${p.agent} for task ${p.task_id}: ${p.task_title}\n# base ${p.base_commit}\n`);
    c.out(patch);
  }
  return 0;
}

function decide(args: string[], decision: "approve" | "reject"): number {
  const { values, positionals } = parse(args, { note: { type: "string" }, reason: { type: "string" } }, 1);
  const c = context(values);
  const p = proposalArg(c, positionals[0]!);
  const reason = (values.reason as string | undefined)?.trim();
  if (decision === "reject" && !reason) throw new UsageError("reject needs --reason TEXT");
  if (p.state !== "pending") throw new Error(`proposal ${p.id} is ${p.state}, not pending: nothing to decide`);
  if (!fs.existsSync(c.decisionsDir)) throw new Error(`decisions dir ${c.decisionsDir} does not exist (use --decisions or AGENT_DECISIONS_DIR)`);
  const d: Decision = {
    proposal: p.id, decision, by: c.by, at: new Date().toISOString(),
    ...(decision === "approve" && values.note ? { note: values.note as string } : {}),
    ...(decision === "reject" ? { reason: reason! } : {}),
  };
  writeDecision(c.decisionsDir, d);
  if (c.json) printJson(c, d);
  else c.out(`${decision === "approve" ? "approved" : "rejected"} ${p.id} (agent ${p.agent} ${decision === "approve" ? "applies it" : "records it"} at its next poll)\n`);
  return 0;
}

// ------------------------------------------------------------------ logs

interface Line { time: string; text: string }

function readLogLines(file: string, from: number): { lines: Line[]; size: number } {
  let fd: number;
  try { fd = fs.openSync(file, "r"); } catch { return { lines: [], size: from }; }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < from) from = 0; // rotated
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString("utf8");
    const end = text.lastIndexOf("\n");
    const lines: Line[] = [];
    for (const l of text.slice(0, end + 1).split("\n")) {
      if (!l) continue;
      let time = "";
      try { time = String((JSON.parse(l) as { time?: unknown }).time ?? ""); } catch { /* keep as is */ }
      lines.push({ time, text: l });
    }
    return { lines, size: from + Buffer.byteLength(text.slice(0, end + 1)) };
  } finally {
    fs.closeSync(fd);
  }
}

function formatLog(c: Ctx, l: Line): string {
  if (c.json) return l.text + "\n";
  try {
    const e = JSON.parse(l.text) as Record<string, unknown>;
    const { time, agent, level, event, ...rest } = e;
    const fields = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
    return `${String(time)} ${String(agent).padEnd(12)} ${String(level).padEnd(5)} ${String(event)} ${fields}\n`;
  } catch {
    return l.text + "\n";
  }
}

async function logs(args: string[]): Promise<number> {
  const { values } = parse(args, { agent: { type: "string" }, follow: { type: "boolean", short: "f" }, lines: { type: "string" } }, 0);
  const c = context(values);
  const agent = values.agent as string | undefined;
  const files = (): string[] => {
    let names: string[] = [];
    try { names = fs.readdirSync(c.layout.logs); } catch { /* none yet */ }
    return names
      .filter((n) => n.endsWith(".jsonl") && !n.startsWith(".tmp-"))
      .filter((n) => !agent || n === `${agent}.jsonl` || n === `${agent}.1.jsonl`)
      .map((n) => path.join(c.layout.logs, n));
  };
  const offsets = new Map<string, number>();
  let all: Line[] = [];
  for (const f of files()) {
    const r = readLogLines(f, 0);
    all.push(...r.lines);
    if (!f.endsWith(".1.jsonl")) offsets.set(f, r.size);
  }
  all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  if (values.lines !== undefined) {
    const n = Number(values.lines);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--lines must be a whole number, got "${String(values.lines)}"`);
    all = all.slice(-n);
  }
  for (const l of all) c.out(formatLog(c, l));
  if (!values.follow) return 0;
  let stop = false;
  process.on("SIGINT", () => { stop = true; });
  process.on("SIGTERM", () => { stop = true; });
  while (!stop) {
    await new Promise((r) => setTimeout(r, 300));
    const batch: Line[] = [];
    for (const f of files()) {
      if (f.endsWith(".1.jsonl")) continue;
      const r = readLogLines(f, offsets.get(f) ?? 0);
      offsets.set(f, r.size);
      batch.push(...r.lines);
    }
    batch.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const l of batch) c.out(formatLog(c, l));
  }
  return 0;
}

// ------------------------------------------------------------------ main

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case "task": {
      const [sub, ...args] = rest;
      if (sub === "add") return taskAdd(args);
      if (sub === "show") return taskShow(args);
      throw new UsageError(`unknown "task ${sub ?? ""}": use "task add" or "task show ID"`);
    }
    case "tasks": return tasks(rest);
    case "status": return status(rest);
    case "health": return health(rest);
    case "proposals": return proposals(rest);
    case "diff": return diff(rest);
    case "approve": return decide(rest, "approve");
    case "reject": return decide(rest, "reject");
    case "logs": return logs(rest);
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

process.umask(0o022);
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`agentctl: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`agentctl: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  },
);
