import * as fs from "node:fs";
import type * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_CONTROL_REASON_LENGTH, type AgentControl } from "../agentControl.js";
import type { Decision } from "../proposals/decision.js";
import {
  CommsReader,
  addTask,
  decide,
  pauseAgent,
  resumeAgent,
  fleetStatus,
  listProposals,
  listTasks,
  LogReader,
  type LogFilter,
  parseLineCount,
  parseName,
  parseProposalId,
  parseProposalState,
  parseTaskId,
  parseTaskState,
  showProposal,
  showTask,
  type AgentStatusView,
  type OperatorDirs,
  type ProposalView,
} from "../operator/index.js";
import { notificationSinks } from "../notify/status.js";
import { EventStream } from "./eventStream.js";
import { Fields, queryParams, readJsonBody } from "./httpIo.js";
import {
  DEFAULT_STREAM_LINES,
  MAX_BODY_BYTES,
  MAX_CONTEXT_FILES,
  MAX_CONTEXT_NAME_LENGTH,
  MAX_NOTE_LENGTH,
  MAX_STREAM_LINES,
  MAX_STREAMS,
  MAX_TITLE_LENGTH,
  STREAM_POLL_MS,
} from "./limits.js";
import { HttpError, badRequest } from "./problem.js";

/**
 * The /api/v1 operations (docs/console-api.yaml). Each is a thin layer over the operator library
 * (runtime/operator/), which agentctl uses too: this file only turns HTTP requests into its
 * inputs and its results into JSON.
 */
export interface ApiContext {
  dirs: OperatorDirs;
  /** The authenticated token's name (the decider and task creator). */
  operator: string;
  url: URL;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  streams: { open: number };
}

export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An agent as the console shows it: the status file plus what the operator needs at a glance. */
export interface AgentView extends AgentStatusView {
  mode: "approval-required" | "autonomous";
  paused: boolean;
}

export function agents(c: ApiContext): ApiResult {
  queryParams(c.url, []);
  const list: AgentView[] = fleetStatus(c.dirs.shared).map((s) => ({
    ...s,
    mode: s.approval_required ? "approval-required" : "autonomous",
    // As the runtime reports it (it stops claiming once it has read the operator's switch).
    paused: s.paused === true,
  }));
  return { status: 200, body: list };
}

/**
 * Pause or resume one agent (like `agentctl agent pause|resume`): the body is a JSON object,
 * `{}` or `{ "reason": "…" }` (pause only). The answer is the control record as written; the
 * agent's status says `paused` once its runtime has read it (at its next poll).
 */
export async function agentPause(c: ApiContext, name: string, paused: boolean): Promise<ApiResult> {
  queryParams(c.url, []);
  const agent = parseName(name, "name");
  const f = new Fields(await readJsonBody(c.req, MAX_BODY_BYTES));
  const reason = paused ? f.string("reason", { max: MAX_CONTROL_REASON_LENGTH }) : undefined;
  f.noOthers();
  const input = { agent, by: c.operator, ...(reason !== undefined ? { reason } : {}) };
  const record: AgentControl = paused ? pauseAgent(c.dirs.shared, input) : resumeAgent(c.dirs.shared, input);
  return { status: 200, body: record };
}

export function tasksList(c: ApiContext): ApiResult {
  const q = queryParams(c.url, ["state", "agent", "project"]);
  const project = q.project !== undefined ? parseName(q.project, "project") : undefined;
  const list = listTasks(c.dirs.shared, {
    ...(q.state !== undefined ? { state: parseTaskState(q.state) } : {}),
    ...(q.agent !== undefined ? { agent: parseName(q.agent, "agent") } : {}),
    ...(project !== undefined ? { project } : {}),
  });
  return { status: 200, body: list };
}

export function taskGet(c: ApiContext, id: string): ApiResult {
  queryParams(c.url, []);
  const { file: _file, ...t } = showTask(c.dirs.shared, parseTaskId(id));
  return { status: 200, body: t };
}

const CONTEXT_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

