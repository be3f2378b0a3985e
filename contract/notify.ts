/**
 * Notifications (issue 15): the events the review console derives from the shared dir and the
 * sinks it delivers them to. Shared by the config layer (`notify` in the stack config), the
 * targets (which hand the sinks to the console as a file or a secret) and the console itself
 * (runtime/notify/), so an event name, a limit or a path is defined once.
 */

/** What a sink may subscribe to (`on`). */
export const NOTIFY_EVENTS = [
  "proposal-pending",
  "task-failed",
  "conflict",
  "rolled-back",
  "agent-unhealthy",
  "budget-exceeded",
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export function isNotifyEvent(v: unknown): v is NotifyEvent {
  return typeof v === "string" && (NOTIFY_EVENTS as readonly string[]).includes(v);
}

/** A sink, as the console reads it (the plaintext of secrets included: this file is itself secret). */
export type NotifySink = { on: NotifyEvent[] } & ({ webhook: string } | { command: string[] } | { smtp: NotifySmtp });

export interface NotifySmtp {
  host: string;
  port: number;
  from: string;
  to: string[];
  user?: string;
  password?: string;
}

export const NOTIFY_LIMITS = {
  /** Sinks in one stack. */
  maxSinks: 20,
  /** A webhook URL's length. */
  maxUrlLength: 2048,
  /** A command's arguments, and each argument's length. */
  maxArgs: 64,
  maxArgLength: 4096,
  /** Recipients of one SMTP sink. */
  maxRecipients: 20,
  /** The notifications file the console reads. */
  maxFileBytes: 256 * 1024,
} as const;

/** The console's notifications file: the fleet's name (shown in every message) and its sinks. */
export interface NotifyFile {
  fleet: string;
  sinks: NotifySink[];
}

/** Paths and environment of the console container / task for notifications. */
export const NOTIFY_PATHS = {
  /** The sinks (JSON `NotifyFile`), next to the tokens: root-owned, mode 0600, read-only mount. */
  file: "/run/console/notify.json",
} as const;

/** Environment variable carrying the sinks file's text into a Fargate console task (from Secrets Manager). */
export const CONSOLE_NOTIFY_ENV = "AGENT_CONSOLE_NOTIFY";

/** The folder of the console's delivery ledger inside the decisions dir (agents cannot write there). */
export const NOTIFY_LEDGER_DIR = "notify";

/** A problem with a sink's definition, at a path below the sink (`["smtp", "port"]`). */
export interface SinkProblem {
  path: Array<string | number>;
  message: string;
}

/** An e-mail address as a sink accepts it (no display name, no line breaks). */
export const EMAIL_ADDRESS = /^[^\s@<>",;]{1,64}@[A-Za-z0-9.-]{1,253}$/;

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

/** The problem of a password that is not what the caller wants (a secret marker, the plaintext). */
export const NOT_A_SECRET = "must be a secret string";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const SINK_KEYS = ["on", "webhook", "command", "smtp"];
const SMTP_KEYS = ["host", "port", "from", "to", "user", "password"];

/**
 * Every problem of one sink's definition (the stack config reports them with its key paths, the
 * console with the file's). `password` is checked by the caller's `passwordOk`: the config wants a
 * secret marker there, the console the plaintext.
 */
export function notifySinkProblems(v: unknown, passwordOk: (p: unknown) => boolean): SinkProblem[] {
  const out: SinkProblem[] = [];
  const add = (path: Array<string | number>, message: string) => out.push({ path, message });
  if (!isObj(v)) {
    add([], "must be an object with `on` and one of webhook, command, smtp");
    return out;
  }
  for (const k of Object.keys(v)) if (!SINK_KEYS.includes(k)) add([k], `unknown setting (${SINK_KEYS.join(", ")})`);
  if (!Array.isArray(v.on) || v.on.length === 0) add(["on"], `must list events: ${NOTIFY_EVENTS.join(", ")}`);
  else
    v.on.forEach((e: unknown, i: number) => {
      if (!isNotifyEvent(e)) add(["on", i], `must be one of ${NOTIFY_EVENTS.join(", ")}`);
    });
  const kinds = ["webhook", "command", "smtp"].filter((k) => v[k] !== undefined);
  if (kinds.length !== 1) add([], "needs exactly one of webhook, command, smtp");
  if (v.webhook !== undefined) {
    const p = webhookProblem(v.webhook);
    if (p) add(["webhook"], p);
  }
  if (v.command !== undefined) {
    const c = v.command;
    if (!Array.isArray(c) || c.length === 0 || c.length > NOTIFY_LIMITS.maxArgs)
      add(["command"], `must be a list of 1 to ${NOTIFY_LIMITS.maxArgs} arguments, the program first`);
    else
      c.forEach((a: unknown, i: number) => {
        if (typeof a !== "string" || a.length > NOTIFY_LIMITS.maxArgLength || a.includes("\0") || (i === 0 && a === ""))
          add(["command", i], `must be a non-empty string of at most ${NOTIFY_LIMITS.maxArgLength} characters`);
      });
  }
  if (v.smtp !== undefined) {
    const m = v.smtp;
    if (!isObj(m)) add(["smtp"], "must be { host, port, from, to, user, password }");
    else {
      for (const k of Object.keys(m))
        if (!SMTP_KEYS.includes(k)) add(["smtp", k], `unknown setting (${SMTP_KEYS.join(", ")})`);
      if (typeof m.host !== "string" || !/^[A-Za-z0-9.:-]{1,253}$/.test(m.host))
        add(["smtp", "host"], "must be a host name or address");
      const port = Number(m.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) add(["smtp", "port"], "must be a port from 1 to 65535");
      if (typeof m.from !== "string" || !EMAIL_ADDRESS.test(m.from)) add(["smtp", "from"], "must be an e-mail address");
      const to = typeof m.to === "string" ? [m.to] : m.to;
      if (!Array.isArray(to) || to.length === 0 || to.length > NOTIFY_LIMITS.maxRecipients)
        add(["smtp", "to"], `must be an e-mail address or a list of 1 to ${NOTIFY_LIMITS.maxRecipients}`);
      else
        to.forEach((a: unknown, i: number) => {
          if (typeof a !== "string" || !EMAIL_ADDRESS.test(a))
            add(["smtp", "to", ...(Array.isArray(m.to) ? [i] : [])], "must be an e-mail address");
        });
      if (m.user !== undefined && (typeof m.user !== "string" || m.user.length === 0 || m.user.length > 256))
        add(["smtp", "user"], "must be a user name");
      if ((m.user === undefined) !== (m.password === undefined))
        add(["smtp", m.user === undefined ? "user" : "password"], "user and password go together");
      else if (m.password !== undefined && !passwordOk(m.password)) add(["smtp", "password"], NOT_A_SECRET);
    }
  }
  return out;
}

/** A sink whose definition has no problem, with defaults resolved (`to` as a list, `port` a number). */
export function normalizeNotifySink(v: Record<string, unknown>): NotifySink {
  const on = [...new Set(v.on as NotifyEvent[])];
  if (v.webhook !== undefined) return { on, webhook: v.webhook as string };
  if (v.command !== undefined) return { on, command: v.command as string[] };
  const m = v.smtp as Record<string, unknown>;
  return {
    on,
    smtp: {
      host: m.host as string,
      port: Number(m.port),
      from: m.from as string,
      to: typeof m.to === "string" ? [m.to] : (m.to as string[]),
      ...(m.user !== undefined ? { user: m.user as string, password: m.password as string } : {}),
    },
  };
}
