import { readControl } from "./agentControl.js";
import type { CurrentProgram } from "./agent/currentProgram.js";
import type { StatusBoard } from "./agent/statusBoard.js";
import { ChangeApplier } from "./changes/changeApplier.js";
import { StartCheck } from "./changes/startCheck.js";
import { CommsLog } from "./coordination/commsLog.js";
import { Outbox } from "./coordination/outbox.js";
import { DecisionLoop } from "./decisions/decisionLoop.js";
import type { AgentLogger } from "./log.js";
import type { ProposalStore } from "./proposals/proposal.js";
import type { TaskQueue } from "./queue/taskQueue.js";
import type { AppRepo } from "./repo/appRepo.js";
import type { RuntimeSettings } from "./settings.js";
import type { SharedLayout } from "./sharedLayout.js";
import { TaskLoop } from "./tasks/taskLoop.js";
import { IdleScaleDown } from "./agent/idleScaleDown.js";
import { UsageLedger } from "./usage/usageLedger.js";
import { ReviewCoordinator } from "./reviews/reviewCoordinator.js";
import { ReviewStore } from "./reviews/reviewStore.js";
import type { AgentUser } from "./workspace/agentUser.js";
import { Workspace } from "./workspace/workspace.js";
import type { ProjectRepo } from "./projects/projectRepo.js";

/** What the parts are wired from: decided at start-up (who runs the program) or shared state. */
export interface PartsInput {
  settings: RuntimeSettings;
  layout: SharedLayout;
  repo: AppRepo;
  queue: TaskQueue;
  proposals: ProposalStore;
  program: CurrentProgram;
  board: StatusBoard;
  log: AgentLogger;
  user: AgentUser;
  signal: AbortSignal;
  /** The shared projects this agent works on, by name (none: an empty map or absent). */
  projects?: ReadonlyMap<string, ProjectRepo>;
  /** A change was committed to a project. */
  onProjectCommit?: (project: ProjectRepo) => void;
}

export interface WiredParts {
  workspace: Workspace;
  changes: ChangeApplier;
  decisions: DecisionLoop;
  tasks: TaskLoop;
  comms: CommsLog;
  idle: IdleScaleDown;
}

/**
 * The one wiring of an agent's parts, used by AgentRuntime and by the parts' unit tests, so that
 * what the tests exercise is exactly how the runtime composes them.
 */
export function wireParts(i: PartsInput): WiredParts {
  const { settings: s, layout, repo, queue, proposals, program, board, log } = i;
  const workspace = new Workspace({
    settings: s,
    sharedRoot: layout.root,
    user: i.user,
    appLock: repo.lock,
    signal: i.signal,
    log,
  });
  const startCheck = new StartCheck({ agentName: s.agentName, appDir: s.appDir, program, workspace, log });
  const changes = new ChangeApplier({
    repo,
    proposals,
    layout,
    board,
    program,
    startCheck,
    log,
    minFreeBytes: s.minFreeBytes,
    ...(i.projects ? { projects: i.projects } : {}),
    ...(i.onProjectCommit ? { onProjectCommit: i.onProjectCommit } : {}),
  });
  const reviews = new ReviewStore(layout);
  const decisions = new DecisionLoop({
    agentName: s.agentName,
    decisionsDir: s.decisionsDir,
    pollMs: s.pollMs,
    proposals,
    changes,
    board,
    log,
    reviews: new ReviewCoordinator({ agentName: s.agentName, queue, proposals, reviews, log }),
    afterNotApplied: (p) => tasks.afterNotApplied(p),
    afterApplied: (p) => tasks.afterApplied(p),
  });
  const comms = new CommsLog(s.agentName, layout.commsFile(s.agentName), s.logMaxBytes);
  const idle = new IdleScaleDown({
    afterMs: s.idleAfterSeconds === undefined ? undefined : s.idleAfterSeconds * 1000,
    agent: s.agentName,
    layout,
    board,
    log,
    awaitedProposals: () =>
      proposals
        .list({ agent: s.agentName })
        .filter((p) => p.state === "pending")
        .map((p) => p.id),
  });
  // The decision loop calls back into the task loop only once both run.
  const tasks = new TaskLoop({
    settings: s,
    queue,
    proposals,
    program,
    workspace,
    changes,
    awaitDecision: (id) => {
      decisions.track(id);
      decisions.wake();
    },
    control: () => readControl(layout, s.agentName),
    ledger: new UsageLedger(layout, s.agentName),
    reviews,
    idle,
    board,
    log,
    ...(i.projects ? { projects: i.projects } : {}),
    outbox: new Outbox({ settings: s, queue, layout, log, ...(i.projects ? { projects: i.projects } : {}) }),
    comms,
  });
  return { workspace, changes, decisions, tasks, comms, idle };
}
