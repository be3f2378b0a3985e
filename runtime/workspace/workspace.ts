import * as fs from "node:fs";
import * as path from "node:path";
import { ENV, TASK_ENV } from "../../contract/env.js";
import type { AgentProgram } from "../agentProgram.js";
import { readHead } from "../git.js";
import type { AgentLogger } from "../log.js";
import { messageReadBytes } from "../coordination/commsLog.js";
import { nothingLeft, readRunFiles, type RunFiles } from "../coordination/runFiles.js";
import type { TaskRecord } from "../queue/taskRecord.js";
import type { Mutex } from "../repo/mutex.js";
import type { ProjectRepo } from "../projects/projectRepo.js";
import { runProgram, type ProgramRun } from "../sandbox.js";
import type { RuntimeSettings } from "../settings.js";
import type { AgentUser } from "./agentUser.js";
import { extractChange, NO_CHANGE, refusal, type ExtractedChange } from "./changeExtraction.js";
import { readUsageFile, type UsageRead } from "../usage/usageReport.js";
import { patchSha256 } from "../proposals/patchHash.js";
import { readVerdictFile, type VerdictRead } from "../reviews/verdict.js";
import { createRunDir, ownRunDirs, removeRunDir, runDirFor, type RunDir } from "./runDir.js";

/**
 * One program run in a workspace: how it ended, the commit it started from, and its change
 * (`refused`: why that change may not be proposed).
 */
export interface RunOutcome extends ExtractedChange {
  run: ProgramRun;
  base: string;
  refused?: string;
  /** What the program reported in $TASK_USAGE_FILE (null: nothing), or why the report was refused. */
  usage: UsageRead;
  /** When the program started. */
  startedAt: string;
  /** $TASK_OUTBOX and $TASK_MESSAGES as the run left them (absent when the run was aborted). */
  files?: RunFiles;
  /** Why they could not be read. */
  filesError?: string;
  /** A review task's run: the sha256 of the patch its program was given, and its verdict. */
  review?: { sha256: string; verdict: VerdictRead };
}

export interface WorkspaceOptions {
  settings: Pick<
    RuntimeSettings,
    | "agentName"
    | "appDir"
    | "scratchDir"
    | "capabilities"
    | "outputMaxBytes"
    | "patchMaxBytes"
    | "exclusiveRunAs"
    | "allowBinary"
    | "changeMaxBytes"
    | "budgetUsdPerTask"
    | "canCreateTasks"
    | "outboxMaxTasks"
    | "outboxMaxFileBytes"
    | "outboxMaxRunBytes"
    | "messageMaxChars"
    | "messageMaxLines"
  >;
  /** The shared dir's root (task instruction and context files are relative to it). */
  sharedRoot: string;
  user: AgentUser;
  /** The app repo's lock: the clone is taken under it, so the base commit is exact. */
  appLock: Mutex;
  /** Aborts a running program (runtime shutdown after the grace period). */
  signal: AbortSignal;
  log: AgentLogger;
}

/**
 * Per-task scratch workspaces: a fresh clone of /app made by the agent user, the agent program
 * run there as that user, and the change read back from that user's `git diff`. A run's dir is
 * removed in the background afterwards (`drain()` waits for those removals).
 */
export class Workspace {
  /** Cleanups run in the background, one after another. */
  private cleanups: Promise<void> = Promise.resolve();

  constructor(private readonly o: WorkspaceOptions) {}

  /** Remove run dirs an earlier run of this agent left behind. */
  async removeLeftovers(): Promise<void> {
    for (const dir of ownRunDirs(this.o.settings.scratchDir, this.o.settings.agentName)) {
      await this.remove(dir);
    }
  }

  /** Wait for the background removals scheduled so far. */
  drain(): Promise<void> {
    return this.cleanups;
  }

