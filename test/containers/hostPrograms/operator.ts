import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { run, type RunResult } from "../../harness/docker/index.js";
import { FinalStateError, waitFor } from "../fleet.js";

/**
 * The operator's side of a deployed fleet: the host `agentctl` wrapper the program installed,
 * reached however the stack's outputs say (directly on the local machine, over SSH on a VPS).
 * Instruction files are written to `opsDir`, the operator's working folder on the host.
 */
export class Operator {
  constructor(
    /** Runs the installed wrapper with these arguments from `opsDir` on the host. */
    private readonly invoke: (args: string[]) => Promise<RunResult>,
    readonly opsDir: string,
  ) {}

  agentctl(args: string[]): Promise<RunResult> {
    return this.invoke(args);
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.invoke(args);
    if (r.code !== 0)
      throw new Error(`agentctl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async json<T = any>(args: string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, "--json"])) as T;
  }

  async addTask(title: string, instructions: string, agent: string): Promise<string> {
    const file = `task-${randomBytes(4).toString("hex")}.md`;
    writeFileSync(path.join(this.opsDir, file), instructions, { mode: 0o644 });
    const id = (
      await this.ok(["task", "add", "--title", title, "--instructions", `./${file}`, "--agent", agent])
    ).trim();
    if (!/^t-/.test(id)) throw new Error(`agentctl task add printed "${id}", not a task id`);
    return id;
  }

  proposals(): Promise<any[]> {
    return this.json(["proposals"]);
  }

  waitProposal(taskId: string, states: string[]): Promise<any> {
    return waitFor(
      `a proposal for ${taskId} in state ${states.join("|")}`,
      async () => {
        const p = (await this.proposals()).find((x) => x.task_id === taskId);
        if (p && !states.includes(p.state) && ["rejected", "conflict", "rolled-back"].includes(p.state)) {
          throw new FinalStateError(`proposal ${p.id} for ${taskId} ended ${p.state}: ${p.reason}`);
        }
        if (!p) {
          const t = await this.json(["task", "show", taskId]);
          if (t.status === "failed")
            throw new FinalStateError(`task ${taskId} failed: ${JSON.stringify(t.result ?? t.last_error)}`);
        }
        return p && states.includes(p.state) ? p : undefined;
      },
      240_000,
      1000,
    );
  }
}

/** git in an agent's code folder (read from the test machine; on the VPS target it is the same folder). */
export async function git(codeDir: string, args: string[]): Promise<string> {
  const r = await run("git", ["-c", "safe.directory=*", ...args], { cwd: codeDir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")} in ${codeDir} failed: ${r.stderr}`);
  return r.stdout;
}
