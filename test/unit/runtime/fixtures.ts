import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach } from "vitest";
import { CurrentProgram } from "../../../runtime/agent/currentProgram.js";
import { StatusBoard } from "../../../runtime/agent/statusBoard.js";
import { ChangeApplier } from "../../../runtime/changes/changeApplier.js";
import { DecisionLoop } from "../../../runtime/decisions/decisionLoop.js";
import { git } from "../../../runtime/git.js";
import { proposalIdForTask } from "../../../runtime/ids.js";
import { AgentLogger, type LogEntry, type LogLevel } from "../../../runtime/log.js";
import { patchSha256 } from "../../../runtime/proposals/patchHash.js";
import { parseNumstat, ProposalStore, type Proposal } from "../../../runtime/proposals/proposal.js";
import { TaskQueue } from "../../../runtime/queue/taskQueue.js";
import type { TaskRecord } from "../../../runtime/queue/taskRecord.js";
import { AppRepo } from "../../../runtime/repo/appRepo.js";
import { resolveRunAs, type RunAs } from "../../../runtime/sandbox.js";
import { loadSettings, type RuntimeSettings } from "../../../runtime/settings.js";
import { ensureSharedLayout, sharedLayout, type SharedLayout } from "../../../runtime/sharedLayout.js";
import { TaskLoop } from "../../../runtime/tasks/taskLoop.js";
import { AgentUser } from "../../../runtime/workspace/agentUser.js";
import { wireParts } from "../../../runtime/wireParts.js";
import { Workspace } from "../../../runtime/workspace/workspace.js";

/** The runtime's parts, in-process, on real temp dirs and real git repos (nothing is mocked). */

export const IS_ROOT = process.getuid?.() === 0;

/** As root, workspaces run as `nobody`, so privilege separation is exercised for real. */
export function testRunAs(): RunAs | undefined {
  return IS_ROOT ? resolveRunAs("nobody") : undefined;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A temp dir removed after the test (mode 0755: the agent user must reach the app dir in it). */
export function tempDir(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "af-rt-unit-")));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

/** A logger that keeps its entries in memory (no file, nothing on stdout). */
export class MemoryLog extends AgentLogger {
  readonly entries: LogEntry[] = [];
  constructor(agent = "a1") {
    super(agent, undefined, 0, false);
  }
  override log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    this.entries.push({ time: new Date().toISOString(), agent: this.agent, level, event, ...fields });
  }
  events(event: string): LogEntry[] {
    return this.entries.filter((e) => e.event === event);
  }
}

export interface World {
  root: string;
  app: string;
  shared: string;
  decisions: string;
  scratch: string;
  layout: SharedLayout;
  settings: RuntimeSettings;
}

/** Dirs of one agent; `files` go into its app dir (an agent.json is not written unless given). */
export function makeWorld(opts: { env?: Record<string, string>; files?: Record<string, string> } = {}): World {
  const root = tempDir();
  const app = path.join(root, "app");
  const shared = path.join(root, "shared");
  const decisions = path.join(root, "decisions");
  const scratch = path.join(root, "scratch");
  for (const d of [app, shared, decisions, scratch]) fs.mkdirSync(d, { mode: 0o755 });
  fs.chmodSync(scratch, 0o1777);
  for (const [f, c] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
    fs.writeFileSync(path.join(app, f), c);
  }
  const settings = loadSettings({
    AGENT_NAME: "a1",
    APPROVAL_REQUIRED: "true",
    AGENT_APP_DIR: app,
    AGENT_SHARED_DIR: shared,
    AGENT_DECISIONS_DIR: decisions,
    AGENT_SCRATCH_DIR: scratch,
    AGENT_POLL_MS: "20",
    AGENT_BACKOFF_BASE_MS: "0",
    AGENT_BACKOFF_MAX_MS: "0",
    ...opts.env,
  });
  const layout = sharedLayout(shared);
  ensureSharedLayout(layout, settings.agentName);
  return { root, app, shared, decisions, scratch, layout, settings };
}

/** A shell-script agent program: agent.json runs `sh -c script` (and `check`, when given). */
export function shellAgent(script: string, check?: string): Record<string, string> {
  return {
    "agent.json": JSON.stringify({ command: ["sh", "-c", script], ...(check ? { check: ["sh", "-c", check] } : {}) }),
  };
}

