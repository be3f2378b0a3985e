import { reviewLines, reviewState } from "./reviewLines.js";
import * as fs from "node:fs";
import * as os from "node:os";
import { Command, CommanderError, Option } from "commander";
import { PROPOSAL_STATES } from "../proposals/proposal.js";
import { MAX_PRIORITY, MIN_PRIORITY, TASK_STATES } from "../queue/taskRecord.js";
import { pauseAgent, resumeAgent } from "../operator/agents.js";
import { parseSince, usageSummary } from "../operator/usage.js";
import { decide } from "../operator/decisions.js";
import { InvalidInput, OperatorError } from "../operator/errors.js";
import { escapeText, safeLine } from "../operator/escape.js";
import { LogReader, type LogLine } from "../operator/logs.js";
import { CommsReader, type CommsMessage } from "../operator/comms.js";
import { listProposals, showProposal } from "../operator/proposals.js";
import { patchSpecials } from "../operator/specialFiles.js";
import { agentHealth, fleetStatus } from "../operator/status.js";
import { addTask, listTasks, retryTask, showTask } from "../operator/tasks.js";
import type { OperatorDirs } from "../operator/dirs.js";
import {
  MAX_TASK_ATTEMPTS,
  parseLineCount,
  parseMaxAttempts,
  parseName,
  parsePriority,
  parseProposalId,
  parseProposalState,
  parseSha256,
  parseTaskId,
  parseTaskState,
} from "../operator/validate.js";
import { SERVE_HELP } from "../console/serveOptions.js";
import { notificationSinks } from "../notify/status.js";
import { age, Presenter, table } from "./present.js";

/**
 * agentctl: the operator's CLI for a fleet's shared dir and decisions dir, on commander. The
 * operations are the operator library's (../operator/); this file parses arguments and presents
 * results. On a Docker host it runs inside a throw-away container of the agent image (the host
 * wrapper), so every file it needs from the caller (instructions, context) is copied into the queue.
 */

/** What a run of agentctl reads and writes besides the fleet's dirs (in-process tests pass their own). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** All of standard input (task add --instructions -). */
  readStdin(): Buffer;
  /** Ends `logs --follow`; without it, SIGINT or SIGTERM do. */
  signal?: AbortSignal;
  /** Poll interval of `logs --follow`. */
  followIntervalMs?: number;
}

/** Exit codes: 0 ok, 1 an operation failed (or unhealthy), 2 a usage error. */
export const EXIT_USAGE = 2;

interface GlobalOptions {
  shared?: string;
  decisions?: string;
  json?: boolean;
  by?: string;
}

interface Ctx {
  dirs: OperatorDirs;
  json: boolean;
  by: string;
  io: Io;
  p: Presenter;
}

/** Thrown by an action to end the run with this exit code (after its output). */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function operatorName(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  let name = flag || env.AGENTCTL_USER || env.SUDO_USER || env.USER;
  if (!name) {
    try {
      name = os.userInfo().username;
    } catch {
      name = "operator";
    }
  }
  return name;
}

/** Typed option values: the library's parser, naming the option in its message. */
const typed =
  <T>(parse: (raw: string, label: string) => T, flag: string) =>
  (raw: string): T =>
    parse(raw, flag);

