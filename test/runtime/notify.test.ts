import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { SMTPServer } from "smtp-server";
import { afterEach, describe, expect, it } from "vitest";
import { request, startConsole, type RunningConsole } from "./consoleHelpers.js";
import {
  addEditTask,
  ctl,
  ctlJson,
  makeApp,
  makeWorld,
  startAgent,
  stopAgent,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

/**
 * Notifications from the console (`agentctl serve --notify`) to a loopback webhook receiver, a
 * loopback SMTP server and a command, with real runtimes making the events: at least once, one
 * per dedup key across a console restart, a failing sink backed off and shown in status, and
 * agent-controlled text escaped and bounded in every body.
 */

interface Hook {
  headers: http.IncomingHttpHeaders;
  body: { key: string; event: string; summary: string; detail: string | null; text: string; agent: string | null };
  at: number;
}

interface Receiver {
  url: string;
  got: Hook[];
  close: () => Promise<void>;
}

/** A webhook receiver on loopback; `answer` decides each request's status (default 200). */
async function webhookReceiver(answer: (n: number) => number = () => 200): Promise<Receiver> {
  const got: Hook[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      const status = answer(n++);
      if (status === 200)
        got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")), at: Date.now() });
      else got.push({ headers: req.headers, body: { key: "", event: "refused" } as Hook["body"], at: Date.now() });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "receiver is down");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/secret-path?token=abc`,
    got,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** A loopback SMTP server (no TLS) that wants user notify / password pw-of-notify. */
async function smtpSink(): Promise<{ port: number; mails: Mail[]; close: () => Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, cb) {
      if (auth.username === "notify" && auth.password === "pw-of-notify") cb(null, { user: auth.username });
      else cb(new Error("bad credentials"));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (b: Buffer) => chunks.push(b));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        cb();
      });
    },
    logger: false,
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let w: World;
const running: RunningAgent[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await tearDown(running, w);
});

function notifyFile(sinks: unknown[]): string {
  const file = path.join(w.dir, "notify.json");
  fs.writeFileSync(file, JSON.stringify({ fleet: "testfleet", sinks }), { mode: 0o600 });
  return file;
}

async function console_(file: string): Promise<RunningConsole> {
  const c = await startConsole(w, ["--notify", file]);
  closers.push(c.stop);
  return c;
}

/** SIGTERM, as Docker stops the console container. */
async function stopGracefully(c: RunningConsole): Promise<void> {
  const exited = new Promise<void>((r) => c.child.once("exit", () => r()));
  if (c.child.exitCode === null) c.child.kill("SIGTERM");
  await exited;
}

const keysOf = (hooks: Hook[], event: string) => hooks.filter((h) => h.body.event === event).map((h) => h.body.key);

/** A title an agent controls, with a terminal escape, a bidi override, HTML, a newline and 1000 more characters. */
const HOSTILE = `\x1b[2J\x1b]0;pwned\x07<img src=x onerror=alert(1)> & \u202etxt.exe\r\nBcc: victim@example.com ${"A".repeat(1000)}`;

describe("notifications", () => {
  it("webhook, SMTP and command sinks: one of each event, escaped and bounded; unhealthy once; no duplicate after a restart", async () => {
    w = makeWorld();
    const hook = await webhookReceiver();
    closers.push(hook.close);
    const smtp = await smtpSink();
    closers.push(smtp.close);
    const commandOut = path.join(w.dir, "command-out.jsonl");
    const script = path.join(w.dir, "sink.js");
    fs.writeFileSync(
      script,
      `const fs = require("fs"); let s = ""; process.stdin.on("data", (b) => (s += b)); process.stdin.on("end", () => fs.appendFileSync(${JSON.stringify(commandOut)}, JSON.stringify({ env: process.env.AGENT_NOTIFY_EVENT, key: process.env.AGENT_NOTIFY_KEY, body: JSON.parse(s) }) + "\\n"));`,
    );
    const file = notifyFile([
      { on: ["proposal-pending", "agent-unhealthy", "task-failed"], webhook: hook.url },
      {
        on: ["proposal-pending"],
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          from: "fleet@example.com",
          to: ["ops@example.com", "lead@example.com"],
          user: "notify",
          password: "pw-of-notify",
        },
      },
      { on: ["proposal-pending", "agent-unhealthy"], command: [process.execPath, script] },
    ]);
    let c = await console_(file);
    expect(c.output()).toMatch(/notifications to 3 sinks/);

    makeApp(w, "n1");
    let agent = startAgent(w, "n1", { APPROVAL_REQUIRED: "true", AGENT_LEASE_SECONDS: "3" });
    running.push(agent);
    await waitFor(
      "n1 running",
      () => ctlJson<Array<{ agent: string; state: string }>>(w, ["status"])[0]?.state === "running",
    );
    const id = addEditTask(w, HOSTILE, [{ write: { path: "x.md", content: "x\n" } }]);
    const pending = await waitFor("proposal-pending at the webhook", () =>
      hook.got.find((h) => h.body.event === "proposal-pending"),
    );
    expect(pending.body.key).toMatch(/^proposal-pending:p-/);
    expect(pending.headers["idempotency-key"]).toMatch(/^[0-9a-f]{64}$/);
    // The title reached the body only escaped and bounded.
    const s = pending.body.summary;
    expect(s.length).toBeLessThanOrEqual(200);
    // eslint-disable-next-line no-control-regex -- the very characters that must not reach a sink raw
    expect(s).not.toMatch(/[\x00-\x1f\x7f\u202e]/);
    expect(s).toContain("\\x1b[2J");
    expect(s).toContain("[BIDI U+202E RLO]");
    expect(pending.body.text).toContain("&lt;img src=x onerror=alert(1)&gt; &amp;");
    expect(pending.body.text).not.toMatch(/<img/);

    const mail = await waitFor("the mail", () => smtp.mails[0]);
    expect(mail.user).toBe("notify");
    expect(mail.from).toBe("fleet@example.com");
    expect(mail.to).toEqual(["ops@example.com", "lead@example.com"]);
    const headerPart = mail.raw.slice(0, mail.raw.indexOf("\r\n\r\n"));
    // No header of the agent's making: the CR LF and "Bcc:" in the title stayed inside the subject.
    expect(headerPart).not.toMatch(/^Bcc:/im);
    expect(headerPart).toMatch(/^Subject: /m);
    expect(mail.raw).not.toContain("\x1b");

    const lines = () =>
      fs.existsSync(commandOut)
        ? fs
            .readFileSync(commandOut, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as { env: string; key: string; body: Hook["body"] })
        : [];
    await waitFor("the command ran", () => lines().length === 1);
    expect(lines()[0]).toMatchObject({ env: "proposal-pending", key: pending.body.key });
    expect(lines()[0]!.body.summary).toBe(s);

    // Kill the agent: its heartbeat goes stale, one agent-unhealthy per sink that wants it.
    await stopAgent(agent, "SIGKILL");
    const unhealthy = await waitFor("agent-unhealthy at the webhook", () =>
      hook.got.find((h) => h.body.event === "agent-unhealthy"),
    );
    expect(unhealthy.body.agent).toBe("n1");
    await waitFor("agent-unhealthy from the command", () => lines().some((l) => l.env === "agent-unhealthy"));

    // Restart the console (as Docker would), then the agent; a failing task is the marker that the
    // new console has scanned and delivered everything it thought it owed.
    await stopGracefully(c);
    c = await console_(file);
    agent = startAgent(w, "n1", { APPROVAL_REQUIRED: "true", AGENT_LEASE_SECONDS: "3" });
    running.push(agent);
    const bad = ctl(w, ["task", "add", "--title", "no edit block", "--description", "nothing to do", "--agent", "n1"]);
    expect(bad.code, bad.stderr).toBe(0);
    const failedId = bad.stdout.trim();
    await waitFor("task-failed at the webhook", () =>
      hook.got.find((h) => h.body.event === "task-failed" && h.body.key.startsWith(`task-failed:${failedId}:`)),
    );
    // Deliveries go in the order they were recorded: a duplicate would have come before the marker.
    expect(keysOf(hook.got, "proposal-pending")).toEqual([pending.body.key]);
    expect(keysOf(hook.got, "agent-unhealthy")).toEqual([unhealthy.body.key]);
    expect(lines().map((l) => l.key)).toEqual([pending.body.key, unhealthy.body.key]);
    expect(smtp.mails).toHaveLength(1);
    expect(id).toBeTruthy();

    const api = await request(c, "GET", "/api/v1/notifications");
    expect(api.status).toBe(200);
    expect(api.json.sinks.map((x: { kind: string; state: string }) => [x.kind, x.state])).toEqual([
      ["webhook", "ok"],
      ["smtp", "ok"],
      ["command", "ok"],
    ]);
    // Where a sink delivers, never its secrets.
    expect(api.text).not.toContain("secret-path");
    expect(api.text).not.toContain("pw-of-notify");
    expect(api.json.sinks[0].label).toBe(`webhook ${new URL(hook.url).origin}`);
  });

  it("a failing webhook is retried with growing waits, shows in agentctl status and the API, and recovers", async () => {
    w = makeWorld();
    // Down until the test says otherwise.
    let down = true;
    const hook = await webhookReceiver(() => (down ? 500 : 200));
    closers.push(hook.close);
    const c = await console_(notifyFile([{ on: ["task-failed"], webhook: hook.url }]));
    makeApp(w, "f1");
    running.push(startAgent(w, "f1"));
    const r = ctl(w, ["task", "add", "--title", "fails", "--description", "no edit block", "--agent", "f1"]);
    expect(r.code, r.stderr).toBe(0);

    // While it fails: status and the API say so.
    await waitFor("three refused attempts", () => hook.got.length >= 3);
    const st = ctl(w, ["status"]);
    expect(st.stdout).toMatch(
      /webhook http:\/\/127\.0\.0\.1:\d+ .*FAILING \(\dx, next try .*\): HTTP 500: receiver is down/,
    );
    const api = await request(c, "GET", "/api/v1/notifications");
    expect(api.json.sinks[0]).toMatchObject({
      kind: "webhook",
      state: "failing",
      pending: 1,
      delivered: 0,
      last_error: "HTTP 500: receiver is down",
    });
    expect(api.json.sinks[0].failures).toBeGreaterThanOrEqual(3);
    down = false;

    const ok = await waitFor("delivered after the failures", () =>
      hook.got.find((h) => h.body.event === "task-failed"),
    );
    expect(hook.got.filter((h) => h.body.event === "task-failed")).toHaveLength(1);
    // Backoff: the waits between attempts are at least 1 s, 2 s, 4 s… (a floor the notifier enforces).
    const gaps = hook.got.slice(1).map((h, i) => h.at - hook.got[i]!.at);
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(1000 * 2 ** i - 50));
    expect(ok.body.key).toMatch(/^task-failed:t-/);
    const after = await request(c, "GET", "/api/v1/notifications");
    expect(after.json.sinks[0]).toMatchObject({ state: "ok", failures: 0, delivered: 1, pending: 0 });
    expect(ctl(w, ["status"]).stdout).toMatch(/webhook http:\/\/127\.0\.0\.1:\d+ .* ok/);
  });

  it("refuses a bad notifications file, naming the field", async () => {
    w = makeWorld();
    const file = notifyFile([{ on: ["proposal-pending", "deploy-done"], webhook: "http://127.0.0.1:1/" }]);
    await expect(startConsole(w, ["--notify", file])).rejects.toThrow(
      /--notify .*sinks\[0\]\.on\[1\]: must be one of proposal-pending/,
    );
  });
});