export async function taskAdd(c: ApiContext): Promise<ApiResult> {
  queryParams(c.url, []);
  const f = new Fields(await readJsonBody(c.req, MAX_BODY_BYTES));
  const title = f.string("title", { required: true, max: MAX_TITLE_LENGTH })!;
  const instructions = f.string("instructions");
  const description = f.string("description");
  const agent = f.string("agent");
  const capability = f.string("capability");
  const project = f.string("project");
  const priority = f.raw("priority");
  const maxAttempts = f.raw("max_attempts");
  const context = f.raw("context");
  f.noOthers();
  for (const [k, v] of [
    ["priority", priority],
    ["max_attempts", maxAttempts],
  ] as const) {
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isInteger(v)))
      throw badRequest(k, `"${k}" must be a whole number`);
  }
  const files = contextFiles(context);
  const staging = files.length > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), "agent-console-context-")) : undefined;
  try {
    const contextPaths = files.map(({ name, content }) => {
      const p = path.join(staging!, name);
      fs.writeFileSync(p, content, { mode: 0o644, flag: "wx" });
      return p;
    });
    const record = addTask(c.dirs.shared, {
      title,
      createdBy: c.operator,
      contextPaths,
      ...(instructions !== undefined ? { instructions } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(agent !== undefined ? { agent } : {}),
      ...(capability !== undefined ? { capability } : {}),
      ...(project !== undefined ? { project } : {}),
      ...(typeof priority === "number" ? { priority } : {}),
      ...(typeof maxAttempts === "number" ? { maxAttempts } : {}),
    });
    return { status: 201, body: { id: record.id }, headers: { Location: `/api/v1/tasks/${record.id}` } };
  } finally {
    if (staging) fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** `context`: a list of `{ name, content }` text files, written by the server into the task. */
function contextFiles(v: unknown): Array<{ name: string; content: string }> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest("context", `"context" must be a list of { "name", "content" } objects`);
  if (v.length > MAX_CONTEXT_FILES) throw badRequest("context", `"context" has more than ${MAX_CONTEXT_FILES} files`);
  const seen = new Set<string>();
  return v.map((item, i) => {
    const field = `context[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw badRequest(field, `"${field}" must be an object with "name" and "content"`);
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== "name" && k !== "content")
        throw badRequest(`${field}.${k}`, `unknown field "${k.slice(0, 80)}" in "${field}"`);
    if (typeof o.name !== "string" || !CONTEXT_NAME.test(o.name) || o.name.length > MAX_CONTEXT_NAME_LENGTH) {
      throw badRequest(
        `${field}.name`,
        `"${field}.name" must be a file name (letters, digits, . _ -; not . or ..; at most ${MAX_CONTEXT_NAME_LENGTH})`,
      );
    }
    if (seen.has(o.name)) throw badRequest(`${field}.name`, `two context files are named "${o.name}"`);
    seen.add(o.name);
    if (typeof o.content !== "string") throw badRequest(`${field}.content`, `"${field}.content" must be a string`);
    return { name: o.name, content: o.content };
  });
}

export function proposalsList(c: ApiContext): ApiResult {
  const q = queryParams(c.url, ["state", "agent"]);
  const list: ProposalView[] = listProposals(c.dirs, {
    ...(q.state !== undefined ? { state: parseProposalState(q.state) } : {}),
    ...(q.agent !== undefined ? { agent: parseName(q.agent, "agent") } : {}),
  });
  return { status: 200, body: list };
}

export function proposalGet(c: ApiContext, id: string): ApiResult {
  queryParams(c.url, []);
  const { patchBytes, ...p } = showProposal(c.dirs, parseProposalId(id));
  // The patch as text for readers, and its exact bytes (base64) for whoever must hash or show
  // every byte: the UI hashes and renders the bytes, so what it binds an approval to is what it showed.
  return {
    status: 200,
    body: { ...p, patch: patchBytes.toString("utf8"), patch_base64: patchBytes.toString("base64") },
  };
}

export async function proposalDecide(c: ApiContext, id: string, decision: "approve" | "reject"): Promise<ApiResult> {
  queryParams(c.url, []);
  const pid = parseProposalId(id);
  const f = new Fields(await readJsonBody(c.req, MAX_BODY_BYTES));
  // An approval is always bound to the patch the operator saw; a rejection may name it too.
  const sha256 = f.string("sha256", { required: decision === "approve" });
  const note = decision === "approve" ? f.string("note", { max: MAX_NOTE_LENGTH }) : undefined;
  const reason = decision === "reject" ? f.string("reason", { required: true, max: MAX_NOTE_LENGTH }) : undefined;
  f.noOthers();
  const d: Decision = decide(c.dirs, {
    id: pid,
    decision,
    by: c.operator,
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(note !== undefined && note.trim() !== "" ? { note } : {}),
    ...(reason !== undefined ? { reason } : {}),
  });
  return { status: 200, body: d };
}

function followParam(v: string | undefined): boolean {
  if (v === undefined || v === "0" || v === "false") return false;
  if (v === "1" || v === "true") return true;
  throw badRequest("follow", `"follow" must be 1 or 0, got ${JSON.stringify(v.slice(0, 40))}`);
}

function streamLines(v: string | undefined): number {
  if (v === undefined) return DEFAULT_STREAM_LINES;
  const n = parseLineCount(v);
  if (n > MAX_STREAM_LINES) throw badRequest("lines", `"lines" must be at most ${MAX_STREAM_LINES}`);
  return n;
}

function openStream(c: ApiContext): EventStream {
  if (c.streams.open >= MAX_STREAMS)
    throw new HttpError(503, `${MAX_STREAMS} event streams are open already; close one and retry`, undefined, {
      "Retry-After": "5",
    });
  c.streams.open++;
  const s = new EventStream(c.res);
  s.whenClosed(() => {
    c.streams.open--;
  });
  return s;
}

/**
 * Send what `reader` holds now as `event` events, then — with follow — what it gets, polled
 * (logs, comms); without follow the stream ends with an `end` event.
 */
function streamMerged<T>(
  c: ApiContext,
  reader: { read(): T[]; poll(): T[] },
  follow: boolean,
  event: string,
  data: (x: T) => unknown,
): void {
  const initial = reader.read();
  const s = openStream(c);
  for (const x of initial) s.send(event, data(x));
  if (!follow) {
    s.send("end", {});
    s.close();
    return;
  }
  const timer = setInterval(() => {
    if (!s.ready) return;
    try {
      for (const x of reader.poll()) s.send(event, data(x));
    } catch {
      s.close();
    }
  }, STREAM_POLL_MS);
  s.whenClosed(() => clearInterval(timer));
}

/** The query of a merged stream (logs, comms): `agent`, `lines`, `follow`. */
function streamQuery(c: ApiContext): { filter: LogFilter; follow: boolean } {
  const q = queryParams(c.url, ["agent", "follow", "lines"]);
  const agent = q.agent !== undefined ? parseName(q.agent, "agent") : undefined;
  const follow = followParam(q.follow);
  return { filter: { ...(agent ? { agent } : {}), lines: streamLines(q.lines) }, follow };
}

/**
 * The agents' logs as server-sent events: one `log` event per line (the JSON entry as the runtime
 * wrote it; a line that is not JSON comes as `{ "raw": … }`), the newest `lines` first, then — with
 * follow=1 — new lines as they are written. Without follow the stream ends with an `end` event.
 */
export function logs(c: ApiContext): void {
  const { filter, follow } = streamQuery(c);
  streamMerged(c, new LogReader(c.dirs.shared, filter), follow, "log", (l) => l.entry ?? { raw: l.text });
}

/**
 * The agents' messages to each other (the comms log, `agentctl comms`) as server-sent events: one
 * `message` event per line `{time, agent, task, text}`, the newest `lines` first, then — with
 * follow=1 — new ones as the runtimes record them. Without follow the stream ends with `end`.
 */
export function comms(c: ApiContext): void {
  const { filter, follow } = streamQuery(c);
  streamMerged(c, new CommsReader(c.dirs.shared, filter), follow, "message", (m) => m);
}

/** The notification sinks and how their deliveries go (from the console's ledger). */
export function notifications(c: ApiContext): ApiResult {
  queryParams(c.url, []);
  return { status: 200, body: { sinks: notificationSinks(c.dirs.decisions) } };
}
