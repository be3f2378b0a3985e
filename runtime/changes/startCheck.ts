import { loadAgentProgram, type AgentProgram } from "../agentProgram.js";
import type { AgentLogger } from "../log.js";
import type { Proposal } from "../proposals/proposal.js";
import type { TaskRecord } from "../queue/taskRecord.js";
import { lastLines } from "../sandbox.js";
import type { CurrentProgram } from "../agent/currentProgram.js";
import type { Workspace } from "../workspace/workspace.js";

/**
 * The agent program must still start after a change: agent.json valid and its `check` command
 * (if any) exiting 0 on a fresh working copy of exactly the applied commit.
 */
export class StartCheck {
  constructor(
    private readonly o: {
      agentName: string;
      appDir: string;
      program: CurrentProgram;
      workspace: Workspace;
      log: AgentLogger;
    },
  ) {}

  /** Check an applied proposal; returns why the program no longer starts, or undefined. */
  async run(p: Proposal): Promise<string | undefined> {
    let program: AgentProgram;
    try {
      program = loadAgentProgram(this.o.appDir);
    } catch (err) {
      return `after this change the agent program no longer starts: ${(err as Error).message}`;
    }
    this.o.program.set(program);
    if (!program.check) return undefined;
    const out = await this.o.workspace.run(
      this.pseudoTask(p),
      program,
      program.check,
      program.checkTimeoutSeconds,
      p.commit!,
    );
    if (out.run.code === 0) {
      this.o.log.info("start-check-passed", { proposal: p.id });
      return undefined;
    }
    const why = out.run.timedOut
      ? `timed out after ${program.checkTimeoutSeconds} s`
      : `exited with ${out.run.code ?? out.run.signal}`;
    return `the start check (${program.check.join(" ")}) ${why} after this change: ${lastLines(out.run.outputTail, 5)}`;
  }

  /** The check runs like a task (same workspace, same environment) under the proposal's task id. */
  private pseudoTask(p: Proposal): TaskRecord {
    return {
      id: p.task_id,
      title: `start check after ${p.id}`,
      description: "",
      instruction_file: null,
      context_files: [],
      status: "claimed",
      priority: 0,
      agent: null,
      capability: null,
      attempts: 0,
      max_attempts: 1,
      claimed_by: this.o.agentName,
      claimed_at: null,
      completed_at: null,
      created_at: "",
      created_by: "runtime",
      last_error: null,
      result: null,
      history: [],
    };
  }
}
