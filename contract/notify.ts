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
export type NotifySink = { on: NotifyEvent[] } & (
  | { webhook: string }
  | { command: string[] }
  | { smtp: NotifySmtp }
);

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
