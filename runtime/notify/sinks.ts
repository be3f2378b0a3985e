import { createHash } from "node:crypto";
import * as fs from "node:fs";
import {
  isNotifyEvent,
  NOTIFY_EVENTS,
  NOTIFY_LIMITS,
  type NotifyFile,
  type NotifySink,
  type NotifySmtp,
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

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** An http(s) URL without credentials, or the reason it is not one. */
export function webhookProblem(url: unknown): string | undefined {
  if (typeof url !== "string" || url.length === 0) return "must be an http:// or https:// URL";
  if (url.length > NOTIFY_LIMITS.maxUrlLength) return `is longer than ${NOTIFY_LIMITS.maxUrlLength} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "must be an http:// or https:// URL";
  if (u.username || u.password) return "must not carry a user or password (put a token in the path or query)";
  return undefined;
}

/** An e-mail address as a sink accepts it (no display name, no line breaks). */
export const EMAIL_ADDRESS = /^[^\s@<>",;]{1,64}@[A-Za-z0-9.-]{1,253}$/;

function sinkOf(v: unknown, at: string): NotifySink {
  const fail = (field: string, msg: string): never => {
    throw new NotifyFileError(`${at}${field ? `.${field}` : ""}: ${msg}`);
  };
  if (!isObj(v)) fail("", "must be an object with `on` and one of webhook, command, smtp");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["on", "webhook", "command", "smtp"].includes(k)) fail(k, "unknown setting (on, webhook, command, smtp)");
  if (!Array.isArray(o.on) || o.on.length === 0) fail("on", `must list events: ${NOTIFY_EVENTS.join(", ")}`);
  (o.on as unknown[]).forEach((e, i) => {
    if (!isNotifyEvent(e)) fail(`on[${i}]`, `must be one of ${NOTIFY_EVENTS.join(", ")}`);
  });
  const on = [...new Set(o.on as NotifySink["on"])];
  const kinds = ["webhook", "command", "smtp"].filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) fail("", "needs exactly one of webhook, command, smtp");
  if (o.webhook !== undefined) {
    const p = webhookProblem(o.webhook);
    if (p) fail("webhook", p);
    return { on, webhook: o.webhook as string };
  }
  if (o.command !== undefined) {
    const c = o.command;
    if (!Array.isArray(c) || c.length === 0 || c.length > NOTIFY_LIMITS.maxArgs)
      fail("command", `must be a list of 1 to ${NOTIFY_LIMITS.maxArgs} arguments, the program first`);
    (c as unknown[]).forEach((a, i) => {
      if (typeof a !== "string" || a.length > NOTIFY_LIMITS.maxArgLength || a.includes("\0"))
        fail(`command[${i}]`, `must be a string of at most ${NOTIFY_LIMITS.maxArgLength} characters`);
    });
    if ((c as string[])[0] === "") fail("command[0]", "must name the program");
    return { on, command: c as string[] };
  }
  return { on, smtp: smtpOf(o.smtp, `${at}.smtp`) };
}

export function smtpOf(v: unknown, at: string): NotifySmtp {
  const fail = (field: string, msg: string): never => {
    throw new NotifyFileError(`${at}${field ? `.${field}` : ""}: ${msg}`);
  };
  if (!isObj(v)) fail("", "must be { host, port, from, to, user, password }");
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["host", "port", "from", "to", "user", "password"].includes(k))
      fail(k, "unknown setting (host, port, from, to, user, password)");
  if (typeof o.host !== "string" || !/^[A-Za-z0-9.:-]{1,253}$/.test(o.host)) fail("host", "must be a host name or address");
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail("port", "must be a port from 1 to 65535");
  if (typeof o.from !== "string" || !EMAIL_ADDRESS.test(o.from)) fail("from", "must be an e-mail address");
  const to = typeof o.to === "string" ? [o.to] : o.to;
  if (!Array.isArray(to) || to.length === 0 || to.length > NOTIFY_LIMITS.maxRecipients)
    fail("to", `must be an e-mail address or a list of 1 to ${NOTIFY_LIMITS.maxRecipients}`);
  (to as unknown[]).forEach((a, i) => {
    if (typeof a !== "string" || !EMAIL_ADDRESS.test(a)) fail(`to[${i}]`, "must be an e-mail address");
  });
  if (o.user !== undefined && (typeof o.user !== "string" || o.user.length === 0 || o.user.length > 256))
    fail("user", "must be a user name");
  if (o.password !== undefined && (typeof o.password !== "string" || o.password.length > 1024))
    fail("password", "must be a string");
  if ((o.user === undefined) !== (o.password === undefined)) fail("password", "user and password go together");
  return {
    host: o.host as string,
    port,
    from: o.from as string,
    to: to as string[],
    ...(o.user !== undefined ? { user: o.user as string, password: o.password as string } : {}),
  };
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
  if (!isObj(v)) throw new NotifyFileError("must be a JSON object { fleet, sinks }");
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
