import * as fs from "node:fs";
import {
  MAX_CONTROL_BY_LENGTH,
  MAX_CONTROL_REASON_LENGTH,
  readControl,
  writeControl,
  type AgentControl,
} from "../agentControl.js";
import { openShared } from "./dirs.js";
import { InvalidInput, NotFound } from "./errors.js";
import { parseName } from "./validate.js";

/**
 * Pause and resume one agent without a Pulumi run: the switch is `control/<agent>.json` in the
 * shared dir, which the agent's runtime reads before every claim (and after every restart).
 */

export interface ControlInput {
  agent: string;
  /** Who pauses or resumes (operator or token name). */
  by: string;
  reason?: string;
}

export function pauseAgent(shared: string, i: ControlInput): AgentControl {
  return setPaused(shared, i, true);
}

export function resumeAgent(shared: string, i: ControlInput): AgentControl {
  return setPaused(shared, i, false);
}

/** The agent's control record, or null when nobody has paused or resumed it. */
export function agentControl(shared: string, agent: string): AgentControl | null {
  return readControl(openShared(shared), parseName(agent, "agent")).record;
}

function setPaused(shared: string, i: ControlInput, paused: boolean): AgentControl {
  const agent = parseName(i.agent, "agent");
  const by = i.by?.trim();
  if (!by) throw new InvalidInput("by", "pausing or resuming needs the name of who does it");
  if (by.length > MAX_CONTROL_BY_LENGTH)
    throw new InvalidInput("by", `the name is longer than ${MAX_CONTROL_BY_LENGTH} characters`);
  const reason = i.reason?.trim() ? i.reason : null;
  if (reason !== null && reason.length > MAX_CONTROL_REASON_LENGTH)
    throw new InvalidInput("reason", `the reason is longer than ${MAX_CONTROL_REASON_LENGTH} characters`);
  const layout = openShared(shared);
  // A typo must not pause nobody: the agent must have started against this shared dir once.
  if (!fs.existsSync(layout.agentDir(agent)))
    throw new NotFound(`no agent named ${agent} has reported to ${layout.root}`);
  const record: AgentControl = { agent, paused, by, at: new Date().toISOString(), reason };
  writeControl(layout, record);
  return record;
}