function readInstructions(file: string, io: Io): Buffer {
  if (file === "-") return io.readStdin();
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(
      `cannot read --instructions ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
}

function formatLog(c: Ctx, l: LogLine): string {
  if (c.json) return (l.entry ? c.p.json(l.entry).replace(/\n\s*/g, "") : c.p.cell(l.text)) + "\n";
  if (!l.entry) return c.p.cell(l.text) + "\n";
  const { time, agent, level, event, ...rest } = l.entry;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const line = `${String(time)} ${String(agent).padEnd(12)} ${String(level).padEnd(5)} ${String(event)} ${fields}`;
  return c.p.cell(line) + "\n";
}

/** One message: `TIME AGENT TASK text` (every field escaped), or one JSON object per line. */
function formatMessage(c: Ctx, m: CommsMessage): string {
  if (c.json) return c.p.json(m).replace(/\n\s*/g, "") + "\n";
  // The text exactly (no whitespace collapsed), one line, escaped.
  const text = c.p.tally(escapeText(m.text, { multiline: false }));
  return `${c.p.cell(m.time)} ${c.p.cell(m.agent).padEnd(12)} ${c.p.cell(m.task)} ${text}\n`;
}

/** Print what `reader` holds now, then, with `follow`, what it gets until interrupted (logs, comms). */
async function printMerged<T>(
  io: Io,
  reader: { read(): T[]; poll(): T[] },
  format: (x: T) => string,
  follow: boolean | undefined,
): Promise<void> {
  for (const x of reader.read()) io.out(format(x));
  if (!follow) return;
  const stop = io.signal ?? signalOnTermination();
  while (!stop.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, io.followIntervalMs ?? 300);
      stop.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
    for (const x of reader.poll()) io.out(format(x));
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("agentctl");
  program
    .description("Operate an agent fleet: queue tasks, review and decide proposals, watch agents.")
    .addOption(new Option("--shared <dir>", "shared dir (default: $AGENT_SHARED_DIR or /shared)"))
    .addOption(new Option("--decisions <dir>", "decisions dir (default: $AGENT_DECISIONS_DIR or /decisions)"))
    .option("--json", "machine-readable output")
    .addOption(
      new Option(
        "--by <name>",
        "who decides or queues (default: $AGENTCTL_USER, $SUDO_USER, $USER, or the login name)",
      ),
    )
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`agentctl: ${escapeText(s.replace(/^error: /, "")).text}`),
    })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();

  const ctx = (cmd: Command): Ctx => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    return {
      dirs: {
        shared: g.shared || io.env.AGENT_SHARED_DIR || "/shared",
        decisions: g.decisions || io.env.AGENT_DECISIONS_DIR || "/decisions",
      },
      json: g.json === true,
      by: operatorName(g.by, io.env),
      io,
      p: new Presenter(),
    };
  };

  /** Runs an action with its context; escaping warnings go to stderr after its output. */
  const run =
    <A extends unknown[]>(fn: (c: Ctx, ...args: A) => void | number | Promise<void | number>) =>
    async (...args: [...A, Command]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const c = ctx(cmd);
      let code: void | number;
      try {
        code = await fn(c, ...(args.slice(0, -1) as A));
      } finally {
        const w = c.p.warnings();
        if (w && !c.json) io.err(w);
      }
      if (typeof code === "number" && code !== 0) throw new Exit(code);
    };

  // ---------------------------------------------------------------- tasks
  const task = program.command("task").description("queue a task or show one");
  task
    .command("add")
    .description("queue a task; prints its id")
    .option("--title <text>", "short title (required)")
    .option("--instructions <file>", "instructions file (markdown), or - for standard input")
    .option("--description <text>", "short instructions, instead of --instructions")
    .option(
      "--context <path>",
      "file or directory copied into the task's context (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addOption(
      new Option("--agent <name>", "only this agent may take it")
        .argParser(typed(parseName, "--agent"))
        .conflicts("capability"),
    )
    .addOption(
      new Option("--capability <name>", "only an agent with this capability may take it").argParser(
        typed(parseName, "--capability"),
      ),
    )
    .addOption(
      new Option(
        "--project <name>",
        "work on this shared project (the program runs in a clone of it; its change is committed to it)",
      ).argParser(typed(parseName, "--project")),
    )
    .addOption(
      new Option(
        `--priority <${MIN_PRIORITY}-${MAX_PRIORITY}>`,
        `${MAX_PRIORITY} is the most urgent (default 5)`,
      ).argParser(typed(parsePriority, "--priority")),
    )
    .addOption(
      new Option(
        `--max-attempts <1-${MAX_TASK_ATTEMPTS}>`,
        "attempt limit (default: the agent's AGENT_MAX_ATTEMPTS)",
      ).argParser(typed(parseMaxAttempts, "--max-attempts")),
    )
    .action(
      run(
        (
          c,
          o: {
            title?: string;
            instructions?: string;
            description?: string;
            context?: string[];
            agent?: string;
            capability?: string;
            project?: string;
            priority?: number;
            maxAttempts?: number;
          },
        ) => {
          if (!o.title?.trim()) throw new InvalidInput("title", "task add needs --title");
          if (o.instructions === undefined && !o.description)
            throw new InvalidInput(
              "instructions",
              "task add needs --instructions FILE (or - for stdin) or --description TEXT",
            );
          const record = addTask(c.dirs.shared, {
            title: o.title,
            createdBy: c.by,
            contextPaths: o.context ?? [],
            ...(o.description !== undefined ? { description: o.description } : {}),
            ...(o.instructions !== undefined ? { instructions: readInstructions(o.instructions, io) } : {}),
            ...(o.agent !== undefined ? { agent: o.agent } : {}),
            ...(o.capability !== undefined ? { capability: o.capability } : {}),
            ...(o.project !== undefined ? { project: o.project } : {}),
            ...(o.priority !== undefined ? { priority: o.priority } : {}),
            ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
          });
          io.out(c.json ? c.p.json(record) : `${record.id}\n`);
        },
      ),
    );
  task
    .command("show")
    .description("one task record (JSON)")
    .argument("<id>", "task id")
    .action(run((c, id: string) => io.out(c.p.json(showTask(c.dirs.shared, id)))));

  program
    .command("retry")
    .description(
      "run a finished task again on its agent's current HEAD, when its proposal did not apply (conflict or refused)",
    )
    .argument("<id>", "task id")
    .action(
      run((c, id: string) => {
        const r = retryTask(c.dirs.shared, id, c.by);
        io.out(
          c.json
            ? c.p.json(r)
            : `re-queued ${r.task.id} (proposal ${r.previous_proposal} did not apply; the re-run proposes ${r.next_proposal})\n`,
        );
      }),
    );

  program
    .command("tasks")
    .description("the queue, oldest first")
    .addOption(
      new Option("--state <state>", "only tasks in this state")
        .choices(TASK_STATES)
        .argParser(typed(parseTaskState, "--state")),
    )
    .addOption(
      new Option("--agent <name>", "only tasks for or claimed by this agent").argParser(typed(parseName, "--agent")),
    )
    .addOption(
      new Option("--project <name>", "only tasks for this shared project").argParser(typed(parseName, "--project")),
    )
    .addOption(
      new Option("--parent <id>", "only the tasks this task's run created (a coordinator's)").argParser(
        typed(parseTaskId, "--parent"),
      ),
    )
    .action(
      run((c, o: { state?: (typeof TASK_STATES)[number]; agent?: string; project?: string; parent?: string }) => {
        const list = listTasks(c.dirs.shared, {
          ...(o.state ? { state: o.state } : {}),
          ...(o.agent ? { agent: o.agent } : {}),
          ...(o.project ? { project: o.project } : {}),
          ...(o.parent ? { parent: o.parent } : {}),
        });
        if (c.json) return io.out(c.p.json(list));
        const rows = [["ID", "STATUS", "PRI", "TRY", "FOR", "AGENT", "BY", "TITLE", "RESULT"]];
        for (const t of list) {
          const who = t.agent ? `agent:${t.agent}` : t.capability ? `cap:${t.capability}` : "any";
          const target = t.project ? `${who} project:${t.project}` : who;
          const res = t.result
            ? `${t.result.outcome}${t.result.proposal_id ? " " + t.result.proposal_id : ""}${t.result.error ? ": " + c.p.cell(t.result.error, 50) : ""}`
            : t.last_error
              ? `last error: ${c.p.cell(t.last_error, 40)}`
              : "-";
          rows.push([
            c.p.cell(t.id),
            t.status,
            String(t.priority),
            String(t.attempts),
            c.p.cell(target),
            c.p.cell(t.claimed_by),
            c.p.cell(t.created_by, 20),
            c.p.cell(t.title, 40),
            c.p.cell(res),
          ]);
        }
        io.out(list.length === 0 ? "no tasks\n" : table(rows));
      }),
    );

  // ---------------------------------------------------------------- status / health
  program
    .command("status")
    .description("each agent: heartbeat age, current task, approval mode, last error")
    .action(
      run((c) => {
        const statuses = fleetStatus(c.dirs.shared);
        if (c.json) return io.out(c.p.json(statuses));
        const rows = [["AGENT", "STATE", "HEARTBEAT", "APPROVAL", "CURRENT TASK", "DONE", "FAILED", "LAST ERROR"]];
        for (const s of statuses) {
          rows.push([
            c.p.cell(s.agent),
            (s.alive
              ? c.p.cell(s.state) + (s.idle_since ? " (idle)" : "")
              : s.idle_stopped
                ? "idle-stopped"
                : s.state === "stopped"
                  ? "stopped"
                  : "dead?") +
              (s.paused ? " (paused)" : "") +
              (s.over_budget ? " (over-budget)" : ""),
            `${age(s.heartbeat_at)} ago`,
            s.approval_required ? "required" : "autonomous",
            c.p.cell(s.current_task),
            String(s.tasks_done),
            String(s.tasks_failed),
            c.p.cell(s.last_error, 60),
          ]);
        }
        io.out(statuses.length === 0 ? "no agents have reported yet\n" : table(rows));
        const pushes = [["AGENT", "PROJECT", "REMOTE", "PUSHED", "PUSH"]];
        for (const s of statuses)
          for (const [name, p] of Object.entries(s.projects ?? {}))
            pushes.push([
              c.p.cell(s.agent),
              c.p.cell(name),
              c.p.cell(p.remote, 40),
              p.pushed ? `${p.pushed.slice(0, 12)} ${age(p.pushed_at ?? "")} ago` : "never",
              p.push_error
                ? `FAILING (${p.push_failures}x, next try ${p.next_push_at ?? "?"}): ${c.p.cell(p.push_error, 60)}`
                : "ok",
            ]);
        if (pushes.length > 1) io.out(`\nproject pushes:\n${table(pushes)}`);
        const sinks = notificationSinks(c.dirs.decisions);
        const sinkRows = [["SINK", "EVENTS", "PENDING", "DELIVERED", "STATE"]];
        for (const s of sinks)
          sinkRows.push([
            c.p.cell(s.label, 50),
            c.p.cell(s.on.join(","), 40),
            String(s.pending),
            String(s.delivered),
            s.state === "failing"
              ? `FAILING (${s.failures}x, next try ${s.next_attempt_at ?? "?"}): ${c.p.cell(s.last_error, 60)}`
              : "ok",
          ]);
        if (sinkRows.length > 1) io.out(`\nnotifications:\n${table(sinkRows)}`);
      }),
    );
  const agentCmd = program.command("agent").description("pause or resume one agent (no Pulumi run needed)");
  agentCmd
    .command("pause")
    .description("the agent claims no new task; its current task finishes; it stays paused across restarts")
    .argument("<name>", "agent name", typed(parseName, "NAME"))
    .option("--reason <text>", "why (shown in status)")
    .action(
      run((c, name: string, o: { reason?: string }) => {
        const r = pauseAgent(c.dirs.shared, { agent: name, by: c.by, ...(o.reason ? { reason: o.reason } : {}) });
        io.out(c.json ? c.p.json(r) : `paused ${r.agent} (it finishes its current task and claims no new one)\n`);
      }),
    );
  agentCmd
    .command("resume")
    .description("the agent claims tasks again")
    .argument("<name>", "agent name", typed(parseName, "NAME"))
    .action(
      run((c, name: string) => {
        const r = resumeAgent(c.dirs.shared, { agent: name, by: c.by });
        io.out(c.json ? c.p.json(r) : `resumed ${r.agent}\n`);
      }),
    );
  program
    .command("usage")
    .description("model usage the agents' programs reported, per agent and UTC day, from their ledgers")
    .addOption(new Option("--agent <name>", "only this agent").argParser(typed(parseName, "--agent")))
    .addOption(
      new Option("--since <day|time>", "from this UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SSZ) on").argParser(
        (v: string) => (parseSince(v, "--since"), v),
      ),
    )
    .action(
      run((c, o: { agent?: string; since?: string }) => {
        const u = usageSummary(c.dirs.shared, {
          ...(o.agent ? { agent: o.agent } : {}),
          ...(o.since ? { since: o.since } : {}),
        });
        if (c.json) return io.out(c.p.json(u));
        if (u.days.length === 0) return io.out("no usage reported\n");
        const usd = (x: number) => `$${x.toFixed(4)}`;
        const rows = [["DAY", "AGENT", "RUNS", "TOKENS IN", "TOKENS OUT", "USD"]];
        for (const d of u.days)
          rows.push([d.day, c.p.cell(d.agent), String(d.runs), String(d.tokens_in), String(d.tokens_out), usd(d.usd)]);
        rows.push([
          "total",
          "",
          String(u.total.runs),
          String(u.total.tokens_in),
          String(u.total.tokens_out),
          usd(u.total.usd),
        ]);
        io.out(table(rows));
      }),
    );
  program
    .command("health")
    .description("exit 0 while the agent's heartbeat is fresh, 1 otherwise (the container health check)")
    .addOption(new Option("--agent <name>", "the agent (default: $AGENT_NAME)"))
    .action(
      run((c, o: { agent?: string }) => {
        const agent = o.agent || io.env.AGENT_NAME;
        if (!agent) throw new InvalidInput("agent", "health needs --agent NAME or AGENT_NAME");
        const lease = io.env.AGENT_LEASE_SECONDS ? Number(io.env.AGENT_LEASE_SECONDS) : undefined;
        const h = agentHealth(c.dirs.shared, agent, Number.isFinite(lease) && lease! > 0 ? lease : undefined);
        if (c.json) {
          const { agent: a, healthy, idle_stopped, state, heartbeat_age_seconds, last_error } = h;
          io.out(c.p.json({ agent: a, healthy, idle_stopped, state, heartbeat_age_seconds, last_error }));
        } else {
          const name = c.p.cell(agent);
          io.out(
            h.healthy
              ? `${name}: healthy (heartbeat ${age(h.heartbeat_at)} ago)\n`
              : h.idle_stopped
                ? `${name}: idle-stopped (stopped by idle scale-down; a task for it wakes it)\n`
                : `${name}: unhealthy (${h.state ? `state ${c.p.cell(h.state)}, heartbeat ${age(h.heartbeat_at)} ago, lease ${h.lease_seconds}s` : "no status file yet"})\n`,
          );
        }
        // Idle-stopped is the agent's intended state, not a failure.
        return h.healthy || h.idle_stopped ? 0 : 1;
      }),
    );

  // ---------------------------------------------------------------- proposals
  program
    .command("proposals")
    .description("proposals with their decision, oldest first")
    .addOption(
      new Option("--state <state>", "only proposals in this (stored) state")
        .choices(PROPOSAL_STATES)
        .argParser(typed(parseProposalState, "--state")),
    )
    .addOption(new Option("--agent <name>", "only this agent's proposals").argParser(typed(parseName, "--agent")))
    .action(
      run((c, o: { state?: (typeof PROPOSAL_STATES)[number]; agent?: string }) => {
        const list = listProposals(c.dirs, {
          ...(o.state ? { state: o.state } : {}),
          ...(o.agent ? { agent: o.agent } : {}),
        });
        if (c.json) return io.out(c.p.json(list));
        const rows = [["ID", "STATE", "AGENT", "TASK", "CHANGE", "AGE", "TITLE / REASON"]];
        const specials: string[] = [];
        for (const p of list) {
          const votes = p.approvals ? ` (${p.approvals.length} of ${p.approvals_required} approvals)` : "";
          const st =
            p.state === "pending" && p.decision
              ? `pending (${p.decision.decision}d, not yet applied)`
              : `${p.state}${p.state === "pending" ? votes + (p.reviews ? reviewState(p.reviews) : "") : ""}`;
          const special = p.special_files ?? [];
          const kinds = (["binary", "symlink", "submodule"] as const)
            .map((k) => [k, special.filter((f) => f.kind === k).length] as const)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${n} ${k.toUpperCase()}`);
          if (kinds.length > 0) specials.push(p.id);
          const change =
            `${p.diffstat.files.length} file(s) +${p.diffstat.added} -${p.diffstat.removed}` +
            (kinds.length > 0 ? ` [${kinds.join(", ")}]` : "");
          rows.push([
            c.p.cell(p.id),
            c.p.cell(st),
            c.p.cell(p.agent),
            c.p.cell(p.task_id),
            change,
            age(p.created_at),
            c.p.cell(p.reason ? `${p.task_title}: ${p.reason}` : p.task_title, 70),
          ]);
        }
        io.out(list.length === 0 ? "no proposals\n" : table(rows));
        if (specials.length > 0)
          c.p.loud.push(
            `${specials.length} proposal(s) write binary files or symlinks ([BINARY]/[SYMLINK] under CHANGE), which a text diff does not show: read \`agentctl diff ID\` before deciding: ${specials.join(", ")}`,
          );
      }),
    );
  program
    .command("diff")
    .description("the patch of a proposal, every control character escaped, with its sha256")
    .argument("<id>", "proposal id")
    .action(
      run((c, id: string) => {
        const { patchBytes, ...p } = showProposal(c.dirs, id);
        // Read from the patch itself (what is applied); the runtime's record adds the sizes of deltas.
        const specials = patchSpecials(patchBytes, p.special_files);
        if (c.json) return io.out(c.p.json({ ...p, special: specials, patch: patchBytes.toString("utf8") }));
        const body = c.p.bytes(patchBytes);
        const header = [
          `# proposal ${c.p.cell(p.id)} (${c.p.cell(p.effective_state)}) by ${c.p.cell(p.agent)} for task ${c.p.cell(p.task_id)}: ${c.p.cell(p.task_title)}`,
          `# base ${c.p.cell(p.base_commit)}`,
          `# sha256 ${p.sha256}  (approve exactly this patch: agentctl approve ${p.id} --sha256 ${p.sha256})`,
        ];
        header.push(...c.p.specialLines(specials, "# "));
        if (specials.length > 0)
          c.p.loud.push(
            `proposal ${p.id} writes ${specials.length} binary file(s) or symlink(s): see the WARNING lines at the top of the diff`,
          );
        if (p.approvals)
          header.push(
            `# needs ${p.approvals_required} distinct approvers; approved so far by: ${p.approvals.map((v) => `${c.p.cell(v.by)}${v.sha256 === p.sha256 ? "" : " (an earlier patch: does not count)"}`).join(", ") || "nobody"}`,
          );
        if (p.reviews) header.push(...reviewLines(p.reviews, (t, max) => c.p.cell(t, max)));
        if (c.p.bidi > 0)
          header.push(`# WARNING: ${c.p.bidi} bidirectional control character(s), shown as [BIDI U+XXXX NAME]`);
        if (c.p.escaped > 0)
          header.push(
            `# note: ${c.p.escaped} control or invisible character(s) or invalid UTF-8 byte(s) shown as escapes (\\xNN, \\uNNNN)`,
          );
        io.out(header.join("\n") + "\n" + body + (body === "" || body.endsWith("\n") ? "" : "\n"));
      }),
    );
  program
    .command("approve")
    .description("approve a pending proposal, bound to its patch's sha256")
    .argument("<id>", "proposal id", typed(parseProposalId, "ID"))
    .option("--note <text>", "a note recorded with the decision")
    .addOption(
      new Option("--sha256 <hex>", "refuse unless the patch's sha256 is this one (as printed by diff)").argParser(
        typed(parseSha256, "--sha256"),
      ),
    )
    .action(
      run((c, id: string, o: { note?: string; sha256?: string }) => {
        const d = decide(c.dirs, {
          id,
          decision: "approve",
          by: c.by,
          ...(o.note ? { note: o.note } : {}),
          ...(o.sha256 ? { sha256: o.sha256 } : {}),
        });
        const partial = d.approvals && d.approvals.have < d.approvals.need;
        io.out(
          c.json
            ? c.p.json(d)
            : partial
              ? `approved ${d.proposal} (${d.approvals!.have} of ${d.approvals!.need} distinct approvals; it applies once ${d.approvals!.need - d.approvals!.have} more approve)\n`
              : `approved ${d.proposal} (sha256 ${d.sha256}; its agent applies it at its next poll)\n`,
        );
      }),
    );
  program
    .command("reject")
    .description("reject a pending proposal")
    .argument("<id>", "proposal id", typed(parseProposalId, "ID"))
    .option("--reason <text>", "why (required)")
    .action(
      run((c, id: string, o: { reason?: string }) => {
        if (!o.reason?.trim()) throw new InvalidInput("reason", "reject needs --reason TEXT");
        const d = decide(c.dirs, { id, decision: "reject", by: c.by, reason: o.reason });
        io.out(c.json ? c.p.json(d) : `rejected ${d.proposal} (its agent records it at its next poll)\n`);
      }),
    );

  // ---------------------------------------------------------------- logs
  program
    .command("logs")
    .description("the agents' logs, merged in time order")
    .addOption(new Option("--agent <name>", "only this agent's log").argParser(typed(parseName, "--agent")))
    .option("-f, --follow", "keep printing new lines until interrupted")
    .addOption(new Option("--lines <n>", "only the last N lines").argParser(typed(parseLineCount, "--lines")))
    .action(
      run(async (c, o: { agent?: string; follow?: boolean; lines?: number }) => {
        const reader = new LogReader(c.dirs.shared, {
          ...(o.agent ? { agent: o.agent } : {}),
          ...(o.lines !== undefined ? { lines: o.lines } : {}),
        });
        await printMerged(io, reader, (l) => formatLog(c, l), o.follow);
      }),
    );

  // ---------------------------------------------------------------- comms
  program
    .command("comms")
    .description("the agents' messages ($TASK_MESSAGES), merged in time order")
    .addOption(new Option("--agent <name>", "only this agent's messages").argParser(typed(parseName, "--agent")))
    .option("-f, --follow", "keep printing new messages until interrupted")
    .addOption(new Option("--lines <n>", "only the last N messages").argParser(typed(parseLineCount, "--lines")))
    .action(
      run(async (c, o: { agent?: string; follow?: boolean; lines?: number }) => {
        const reader = new CommsReader(c.dirs.shared, {
          ...(o.agent ? { agent: o.agent } : {}),
          ...(o.lines !== undefined ? { lines: o.lines } : {}),
        });
        await printMerged(io, reader, (m) => formatMessage(c, m), o.follow);
      }),
    );

  // ---------------------------------------------------------------- serve
  program
    .command("serve")
    .description(SERVE_HELP.description)
    .requiredOption("--listen <host:port>", SERVE_HELP.listen)
    .requiredOption("--tokens <file>", SERVE_HELP.tokens)
    .addOption(
      new Option("--allow-host <name>", SERVE_HELP.allowHost).argParser((v: string, prev: string[] | undefined) => [
        ...(prev ?? []),
        v,
      ]),
    )
    .option("--request-timeout <seconds>", SERVE_HELP.requestTimeout)
    .option("--notify <file>", SERVE_HELP.notify)
    .option(
      "--operator-socket <path>",
      "also answer agentctl's commands on this unix socket (the host agentctl's fast path; mode 0600)",
    )
    .addOption(
      new Option("--operator-socket-group <gid>", "group that may use the operator socket too (mode 0660)").argParser(
        (v: string) => {
          if (!/^\d{1,10}$/.test(v))
            throw new InvalidInput(
              "--operator-socket-group",
              `--operator-socket-group must be a numeric group id, got ${JSON.stringify(v)}`,
            );
          return Number(v);
        },
      ),
    )
    .action(
      run(
        async (
          c,
          o: {
            listen: string;
            tokens: string;
            allowHost?: string[];
            requestTimeout?: string;
            notify?: string;
            operatorSocket?: string;
            operatorSocketGroup?: number;
          },
        ) => {
          const { operatorSocket, operatorSocketGroup, ...serveOptions } = o;
          // Loaded here only: the other commands never pay for the HTTP server.
          const { serve } = await import("../console/serve.js");
          const dirs = { shared: c.dirs.shared, decisions: c.dirs.decisions };
          const server = await serve({ ...serveOptions, ...dirs }, io.out, io.err);
          if (operatorSocket) {
            const { listenOperatorSocket } = await import("./operatorSocket.js");
            const socket = await listenOperatorSocket({
              path: operatorSocket,
              dirs,
              ...(operatorSocketGroup !== undefined ? { group: operatorSocketGroup } : {}),
              log: (line) => io.err(line + "\n"),
            });
            io.out(`agentctl serve: operator socket ${operatorSocket}\n`);
            server.once("close", () => socket.close());
          }
          await new Promise<void>((resolve) => server.once("close", () => resolve()));
        },
      ),
    );

  return program;
}

function signalOnTermination(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return ac.signal;
}

function processIo(): Io {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    readStdin,
  };
}

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

/**
 * Runs agentctl with `argv` (the arguments after the program name); returns the exit code:
 * 0, 1 (an operation failed, or health says unhealthy), 2 (usage: unknown command or option, bad
 * value). Error messages are escaped: they may quote agent-controlled text.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.code;
    if (err instanceof CommanderError) {
      // --help and `help`: exit 0; everything else commander refuses (unknown command or option,
      // missing argument, `task` without a subcommand) is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof InvalidInput) {
      io.err(`agentctl: ${safeLine(err.message)}\n(add --help for usage)\n`);
      return EXIT_USAGE;
    }
    io.err(`agentctl: ${safeLine(err instanceof OperatorError || err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
}
