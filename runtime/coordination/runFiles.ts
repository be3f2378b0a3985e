import * as fs from "node:fs";
import { run } from "../git.js";
import type { RunAs } from "../sandbox.js";

/**
 * What a run left for the runtime besides its change: the files in $TASK_OUTBOX and the lines of
 * $TASK_MESSAGES. Both live in the agent user's part of the run dir, where the runtime (root
 * without CAP_DAC_OVERRIDE in containers) may not even be allowed to read, and where every name
 * may be a link the agent planted. So they are read AS THE AGENT USER, by a short node program
 * that never follows a link (lstat, then O_NOFOLLOW and a matching fstat), reads only regular
 * files and never more than the caps; the runtime then treats every byte it prints as hostile.
 */
export interface OutboxEntry {
  /** The file's name, as the agent chose it (any bytes a name may hold). */
  name: string;
  kind: "file" | "symlink" | "directory" | "other";
  size: number;
  /** The contents, only for a regular file within the per-file and per-run byte caps. */
  data?: Buffer;
  /** Why the contents were not read (too large, over the run's cap, changed while read). */
  unread?: string;
}

export interface RunFiles {
  /** Entries of $TASK_OUTBOX, sorted by name, at most `maxEntries`. */
  outbox: OutboxEntry[];
  /** Entries beyond `maxEntries` (not read). */
  outboxMore: number;
  /** Set when $TASK_OUTBOX itself is not a plain directory (a link, a file). */
  outboxProblem?: string;
  /** The start of $TASK_MESSAGES (absent: no messages file). */
  messages?: Buffer;
  /** Bytes of $TASK_MESSAGES beyond what was read. */
  messagesMore: number;
  messagesProblem?: string;
}

export interface RunFilesLimits {
  /** Outbox entries listed; the rest are counted. */
  maxEntries: number;
  maxFileBytes: number;
  maxRunBytes: number;
  maxMessageBytes: number;
}

/** The reader, run as the agent user: argv = outbox, messages, then the four limits. */
const READER = String.raw`
const fs = require("fs"), path = require("path");
const [outbox, messages, maxEntries, maxFile, maxRun, maxMsg] = process.argv.slice(1);
const C = fs.constants, out = { outbox: [], outboxMore: 0, messagesMore: 0 };
const kindOf = (st) => st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "directory" : "other";
function readNoFollow(p, st, limit) {
  const fd = fs.openSync(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile() || fst.ino !== st.ino || fst.dev !== st.dev) return { unread: "changed while it was read" };
    const buf = Buffer.alloc(Math.min(fst.size, limit));
    let n = 0;
    while (n < buf.length) { const r = fs.readSync(fd, buf, n, buf.length - n, n); if (r === 0) break; n += r; }
    return { data: buf.subarray(0, n), size: fst.size };
  } finally { fs.closeSync(fd); }
}
let st;
try { st = fs.lstatSync(outbox); } catch (e) { st = undefined; if (e.code !== "ENOENT") out.outboxProblem = "cannot be read: " + e.code; }
if (st && !st.isDirectory()) out.outboxProblem = "is a " + kindOf(st) + ", not a directory";
else if (st) {
  const names = [];
  const d = fs.opendirSync(outbox);
  try { let e; while ((e = d.readSync()) !== null) { if (names.length < 100000) names.push(e.name); else out.outboxMore++; } } finally { d.closeSync(); }
  names.sort();
  out.outboxMore += Math.max(0, names.length - Number(maxEntries));
  let budget = Number(maxRun);
  for (const name of names.slice(0, Number(maxEntries))) {
    const p = path.join(outbox, name), e = { name, kind: "other", size: 0 };
    try {
      const s = fs.lstatSync(p); e.kind = kindOf(s); e.size = s.size;
      if (e.kind === "file") {
        if (s.size > Number(maxFile)) e.unread = "too large";
        else if (s.size > budget) e.unread = "over the run's byte cap";
        else {
          const r = readNoFollow(p, s, Number(maxFile) + 1);
          if (r.unread) e.unread = r.unread;
          else if (r.data.length > Number(maxFile)) e.unread = "too large";
          else if (r.data.length > budget) e.unread = "over the run's byte cap";
          else { e.data = r.data.toString("base64"); budget -= r.data.length; e.size = r.data.length; }
        }
      }
    } catch (err) { e.unread = "cannot be read: " + (err.code || err.message); }
    out.outbox.push(e);
  }
}
try {
  const s = fs.lstatSync(messages);
  if (!s.isFile()) out.messagesProblem = "is a " + kindOf(s) + ", not a file";
  else {
    const r = readNoFollow(messages, s, Number(maxMsg));
    if (r.unread) out.messagesProblem = r.unread;
    else { out.messages = r.data.toString("base64"); out.messagesMore = Math.max(0, r.size - r.data.length); }
  }
} catch (e) { if (e.code !== "ENOENT") out.messagesProblem = "cannot be read: " + e.code; }
process.stdout.write(JSON.stringify(out));
`;

