import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentLogger } from "./log.js";
import { ProposalStore } from "./proposals/proposal.js";
import { TaskQueue } from "./queue/taskQueue.js";
import type { RuntimeSettings } from "./settings.js";
import { ensureSharedLayout, sharedLayout, type SharedLayout } from "./sharedLayout.js";
import { CurrentProgram } from "./agent/currentProgram.js";
import { StatusBoard } from "./agent/statusBoard.js";
import { AppRepo } from "./repo/appRepo.js";
import { checkDirectories, prepareScratchDir, privilegeSeparation } from "./startup/startupChecks.js";
import { PRUNE_EVERY_MS, pruneRejectedPatches, reclaimExpiredLeases } from "./tasks/janitor.js";
import { AgentUser } from "./workspace/agentUser.js";
import { wireParts, type WiredParts } from "./wireParts.js";
import { ProjectRepo } from "./projects/projectRepo.js";
import { ProjectPusher } from "./projects/projectPusher.js";
import { StartupError } from "./startup/startupChecks.js";
import { ENV } from "../contract/env.js";

/** The parts that exist once start-up has decided who runs the agent program. */
type Loops = WiredParts;

/**
 * One agent's runtime, composed of its parts: start-up checks, the app repo, per-task
 * workspaces, the change applier (apply, start check, rollback), and two loops sharing the
 * process: tasks, and decisions (so an approval is applied promptly even while a long task runs).
 */
export class AgentRuntime {
  readonly layout: SharedLayout;
  readonly queue: TaskQueue;
  readonly proposals: ProposalStore;
  readonly board: StatusBoard;
  readonly repo: AppRepo;
  readonly program: CurrentProgram;
  private readonly stopController = new AbortController();
  private loops: Loops | undefined;
  /** The shared projects this agent works on (AGENT_PROJECTS), by name. */
  readonly projects = new Map<string, ProjectRepo>();
  readonly pusher: ProjectPusher;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private watchers: fs.FSWatcher[] = [];

  constructor(
    readonly s: RuntimeSettings,
    readonly log: AgentLogger,
  ) {
    this.layout = sharedLayout(s.sharedDir);
    this.queue = new TaskQueue(this.layout);
    this.proposals = new ProposalStore(this.layout);
    this.board = new StatusBoard(this.layout, s);
    this.repo = new AppRepo(s.appDir, log);
    this.program = new CurrentProgram(s.appDir, log, this.board);
    this.pusher = new ProjectPusher({ board: this.board, log });
  }

  /** Check every directory and setting, repair the app repo; throws an Error naming what is wrong. */
  async prepare(): Promise<void> {
    const s = this.s;
    checkDirectories(s);
    ensureSharedLayout(this.layout, s.agentName);
    this.board.restore();
    this.board.write();
    this.log.open();
    const runAs = privilegeSeparation(s, this.board, this.log);
    prepareScratchDir(s, runAs !== undefined);
    await this.repo.ensure(
      this.proposals
        .list({ agent: s.agentName })
        .filter((p) => p.state === "approved")
        .map((p) => p.id),
    );
    await this.openProjects();
    this.program.reload();
    this.loops = this.compose(new AgentUser(runAs, s.patchMaxBytes + 1));
    await this.loops.workspace.removeLeftovers();
  }

  /** Every project in AGENT_PROJECTS must be a bare repository under AGENT_PROJECTS_DIR. */
  private async openProjects(): Promise<void> {
    const s = this.s;
    for (const name of s.projects) {
      const dir = path.join(s.projectsDir, name);
      const problem = ProjectRepo.problem(dir);
      if (problem) throw new StartupError(`project ${name} (${ENV.projects}): ${problem} (${ENV.projectsDir})`);
      let branch: string;
      try {
        branch = await ProjectRepo.branchOf(dir);
      } catch (err) {
        throw new StartupError(`project ${name} (${ENV.projects}): ${(err as Error).message}`);
      }
      const repo = new ProjectRepo({
        name,
        dir,
        branch,
        agent: s.agentName,
        leaseMs: s.leaseSeconds * 1000,
        log: this.log,
      });
      try {
        repo.prepare();
      } catch (err) {
        throw new StartupError(`project ${name}: ${dir} is not writable by the runtime: ${(err as Error).message}`);
      }
      this.projects.set(name, repo);
    }
  }