export interface Parts {
  w: World;
  log: MemoryLog;
  board: StatusBoard;
  program: CurrentProgram;
  repo: AppRepo;
  queue: TaskQueue;
  proposals: ProposalStore;
  workspace: Workspace;
  changes: ChangeApplier;
  decisions: DecisionLoop;
  tasks: TaskLoop;
}

/** Every part wired as AgentRuntime wires them, on a prepared world (repo created, program read). */
export async function makeParts(w: World): Promise<Parts> {
  const s = w.settings;
  const log = new MemoryLog(s.agentName);
  const board = new StatusBoard(w.layout, s);
  const program = new CurrentProgram(s.appDir, log, board);
  const repo = new AppRepo(s.appDir, log);
  await repo.ensure([]);
  program.reload();
  const queue = new TaskQueue(w.layout);
  const proposals = new ProposalStore(w.layout);
  const user = new AgentUser(testRunAs(), s.patchMaxBytes + 1);
  const { workspace, changes, decisions, tasks } = wireParts({
    settings: s,
    layout: w.layout,
    repo,
    queue,
    proposals,
    program,
    board,
    log,
    user,
    signal: new AbortController().signal,
  });
  return { w, log, board, program, repo, queue, proposals, workspace, changes, decisions, tasks };
}

/**
 * The patch that turns the repo's HEAD into HEAD + `files` (written, then taken back out of the
 * working tree), as the workspace would extract it.
 */
export async function patchOnHead(
  repo: string,
  files: Record<string, string>,
): Promise<{ patch: string; numstat: string; base: string }> {
  const base = (await git(repo, ["rev-parse", "HEAD"])).trim();
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(repo, f), c);
  await git(repo, ["add", "-A"]);
  const numstat = await git(repo, ["diff", "--cached", "--numstat"]);
  const patch = await git(repo, ["diff", "--cached", "--binary", "--full-index"]);
  await git(repo, ["reset", "-q", "--hard", "HEAD"]);
  return { patch, numstat, base };
}

let seq = 0;

/** A pending proposal of agent a1 in the store, for a change of `files` on the app's HEAD. */
export async function proposeOnHead(
  p: Parts,
  files: Record<string, string>,
  extra: Partial<Proposal> = {},
): Promise<Proposal> {
  const { patch, numstat, base } = await patchOnHead(p.w.app, files);
  const taskId = `t-261129-120000-${"abcdefghjk"[seq % 10]}${"mnpqrstuvw"[Math.floor(seq / 10) % 10]}2345`;
  seq++;
  const id = proposalIdForTask(taskId);
  const now = new Date().toISOString();
  return p.proposals.create(
    {
      id,
      task_id: taskId,
      task_title: `change ${Object.keys(files).join(", ")}`,
      agent: p.w.settings.agentName,
      base_commit: base,
      created_at: now,
      approval_required: true,
      state: "pending",
      diffstat: parseNumstat(numstat),
      patch_file: `proposals/${id}.patch`,
      patch_bytes: Buffer.byteLength(patch),
      decided_by: null,
      decided_at: null,
      note: null,
      reason: null,
      commit: null,
      applied_at: null,
      rolled_back_at: null,
      rollback_commit: null,
      updated_at: now,
      proposed_sha256: patchSha256(Buffer.from(patch)),
      ...extra,
    },
    patch,
  ).proposal;
}

/** An operator's approval of `p`, bound (as agentctl binds it) to the sha256 of its patch. */
export function approvalOf(
  p: Proposal,
  by = "alice",
): { proposal: string; decision: "approve"; by: string; at: string; sha256: string } {
  return { proposal: p.id, decision: "approve", by, at: "2026-11-29T12:00:00.000Z", sha256: p.proposed_sha256! };
}

/** Values of one trailer over a repo's whole history. */
export async function trailers(repo: string, key: string): Promise<string[]> {
  const out = await git(repo, ["log", `--format=%(trailers:key=${key},valueonly)`]);
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

export function read(repo: string, file: string): string {
  return fs.readFileSync(path.join(repo, file), "utf8");
}

/** A task record as claimed by a1 (runs and run dirs only read its id and files). */
export function claimedTask(id = "t-261129-120000-abcdef", extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    title: "T",
    description: "do it",
    instruction_file: null,
    context_files: [],
    status: "claimed",
    priority: 5,
    agent: null,
    capability: null,
    attempts: 0,
    max_attempts: 0,
    claimed_by: "a1",
    claimed_at: null,
    completed_at: null,
    created_at: "",
    created_by: "test",
    last_error: null,
    result: null,
    history: [],
    ...extra,
  };
}
