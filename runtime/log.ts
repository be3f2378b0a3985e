import * as fs from "node:fs";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogEntry {
  time: string;
  agent: string;
  level: LogLevel;
  event: string;
  [field: string]: unknown;
}

/**
 * Structured JSON-lines log of one agent: `logs/<agent>.jsonl` in the shared dir (one writer per
 * file, so appends are safe on NFS too) and the same lines on stdout (for `docker logs`).
 * The file is rotated to `<agent>.1.jsonl` when it passes `maxBytes`.
 */
export class AgentLogger {
  private fd: number | undefined;
  private size = 0;

  constructor(
    readonly agent: string,
    private readonly file: string | undefined,
    private readonly maxBytes = 10 * 1024 * 1024,
    private readonly echo = true,
  ) {}

  open(): void {
    if (!this.file) return;
    this.fd = fs.openSync(this.file, "a", 0o644);
    this.size = fs.fstatSync(this.fd).size;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    const entry: LogEntry = { time: new Date().toISOString(), agent: this.agent, level, event, ...fields };
    const line = JSON.stringify(entry) + "\n";
    if (this.echo) process.stdout.write(line);
    if (this.fd === undefined) return;
    try {
      if (this.size + line.length > this.maxBytes && this.file) {
        fs.closeSync(this.fd);
        fs.renameSync(this.file, this.file.replace(/\.jsonl$/, ".1.jsonl"));
        this.fd = fs.openSync(this.file, "a", 0o644);
        this.size = 0;
      }
      fs.writeSync(this.fd, line);
      this.size += Buffer.byteLength(line);
    } catch (err) {
      process.stderr.write(`agent-runtime: cannot write log ${this.file}: ${(err as Error).message}\n`);
    }
  }

  info(event: string, fields?: Record<string, unknown>): void {
    this.log("info", event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.log("warn", event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.log("error", event, fields);
  }
  debug(event: string, fields?: Record<string, unknown>): void {
    this.log("debug", event, fields);
  }
}
