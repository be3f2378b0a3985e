import { LogReader, type LogFilter, type LogLine } from "./logs.js";

/**
 * The comms log: what agent programs wrote into $TASK_MESSAGES, recorded by each agent's runtime
 * in `comms/<agent>.jsonl` (docs/runtime.md "Comms log"), merged here in time order (lines of one
 * run keep their order). Every field is agent-controlled or passed through an agent's runtime:
 * escape before showing.
 */
export interface CommsMessage {
  time: string;
  agent: string;
  task: string;
  text: string;
  /** On a run's closing line: lines over the cap that were not recorded. */
  dropped?: number;
}

/** A line as a message: a line that is not one (hand-edited, torn) comes back whole as its text. */
export function commsMessage(l: LogLine): CommsMessage {
  const e = l.entry;
  const s = (v: unknown): string => (typeof v === "string" ? v : "");
  if (!e) return { time: "", agent: "", task: "", text: l.text };
  return {
    time: s(e.time),
    agent: s(e.agent),
    task: s(e.task),
    text: typeof e.text === "string" ? e.text : l.text,
    ...(typeof e.dropped === "number" && e.dropped > 0 ? { dropped: e.dropped } : {}),
  };
}

/** `read()` the merged messages now, then `poll()` for new ones (the caller paces following). */
export class CommsReader {
  private readonly lines: LogReader;

  constructor(shared: string, filter: LogFilter = {}) {
    this.lines = new LogReader(shared, filter, "comms");
  }

  read(): CommsMessage[] {
    return this.lines.read().map(commsMessage);
  }

  poll(): CommsMessage[] {
    return this.lines.poll().map(commsMessage);
  }
}

/** The merged comms log as it is now. */
export function readComms(shared: string, filter: LogFilter = {}): CommsMessage[] {
  return new CommsReader(shared, filter).read();
}
