import { gitEnv, run, type RunResult } from "../git.js";
import type { RunAs } from "../sandbox.js";

/**
 * Everything that touches a run's working copy is done as the agent user (AGENT_RUN_AS) when
 * the runtime is root: the runtime never runs git in an agent-controlled copy itself. As an
 * ordinary user (development) there is nobody to switch to and commands run as that user.
 */
export class AgentUser {
  constructor(
    readonly runAs: RunAs | undefined,
    /** stdout beyond this is cut (and reported as truncated): the patch is read from stdout. */
    private readonly maxStdout: number,
  ) {}

  get name(): string {
    return this.runAs?.name ?? "this user";
  }

  /**
   * A short command as the agent user, in git's fixed environment with `home` as HOME (plus
   * `extra` variables), `input` on its stdin.
   */
  run(
    cmd: string,
    args: string[],
    cwd: string,
    home?: string,
    extra: Record<string, string> = {},
    input?: string,
  ): Promise<RunResult> {
    return run(cmd, args, {
      cwd,
      env: gitEnv(extra, home),
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
      maxStdout: this.maxStdout,
      ...(input !== undefined ? { input } : {}),
    });
  }

  /**
   * Kill every process the agent user owns: `kill -KILL -1` run as that user reaches exactly
   * those (Linux spares the caller). Only for a user that runs nothing but this agent's programs
   * (AGENT_EXCLUSIVE_RUN_AS); undefined when there is no agent user to switch to.
   */
  async killAll(): Promise<RunResult | undefined> {
    if (!this.runAs) return undefined;
    return run("sh", ["-c", "kill -KILL -1 2>/dev/null; exit 0"], {
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      uid: this.runAs.uid,
      gid: this.runAs.gid,
    });
  }
}
