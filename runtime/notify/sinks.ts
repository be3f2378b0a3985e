import { createHash } from "node:crypto";
import * as fs from "node:fs";
import {
  normalizeNotifySink,
  notifySinkProblems,
  NOTIFY_LIMITS,
  type NotifyFile,
  type NotifySink,
} from "../../contract/notify.js";

/**
 * The console's notifications file (`agentctl serve --notify FILE`, JSON `{ fleet, sinks }`,
 * written by the deployment from the stack's `notify` setting). The stack config checks the
 * same rules with its key paths; this is the console's own check of the file it is given, with
 * errors naming `sinks[i].field`. A sink's id is a hash of its whole definition, so the ledger
 * keeps its deliveries as long as the sink is unchanged; its label says where it delivers
 * without any secret (a webhook's path and query, a command's arguments and the SMTP password
 * may all be secrets).
 */
export interface Sink {
  id: string;
  kind: "webhook" | "command" | "smtp";
  label: string;
  on: ReadonlySet<string>;
  def: NotifySink;
}

export class NotifyFileError extends Error {}

function sinkOf(v: unknown, at: string): NotifySink {
  const [p] = notifySinkProblems(v, (x) => typeof x === "string" && x.length <= 1024);
  if (p) {
    const where = p.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("");
    throw new NotifyFileError(`${at}${where}: ${p.message}`);
  }
  return normalizeNotifySink(v as Record<string, unknown>);
}

function labelOf(s: NotifySink): { kind: Sink["kind"]; label: string } {
  if ("webhook" in s) return { kind: "webhook", label: `webhook ${new URL(s.webhook).origin}` };
  if ("command" in s) return { kind: "command", label: `command ${s.command[0]}` };
  return { kind: "smtp", label: `smtp ${s.smtp.host}:${s.smtp.port} to ${s.smtp.to.join(", ")}` };
}

export function sinkId(s: NotifySink): string {
  return `s-${createHash("sha256").update(JSON.stringify(s)).digest("hex").slice(0, 16)}`;
}

/** The file's fleet name and sinks; NotifyFileError naming the field when it is not valid. */
export function parseNotifyFile(text: string): { fleet: string; sinks: Sink[] } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new NotifyFileError(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new NotifyFileError("must be a JSON object { fleet, sinks }");
  const f = v as Partial<NotifyFile>;
  if (typeof f.fleet !== "string" || !/^[a-z0-9-]{1,63}$/.test(f.fleet))
    throw new NotifyFileError("fleet: must be the fleet's name");
  if (!Array.isArray(f.sinks) || f.sinks.length > NOTIFY_LIMITS.maxSinks)
    throw new NotifyFileError(`sinks: must be a list of at most ${NOTIFY_LIMITS.maxSinks} sinks`);
  const sinks = f.sinks.map((x, i) => {
    const def = sinkOf(x, `sinks[${i}]`);
    return { id: sinkId(def), ...labelOf(def), on: new Set<string>(def.on), def };
  });
  return { fleet: f.fleet, sinks };
}

export function readNotifyFile(file: string): { fleet: string; sinks: Sink[] } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new NotifyFileError(`${file} does not exist`);
  }
  if (!st.isFile() || st.size > NOTIFY_LIMITS.maxFileBytes)
    throw new NotifyFileError(`${file} is not a file of at most ${NOTIFY_LIMITS.maxFileBytes} bytes`);
  try {
    return parseNotifyFile(fs.readFileSync(file, "utf8"));
  } catch (err) {
    if (err instanceof NotifyFileError) throw new NotifyFileError(`${file}: ${err.message}`);
    throw err;
  }
}
