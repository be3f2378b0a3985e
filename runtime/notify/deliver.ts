import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import nodemailer from "nodemailer";
import type { NotifySmtp } from "../../contract/notify.js";
import type { FleetEvent } from "./events.js";
import type { Sink } from "./sinks.js";

/**
 * Sending one notification to one sink. Each sender resolves when the sink accepted it (a 2xx
 * answer, exit status 0, the SMTP server's 250) and rejects with a short reason otherwise; each is
 * bounded by NOTIFY_SEND.timeoutMs, so a hanging sink delays only its own queue.
 */
export const NOTIFY_SEND = {
  /** One attempt's deadline. */
  timeoutMs: 15_000,
  /** Bytes of a webhook's answer or a command's output kept for the error message. */
  maxReplyBytes: 4096,
  /** Characters of an error message kept in the ledger. */
  maxErrorLength: 300,
} as const;

/** What a webhook receives and a command reads on its standard input (JSON). */
export interface NotificationBody extends FleetEvent {
  fleet: string;
  /** One line for chat webhooks (Slack, Mattermost): `&`, `<`, `>` written as entities. */
  text: string;
}

/** `&`, `<` and `>` as chat services want them (their only markup characters that link or mention). */
export function chatEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function notificationBody(fleet: string, e: FleetEvent): NotificationBody {
  return {
    key: e.key,
    event: e.event,
    fleet,
    at: e.at,
    agent: e.agent,
    task_id: e.task_id,
    proposal_id: e.proposal_id,
    summary: e.summary,
    detail: e.detail,
    text: chatEscape(`[${fleet}] ${e.event}: ${e.summary}${e.detail ? ` (${e.detail})` : ""}`),
  };
}

/** The dedup key as a header value: its sha256 (keys may hold characters a header must not). */
export function idempotencyKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function clip(s: string): string {
  // eslint-disable-next-line no-control-regex -- an error message goes on one line, without control characters
  const one = s.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return one.length <= NOTIFY_SEND.maxErrorLength ? one : `${one.slice(0, NOTIFY_SEND.maxErrorLength - 1)}…`;
}

function postWebhook(url: string, body: NotificationBody): Promise<void> {
  const data = Buffer.from(JSON.stringify(body));
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(data.length),
          "user-agent": "agent-fleet-console",
          "idempotency-key": idempotencyKey(body.key),
          "x-agent-fleet-event": body.event,
        },
        timeout: NOTIFY_SEND.timeoutMs,
      },
      (res) => {
        let reply = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (reply.length < NOTIFY_SEND.maxReplyBytes) reply += c;
        });
        res.on("end", () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(clip(`HTTP ${code}${reply ? `: ${reply}` : ""}`)));
        });
        res.on("error", (err) => reject(new Error(clip(err.message))));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${NOTIFY_SEND.timeoutMs / 1000}s`)));
    req.on("error", (err: NodeJS.ErrnoException) => reject(new Error(clip(err.code ?? err.message))));
    req.end(data);
  });
}

function runCommand(argv: string[], body: NotificationBody): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      // Only what the command needs: never the console's own environment.
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        AGENT_NOTIFY_EVENT: body.event,
        AGENT_NOTIFY_KEY: body.key,
      },
    });
    let out = "";
    const keep = (b: Buffer) => {
      if (out.length < NOTIFY_SEND.maxReplyBytes) out += b.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), NOTIFY_SEND.timeoutMs);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(clip(`cannot run ${argv[0]}: ${err.code ?? err.message}`)));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(clip(`${argv[0]} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${out}`)));
    });
    child.stdin.on("error", () => undefined); // a command that does not read its input
    child.stdin.end(JSON.stringify(body) + "\n");
  });
}

/** Loopback: the one place a password may go over a connection without TLS (a local relay). */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function sendMail(smtp: NotifySmtp, body: NotificationBody): Promise<void> {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    // 465 is TLS from the start; others upgrade with STARTTLS when offered, and must when a
    // password would otherwise cross the network in clear.
    secure: smtp.port === 465,
    requireTLS: smtp.user !== undefined && smtp.port !== 465 && !isLoopback(smtp.host),
    ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    connectionTimeout: NOTIFY_SEND.timeoutMs,
    greetingTimeout: NOTIFY_SEND.timeoutMs,
    socketTimeout: NOTIFY_SEND.timeoutMs,
  });
  try {
    await transport.sendMail({
      from: smtp.from,
      to: smtp.to,
      // The summary is one escaped line already; nodemailer encodes what is not ASCII.
      subject: `[${body.fleet}] ${body.event}: ${body.summary}`,
      text: [
        body.summary,
        ...(body.detail ? ["", body.detail] : []),
        "",
        `event:    ${body.event}`,
        `fleet:    ${body.fleet}`,
        `at:       ${body.at}`,
        ...(body.agent ? [`agent:    ${body.agent}`] : []),
        ...(body.task_id ? [`task:     ${body.task_id}`] : []),
        ...(body.proposal_id ? [`proposal: ${body.proposal_id}`] : []),
        `key:      ${body.key}`,
        "",
      ].join("\n"),
      // The same event always has the same Message-ID, so a mail system can drop a repeat.
      messageId: `<${idempotencyKey(body.key)}@agent-fleet.invalid>`,
      headers: { "X-Agent-Fleet-Key": idempotencyKey(body.key), "X-Agent-Fleet-Event": body.event },
    });
  } catch (err) {
    throw new Error(clip(`SMTP: ${(err as Error).message}`));
  } finally {
    transport.close();
  }
}

/** Sends one notification; rejects with a short reason when the sink did not accept it. */
export function deliver(sink: Sink, body: NotificationBody): Promise<void> {
  const d = sink.def;
  if ("webhook" in d) return postWebhook(d.webhook, body);
  if ("command" in d) return runCommand(d.command, body);
  return sendMail(d.smtp, body);
}