  /**
   * Run `command` (the program's, or its start check) for `task` on a fresh clone of /app at
   * HEAD, or at `atCommit`; with `project`, on a fresh clone of that shared project's branch
   * instead (same run dir, same agent user, same patch extraction). Throws when the workspace
   * cannot be set up or the change cannot be read; a program that fails is an outcome, not an error.
   */
  async run(
    task: TaskRecord,
    program: AgentProgram,
    command: string[],
    timeoutSeconds: number,
    atCommit?: string,
    project?: ProjectRepo,
  ): Promise<RunOutcome> {
    const { settings: s, user, log } = this.o;
    const d = runDirFor(s.scratchDir, s.agentName, task.id);
    try {
      await createRunDir(d, task, this.o.sharedRoot, user);
      let baseCommit = project
        ? await this.cloneProject(d, project)
        : await this.o.appLock.run(() => this.cloneAtHead(d));
      if (atCommit && atCommit !== baseCommit) {
        const co = await user.run("git", ["checkout", "-q", "--detach", atCommit], d.work, d.home);
        if (co.code !== 0) throw new Error(`git checkout ${atCommit} in the working copy failed: ${co.stderr.trim()}`);
        baseCommit = atCommit;
      }
      // A review task: the patch the reviewer is given is the run dir's copy (root's, read-only
      // for the agent); its verdict binds to the sha256 of exactly these bytes.
      const reviewedSha256 = task.review ? patchSha256(fs.readFileSync(reviewPatchFile(d, task))) : undefined;
      const started = Date.now();
      const startedAt = new Date(started).toISOString();
      const run = await runProgram({
        command,
        cwd: d.work,
        env: programEnv(s, task, program, d, reviewedSha256),
        timeoutMs: timeoutSeconds * 1000,
        stdin: JSON.stringify(task) + "\n",
        maxOutputBytes: s.outputMaxBytes,
        signal: this.o.signal,
        ...(user.runAs ? { runAs: user.runAs } : {}),
        onLine: (stream, line) => log.info("program-output", { task: task.id, stream, line }),
      });
      log.info("program-exited", {
        task: task.id,
        code: run.code,
        signal: run.signal,
        timed_out: run.timedOut,
        ms: Date.now() - started,
        output_bytes: run.outputBytes,
      });
      await this.killLeftovers(task.id);
      // Read once nothing of the agent user runs any more; failed runs cost money too.
      const usage = readUsageFile(d.usageFile, user.runAs?.uid);
      if (reviewedSha256 !== undefined) {
        // A reviewer's change is never proposed and its outbox never queued: only its verdict is read.
        const verdict =
          run.code === 0 && !run.timedOut && !run.aborted ? readVerdictFile(d.verdictFile, user.runAs?.uid) : null;
        return { run, base: baseCommit, ...NO_CHANGE, usage, startedAt, review: { sha256: reviewedSha256, verdict } };
      }
      if (run.aborted) return { run, base: baseCommit, ...NO_CHANGE, usage, startedAt };
      const left = await this.readRunFiles(d);
      if (run.code !== 0 || run.timedOut) return { run, base: baseCommit, ...NO_CHANGE, usage, startedAt, ...left };
      const change = await extractChange(
        user,
        d.work,
        d.home,
        baseCommit,
        s.patchMaxBytes,
        project ? project.objectsDir : path.join(s.appDir, ".git", "objects"),
      );
      const refused = refusal(change, s);
      return { run, base: baseCommit, ...change, ...(refused ? { refused } : {}), usage, startedAt, ...left };
    } finally {
      // After the last command run as the agent user (and again before the runtime removes its part).
      await this.killLeftovers(task.id);
      this.cleanups = this.cleanups.then(() => this.remove(d.base));
    }
  }

  /** The run's outbox and messages, read as the agent user (their reading never fails the task). */
  private async readRunFiles(d: RunDir): Promise<{ files: RunFiles } | { filesError: string }> {
    const s = this.o.settings;
    if (nothingLeft(d.outbox, d.messages)) return { files: { outbox: [], outboxMore: 0, messagesMore: 0 } };
    try {
      const files = await readRunFiles(
        d.outbox,
        d.messages,
        {
          // A few more than may be queued, so that the files over the cap are reported by name.
          maxEntries: s.outboxMaxTasks + 50,
          maxFileBytes: s.outboxMaxFileBytes,
          maxRunBytes: s.outboxMaxRunBytes,
          maxMessageBytes: messageReadBytes({ maxChars: s.messageMaxChars, maxLines: s.messageMaxLines }),
        },
        d.agentDir,
        this.o.user.runAs,
      );
      return { files };
    } catch (err) {
      this.o.log.warn("run-files-unreadable", { dir: d.agentDir, error: (err as Error).message });
      return { filesError: (err as Error).message };
    }
  }

