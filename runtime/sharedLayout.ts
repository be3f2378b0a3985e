import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The shared directory (mounted at /shared in every agent container):
 *
 *   tasks/tmp/                    writers stage here, then rename into pending/
 *   tasks/files/<task-id>/        instructions.md and context/ (immutable once the task is queued)
 *   tasks/pending/<queue-name>    waiting tasks (see taskFileName for the name's fields)
 *   tasks/claimed/<agent>/<queue-name>   leased to one agent
 *   tasks/done/<task-id>.json, tasks/failed/<task-id>.json
 *   proposals/<proposal-id>.json (+ .patch)
 *   agents/<agent>/status.json    heartbeat, current task, approval mode, last error
 *   logs/<agent>.jsonl            one writer per file (safe on NFS, unlike shared O_APPEND)
 *   comms/<agent>.jsonl           the agent's $TASK_MESSAGES lines (one writer per file too)
 *   control/<agent>.json          the operator's switches for one agent (pause); only operators write it
 *   usage/<agent>/<YYYY-MM-DD>.json  the agent's usage ledger for one UTC day (its runtime writes it)
 *   reviews/<proposal-id>/<reviewer>.json  a reviewer agent's verdict (its runtime writes it once)
 */
export interface SharedLayout {
  root: string;
  tasksTmp: string;
  taskFiles: string;
  pending: string;
  claimedRoot: string;
  done: string;
  failed: string;
  proposals: string;
  agentsRoot: string;
  logs: string;
  comms: string;
  controlRoot: string;
  usageRoot: string;
  reviewsRoot: string;
  claimed(agent: string): string;
  taskFilesOf(taskId: string): string;
  agentDir(agent: string): string;
  statusFile(agent: string): string;
  logFile(agent: string): string;
  commsFile(agent: string): string;
  proposalFile(id: string): string;
  patchFile(id: string): string;
  controlFile(agent: string): string;
  usageDir(agent: string): string;
  usageFile(agent: string, day: string): string;
}

export function sharedLayout(root: string): SharedLayout {
  const r = path.resolve(root);
  const j = (...p: string[]) => path.join(r, ...p);
  return {
    root: r,
    tasksTmp: j("tasks", "tmp"),
    taskFiles: j("tasks", "files"),
    pending: j("tasks", "pending"),
    claimedRoot: j("tasks", "claimed"),
    done: j("tasks", "done"),
    failed: j("tasks", "failed"),
    proposals: j("proposals"),
    agentsRoot: j("agents"),
    logs: j("logs"),
    comms: j("comms"),
    controlRoot: j("control"),
    usageRoot: j("usage"),
    reviewsRoot: j("reviews"),
    claimed: (agent) => j("tasks", "claimed", agent),
    taskFilesOf: (id) => j("tasks", "files", id),
    agentDir: (agent) => j("agents", agent),
    statusFile: (agent) => j("agents", agent, "status.json"),
    logFile: (agent) => j("logs", `${agent}.jsonl`),
    commsFile: (agent) => j("comms", `${agent}.jsonl`),
    proposalFile: (id) => j("proposals", `${id}.json`),
    patchFile: (id) => j("proposals", `${id}.patch`),
    controlFile: (agent) => j("control", `${agent}.json`),
    usageDir: (agent) => j("usage", agent),
    usageFile: (agent, day) => j("usage", agent, `${day}.json`),
  };
}

/**
 * Create the shared tree (mode 0755: readable by agent programs, writable only by the runtime
 * and the operator). Fails with a clear error when the root is missing or not writable.
 */
export function ensureSharedLayout(l: SharedLayout, agent?: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(l.root);
  } catch {
    throw new Error(`shared dir ${l.root} does not exist (set AGENT_SHARED_DIR or --shared)`);
  }
  if (!st.isDirectory()) throw new Error(`shared dir ${l.root} is not a directory`);
  const dirs = [
    l.tasksTmp,
    l.taskFiles,
    l.pending,
    l.claimedRoot,
    l.done,
    l.failed,
    l.proposals,
    l.agentsRoot,
    l.logs,
    l.comms,
    l.controlRoot,
    l.usageRoot,
    l.reviewsRoot,
  ];
  if (agent) dirs.push(l.claimed(agent), l.agentDir(agent), l.usageDir(agent));
  for (const d of dirs) {
    try {
      fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new Error(`cannot create ${d} in the shared dir: ${(err as Error).message}`);
    }
  }
  try {
    fs.accessSync(l.tasksTmp, fs.constants.W_OK);
  } catch {
    throw new Error(`shared dir ${l.root} is not writable (need write access to ${l.tasksTmp})`);
  }
}
