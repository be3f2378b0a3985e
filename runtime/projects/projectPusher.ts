import { gitTry } from "../git.js";
import type { AgentLogger } from "../log.js";
import type { StatusBoard } from "../agent/statusBoard.js";
import type { ProjectPushStatus } from "../status.js";
import type { ProjectRepo } from "./projectRepo.js";

/**
 * The git config key, in a project's bare repository, naming the remote its applied commits are
 * pushed to. The host writes it from the stack config (`projects[i].remote`) when it seeds the
 * project (and again when the setting changes); the repository is root's, so agents cannot set it.
 */
export const PUSH_REMOTE_KEY = "agent-fleet.remote";

/** First retry of a failed push; doubled per failure up to PUSH_BACKOFF_MAX_MS. */
export const PUSH_BACKOFF_BASE_MS = 5_000;
export const PUSH_BACKOFF_MAX_MS = 5 * 60_000;

/**
 * Pushes a project's branch to its remote after commits land. A push sends the branch as it is
 * now (never one commit), so any agent's push carries every commit before it, a failed push loses
 * nothing (the commits stay in the project's repository) and is retried with backoff, and the
 * state is in this agent's status (`projects`), shown by `agentctl status`.
 */
export class ProjectPusher {
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly o: {
      board: StatusBoard;
      log: AgentLogger;
      baseMs?: number;
      maxMs?: number;
    },
  ) {}

  /** Push now (or right after the push under way). Never throws: failures are recorded and retried. */
  push(project: ProjectRepo): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.busy.has(project.name)) {
      this.again.add(project.name);
      return Promise.resolve();
    }
    return this.pushOnce(project);
  }

  /** No more pushes or retries (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async pushOnce(project: ProjectRepo): Promise<void> {
    const { board, log } = this.o;
    this.busy.add(project.name);
    clearTimeout(this.timers.get(project.name));
    this.timers.delete(project.name);
    try {
      const remote = await remoteOf(project);
      if (!remote) return;
      const head = await project.head();
      const prev = this.state(project.name);
      // ext:: runs a command and a remote helper could too: only the transports a URL may name.
      const r = await gitTry(project.dir, [
        "-c",
        "protocol.allow=never",
        "-c",
        "protocol.file.allow=always",
        "-c",
        "protocol.https.allow=always",
        "-c",
        "protocol.ssh.allow=always",
        "-c",
        "protocol.git.allow=always",
        "push",
        "--porcelain",
        "--",
        remote,
        `${project.ref}:${project.ref}`,
      ]);
      const now = new Date().toISOString();
      if (r.code === 0) {
        this.setState(project.name, {
          remote,
          head,
          pushed: head,
          pushed_at: now,
          push_error: null,
          push_failures: 0,
          next_push_at: null,
        });
        if (prev.push_failures > 0) log.info("project-push-recovered", { project: project.name, commit: head });
        else log.info("project-pushed", { project: project.name, commit: head });
        return;
      }
      const failures = prev.push_failures + 1;
      const base = this.o.baseMs ?? PUSH_BACKOFF_BASE_MS;
      const wait = Math.min(base * 2 ** (failures - 1), this.o.maxMs ?? PUSH_BACKOFF_MAX_MS);
      const error = (r.stderr.trim() || r.stdout.trim() || `git push exited with ${r.code}`).slice(-500);
      this.setState(project.name, {
        ...prev,
        remote,
        head,
        push_error: error,
        push_failures: failures,
        next_push_at: new Date(Date.now() + wait).toISOString(),
      });
      log.warn("project-push-failed", { project: project.name, commit: head, failures, retry_ms: wait, error });
      board.setError(`project ${project.name}: push to its remote failed (${failures}x, retrying): ${error}`);
      if (!this.stopped) {
        const t = setTimeout(() => void this.push(project), wait);
        t.unref();
        this.timers.set(project.name, t);
      }
    } catch (err) {
      log.error("project-push-error", { project: project.name, error: (err as Error).message });
    } finally {
      this.busy.delete(project.name);
      if (this.again.delete(project.name)) await this.push(project);
    }
  }

  private state(name: string): ProjectPushStatus {
    return (
      this.o.board.status.projects?.[name] ?? {
        remote: null,
        head: null,
        pushed: null,
        pushed_at: null,
        push_error: null,
        push_failures: 0,
        next_push_at: null,
      }
    );
  }

  private setState(name: string, s: ProjectPushStatus): void {
    const st = this.o.board.status;
    st.projects = { ...(st.projects ?? {}), [name]: s };
    this.o.board.write();
  }
}

/** The remote a project's commits go to (PUSH_REMOTE_KEY in its repository), or undefined. */
export async function remoteOf(project: ProjectRepo): Promise<string | undefined> {
  const r = await gitTry(project.dir, ["config", "--get", PUSH_REMOTE_KEY]);
  const url = r.code === 0 ? r.stdout.trim() : "";
  return url !== "" && !url.startsWith("-") ? url : undefined;
}