/**
 * Whether the run surely left nothing: the outbox is a plain directory the runtime can list and
 * finds empty, and there is no messages entry at all. Only names are looked at (nothing is opened
 * or followed into), so a link swapped in meanwhile can at worst send the run to the careful
 * reader below. Saves starting that reader (a node process) after every ordinary run.
 */
export function nothingLeft(outbox: string, messages: string): boolean {
  try {
    if (!fs.lstatSync(outbox).isDirectory() || fs.readdirSync(outbox).length > 0) return false;
  } catch {
    return false; // unreadable for the runtime (the agent's mode): let the agent user read it
  }
  try {
    fs.lstatSync(messages);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** Read a run's outbox and messages as `runAs` (or as this process when there is no agent user). */
export async function readRunFiles(
  outbox: string,
  messages: string,
  limits: RunFilesLimits,
  cwd: string,
  runAs: RunAs | undefined,
): Promise<RunFiles> {
  const maxStdout =
    Math.ceil(((limits.maxRunBytes + limits.maxMessageBytes) * 4) / 3) + limits.maxEntries * 8192 + 65536;
  const r = await run(
    process.execPath,
    [
      "-e",
      READER,
      outbox,
      messages,
      String(limits.maxEntries),
      String(limits.maxFileBytes),
      String(limits.maxRunBytes),
      String(limits.maxMessageBytes),
    ],
    {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
      maxStdout,
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    },
  );
  if (r.code !== 0 || r.truncated)
    throw new Error(
      `reading the run's outbox and messages failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(-500)}`,
    );
  return parseReaderOutput(r.stdout);
}

/** The reader's output, checked field by field (it ran as the agent user, in the agent's dir). */
function parseReaderOutput(text: string): RunFiles {
  const o = JSON.parse(text) as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const kinds = new Set(["file", "symlink", "directory", "other"]);
  const outbox: OutboxEntry[] = [];
  for (const e of Array.isArray(o.outbox) ? (o.outbox as Array<Record<string, unknown>>) : []) {
    if (typeof e !== "object" || e === null || typeof e.name !== "string") continue;
    const kind = kinds.has(e.kind as string) ? (e.kind as OutboxEntry["kind"]) : "other";
    const data = str(e.data);
    const unread = str(e.unread);
    outbox.push({
      name: e.name,
      kind,
      size: num(e.size),
      ...(data !== undefined && kind === "file" ? { data: Buffer.from(data, "base64") } : {}),
      ...(unread !== undefined ? { unread } : {}),
    });
  }
  const messages = str(o.messages);
  const outboxProblem = str(o.outboxProblem);
  const messagesProblem = str(o.messagesProblem);
  return {
    outbox,
    outboxMore: num(o.outboxMore),
    ...(outboxProblem !== undefined ? { outboxProblem } : {}),
    ...(messages !== undefined ? { messages: Buffer.from(messages, "base64") } : {}),
    messagesMore: num(o.messagesMore),
    ...(messagesProblem !== undefined ? { messagesProblem } : {}),
  };
}