  /** The agent user clones /app into the run dir; returns the commit cloned (call under the app lock). */
  private async cloneAtHead(d: RunDir): Promise<string> {
    const { settings: s, user } = this.o;
    const head = await readHead(s.appDir);
    const cl = await user.run(
      "git",
      [
        // The transport clears GIT_CONFIG_* for the serving side: trust /app there explicitly.
        "clone",
        "-q",
        "--shared",
        `--template=${d.gitTemplate}`,
        "--upload-pack",
        "git -c safe.directory='*' upload-pack",
        s.appDir,
        d.work,
      ],
      s.scratchDir,
      d.home,
    );
    if (cl.code !== 0) throw new Error(`git clone of ${s.appDir} as ${user.name} failed: ${cl.stderr.trim()}`);
    return head;
  }

  /**
   * The agent user clones a shared project (a bare repository, read-only for it) and checks out
   * the branch's commit read just before: the base is exact even when another agent commits
   * meanwhile (commits only add objects, so the one read is always in the clone).
   */
  private async cloneProject(d: RunDir, project: ProjectRepo): Promise<string> {
    const { settings: s, user } = this.o;
    const head = await project.head();
    const cl = await user.run(
      "git",
      [
        "clone",
        "-q",
        "--shared",
        "--no-checkout",
        "--upload-pack",
        "git -c safe.directory='*' upload-pack",
        project.dir,
        d.work,
      ],
      s.scratchDir,
      d.home,
    );
    if (cl.code !== 0)
      throw new Error(
        `git clone of project ${project.name} (${project.dir}) as ${user.name} failed: ${cl.stderr.trim()}`,
      );
    const co = await user.run("git", ["checkout", "-q", "--detach", head], d.work, d.home);
    if (co.code !== 0) throw new Error(`git checkout ${head} of project ${project.name} failed: ${co.stderr.trim()}`);
    return head;
  }

  /** Remove a run dir: the agent user's part, every process it still runs, then the runtime's part. */
  private remove(dir: string): Promise<void> {
    return removeRunDir(dir, this.o.user, this.o.settings.scratchDir, this.o.log, () =>
      this.killAll(path.basename(dir)),
    );
  }

  /**
   * With one agent per container the agent user owns nothing but this run's processes, so what
   * it still runs after the program exited escaped the program's process group (setsid, double
   * fork) and could tamper with later runs: kill it. Only with AGENT_EXCLUSIVE_RUN_AS: on a
   * machine where the user is shared, this would kill other agents' programs too.
   */
  private async killLeftovers(taskId: string): Promise<void> {
    await this.cleanups; // earlier runs' scratch cleanups run as the agent user too
    await this.killAll(taskId);
  }

  private async killAll(what: string): Promise<void> {
    if (!this.o.user.runAs || !this.o.settings.exclusiveRunAs) return;
    const r = await this.o.user.killAll();
    if (r && r.code !== 0)
      this.o.log.warn("leftover-kill-failed", { task: what, code: r.code, signal: r.signal, error: r.stderr.trim() });
  }
}

/** The program's environment: the runtime's own, agent.json's `env`, then the task's variables. */
export function programEnv(
  s: Pick<RuntimeSettings, "agentName" | "capabilities" | "budgetUsdPerTask" | "canCreateTasks">,
  task: TaskRecord,
  program: AgentProgram,
  d: RunDir,
  reviewedSha256?: string,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...program.env,
    HOME: d.home,
    TMPDIR: d.tmp,
    AGENT_NAME: s.agentName,
    AGENT_CAPABILITIES: s.capabilities.join(","),
    TASK_ID: task.id,
    TASK_TITLE: task.title,
    TASK_FILE: d.taskFile,
    TASK_INSTRUCTIONS: d.instructions,
    TASK_CONTEXT_DIR: d.context,
    TASK_ATTEMPT: String(task.attempts + 1),
    TASK_PROJECT: task.project ?? "",
    [TASK_ENV.usageFile]: d.usageFile,
    [TASK_ENV.outbox]: d.outbox,
    [TASK_ENV.messages]: d.messages,
    [ENV.canCreateTasks]: String(s.canCreateTasks),
    ...(s.budgetUsdPerTask !== undefined ? { [TASK_ENV.budgetUsd]: String(s.budgetUsdPerTask) } : {}),
    ...(task.review && reviewedSha256
      ? {
          [TASK_ENV.verdictFile]: d.verdictFile,
          [TASK_ENV.reviewPatch]: reviewPatchFile(d, task),
          [TASK_ENV.reviewSha256]: reviewedSha256,
        }
      : {}),
  };
}

/** A review task's patch in its run dir (the task's context file `<proposal>.patch`). */
function reviewPatchFile(d: RunDir, task: TaskRecord): string {
  return path.join(d.context, `${task.review!.proposal}.patch`);
}
