import * as fs from "node:fs";
import * as path from "node:path";
import type { SharedLayout } from "../sharedLayout.js";
import { openShared } from "./dirs.js";

/**
 * The agents' JSON-lines logs (`logs/<agent>.jsonl`, rotated to `<agent>.1.jsonl`), merged in
 * time order. Lines are returned as written (agent-controlled text inside: escape before showing).
 */

export interface LogLine {
  /** The entry's `time` field ("" when the line is not JSON with one). */
  time: string;
  /** The raw line, without its newline. */
  text: string;
  /** The parsed entry, when the line is a JSON object. */
  entry: Record<string, unknown> | null;
}

export interface LogFilter {
  agent?: string;
  /** Only the last N lines (after merging). */
  lines?: number;
}

function byTime(a: LogLine, b: LogLine): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
}

function parseLine(text: string): LogLine {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const entry = v as Record<string, unknown>;
      return { time: String(entry.time ?? ""), text, entry };
    }
  } catch {
    /* not JSON: kept as text */
  }
  return { time: "", text, entry: null };
}

/** Complete lines of `file` from byte `from` on; `size` is where the next read starts. */
function readLines(file: string, from: number): { lines: LogLine[]; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return { lines: [], size: from };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < from) from = 0; // rotated
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    const end = buf.lastIndexOf(0x0a);
    const lines: LogLine[] = [];
    for (const l of buf
      .subarray(0, end + 1)
      .toString("utf8")
      .split("\n"))
      if (l) lines.push(parseLine(l));
    return { lines, size: from + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

/** The JSON-lines files of one kind: `logs` (the runtimes' logs) or `comms` (agents' messages). */
export type LineFiles = "logs" | "comms";

function logFiles(layout: SharedLayout, agent: string | undefined, kind: LineFiles): string[] {
  const dir = layout[kind];
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* none yet */
  }
  return names
    .filter((n) => n.endsWith(".jsonl") && !n.startsWith(".tmp-"))
    .filter((n) => !agent || n === `${agent}.jsonl` || n === `${agent}.1.jsonl`)
    .sort()
    .map((n) => path.join(dir, n));
}

/**
 * A reader of the merged logs: `read()` returns what is there now, then each `poll()` the lines
 * appended since (in time order within the batch). Following is the caller's loop, so agentctl
 * and a server-sent-events endpoint can each pace and stop it their own way.
 */
export class LogReader {
  private readonly layout: SharedLayout;
  private readonly offsets = new Map<string, number>();

  constructor(
    shared: string,
    private readonly filter: LogFilter = {},
    private readonly kind: LineFiles = "logs",
  ) {
    this.layout = openShared(shared);
  }

  read(): LogLine[] {
    let all: LogLine[] = [];
    for (const f of logFiles(this.layout, this.filter.agent, this.kind)) {
      const r = readLines(f, 0);
      all.push(...r.lines);
      if (!f.endsWith(".1.jsonl")) this.offsets.set(f, r.size);
    }
    all.sort(byTime);
    if (this.filter.lines !== undefined) all = this.filter.lines === 0 ? [] : all.slice(-this.filter.lines);
    return all;
  }

  poll(): LogLine[] {
    const batch: LogLine[] = [];
    for (const f of logFiles(this.layout, this.filter.agent, this.kind)) {
      if (f.endsWith(".1.jsonl")) continue;
      const r = readLines(f, this.offsets.get(f) ?? 0);
      this.offsets.set(f, r.size);
      batch.push(...r.lines);
    }
    return batch.sort(byTime);
  }
}

/** The merged logs as they are now. */
export function readLogs(shared: string, filter: LogFilter = {}): LogLine[] {
  return new LogReader(shared, filter).read();
}
