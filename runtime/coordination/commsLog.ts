import * as fs from "node:fs";

/**
 * The comms log of one agent: `comms/<agent>.jsonl` in the shared dir, one JSON object per
 * message line (`time`, `agent`, `task`, `text`), appended by this agent's runtime alone (one
 * writer per file: safe on NFS/EFS, where appends from several hosts to one file are not).
 * Rotated to `<agent>.1.jsonl` past `maxBytes`. `agentctl comms` merges the agents' files.
 */
export interface CommsEntry {
  time: string;
  agent: string;
  task: string;
  text: string;
  /** On the closing line of a run that left more than the cap: how many lines were not recorded. */
  dropped?: number;
}

export interface MessageLimits {
  maxChars: number;
  maxLines: number;
}

/** The bytes a run's reader takes from $TASK_MESSAGES at most (a UTF-8 character is ≤ 4 bytes). */
export function messageReadBytes(l: MessageLimits): number {
  return Math.min(l.maxLines * (l.maxChars * 4 + 1), 16 * 1024 * 1024);
}

/**
 * The lines of a run's $TASK_MESSAGES, bounded: empty lines skipped, each cut to `maxChars`
 * (marked), at most `maxLines`; `dropped` counts the lines beyond (plus a partial count when the
 * reader stopped at its byte bound, `moreBytes`).
 */
export function messageLines(
  bytes: Buffer,
  moreBytes: number,
  l: MessageLimits,
): { lines: string[]; dropped: number; moreBytes: number } {
  const all = new TextDecoder("utf-8").decode(bytes).split("\n");
  if (moreBytes > 0 && all.length > 1) all.pop(); // cut mid-line by the byte bound
  const lines: string[] = [];
  let dropped = 0;
  for (const raw of all) {
    if (raw.trim() === "") continue;
    if (lines.length >= l.maxLines) {
      dropped++;
      continue;
    }
    lines.push(
      raw.length > l.maxChars ? `${raw.slice(0, l.maxChars)}… [cut: ${raw.length - l.maxChars} more characters]` : raw,
    );
  }
  return { lines, dropped, moreBytes };
}

export class CommsLog {
  private fd: number | undefined;
  private size = 0;

  constructor(
    private readonly agent: string,
    private readonly file: string,
    private readonly maxBytes: number,
  ) {}

  /** Append one run's messages (in order, one timestamp: they are recorded when the run ends). */
  record(task: string, lines: string[], dropped: number, moreBytes: number): void {
    if (lines.length === 0 && dropped === 0 && moreBytes === 0) return;
    const time = new Date().toISOString();
    const entries: CommsEntry[] = lines.map((text) => ({ time, agent: this.agent, task, text }));
    if (dropped > 0 || moreBytes > 0) {
      const what = [dropped > 0 ? `${dropped} more lines` : "", moreBytes > 0 ? `${moreBytes} more bytes` : ""]
        .filter((x) => x)
        .join(" and ");
      entries.push({ time, agent: this.agent, task, text: `[${what} of this run's messages not recorded]`, dropped });
    }
    this.append(entries.map((e) => JSON.stringify(e) + "\n").join(""));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private append(text: string): void {
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.file, "a", 0o644);
      this.size = fs.fstatSync(this.fd).size;
    }
    const bytes = Buffer.byteLength(text);
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      fs.closeSync(this.fd);
      fs.renameSync(this.file, this.file.replace(/\.jsonl$/, ".1.jsonl"));
      this.fd = fs.openSync(this.file, "a", 0o644);
      this.size = 0;
    }
    fs.writeSync(this.fd, text);
    fs.fsyncSync(this.fd);
    this.size += bytes;
  }
}