  private compose(user: AgentUser): Loops {
    return wireParts({
      settings: this.s,
      layout: this.layout,
      repo: this.repo,
      queue: this.queue,
      proposals: this.proposals,
      program: this.program,
      board: this.board,
      log: this.log,
      user,
      signal: this.stopController.signal,
      projects: this.projects,
      onProjectCommit: (p) => void this.pusher.push(p),
    });
  }

  async start(): Promise<void> {
    const loops = this.loops;
    if (!loops) throw new Error("AgentRuntime.start() before prepare()");
    const s = this.s;
    this.timers.push(setInterval(() => this.board.write(), s.heartbeatSeconds * 1000));
    // Recovery finishes before the first claim: an interrupted apply (or an autonomous proposal
    // the runtime died before applying) moves HEAD, and a task cloned before that would propose
    // on a stale base. A task finished from a proposal whose follow-up a crash cut off (a re-run
    // after its conflict) comes back. Only then do this agent's leftover claims go back to the queue.
    loops.decisions.recover();
    await loops.decisions.checkAll();
    loops.tasks.catchUpFinished();
    loops.tasks.recoverClaims();
    // This run is awake: an earlier run's idle marker goes before the waker could misread it.
    loops.idle.reset();
    this.board.status.state = "running";
    this.board.write();
    this.log.info("started", {
      approval_required: s.approvalRequired,
      capabilities: s.capabilities,
      app_dir: s.appDir,
      shared_dir: s.sharedDir,
      decisions_dir: s.decisionsDir,
      scratch_dir: s.scratchDir,
      projects: s.projects,
      idle_after_seconds: s.idleAfterSeconds ?? null,
      pid: process.pid,
    });
    const janitor = () => reclaimExpiredLeases(this.queue, this.layout, s.agentName, s.leaseSeconds, this.log);
    const janitorEvery = Math.max(1000, Math.floor((s.leaseSeconds * 1000) / 3));
    this.timers.push(setInterval(janitor, janitorEvery));
    janitor();
    const prune = () => pruneRejectedPatches(this.proposals, s.agentName, s.rejectedRetentionDays, this.log);
    this.timers.push(setInterval(prune, PRUNE_EVERY_MS));
    prune();
    // Commits a crash kept from being pushed (or pushed by an agent since gone) go out now.
    for (const p of this.projects.values()) void this.pusher.push(p);
    this.watch(this.layout.pending, () => loops.tasks.wake());
    this.watch(this.layout.controlRoot, () => loops.tasks.wake());
    this.watch(s.decisionsDir, () => loops.decisions.wake());
    await Promise.all([loops.tasks.run(), loops.decisions.run()]);
    await loops.workspace.drain();
    this.pusher.stop();
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) w.close();
    this.board.status.state = "stopped";
    this.board.status.current_task = null;
    this.board.write();
    this.log.info("stopped", {});
    this.log.close();
  }

  /** SIGTERM: finish (or, after the grace period, hand back) the current task, then exit. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.board.status.state = "stopping";
    this.board.write();
    this.log.info("stopping", { grace_seconds: this.s.stopGraceSeconds });
    const t = setTimeout(() => this.stopController.abort(), this.s.stopGraceSeconds * 1000);
    t.unref();
    this.loops?.tasks.stop();
    this.loops?.decisions.stop();
  }

  private watch(dir: string, onChange: () => void): void {
    try {
      const w = fs.watch(dir, { persistent: false }, onChange);
      w.on("error", () => {
        /* polling still runs */
      });
      this.watchers.push(w);
    } catch {
      // NFS and some overlay setups have no change notification: the poll interval covers them.
    }
  }
}
