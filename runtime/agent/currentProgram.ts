import { loadAgentProgram, type AgentProgram } from "../agentProgram.js";
import type { AgentLogger } from "../log.js";
import type { StatusBoard } from "./statusBoard.js";

/**
 * The agent program as `/app/agent.json` describes it now. While it is missing or invalid the
 * agent claims no tasks; the error is logged once (per distinct message) and shown in the status.
 */
export class CurrentProgram {
  private current: AgentProgram | undefined;
  private error: string | undefined;

  constructor(
    private readonly appDir: string,
    private readonly log: AgentLogger,
    private readonly board: StatusBoard,
  ) {}

  get program(): AgentProgram | undefined {
    return this.current;
  }

  /** Read agent.json again. */
  reload(): void {
    try {
      this.current = loadAgentProgram(this.appDir);
      if (this.error) this.log.info("agent-program-ok", {});
      this.error = undefined;
    } catch (err) {
      this.current = undefined;
      const msg = (err as Error).message;
      if (msg !== this.error) this.log.error("agent-program-invalid", { error: msg });
      this.error = msg;
      this.board.setError(msg);
    }
  }

  /** A program read (and found valid) elsewhere: the start check after an applied change. */
  set(program: AgentProgram): void {
    this.current = program;
    this.error = undefined;
  }
}
