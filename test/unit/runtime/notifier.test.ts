import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chatEscape, notificationBody, type NotificationBody } from "../../../runtime/notify/deliver.js";
import { safeText } from "../../../runtime/notify/events.js";
import { readLedger } from "../../../runtime/notify/ledger.js";
import { Notifier, NOTIFY_TIMING } from "../../../runtime/notify/notifier.js";
import { parseNotifyFile, type Sink } from "../../../runtime/notify/sinks.js";
import { notificationSinks } from "../../../runtime/notify/status.js";

/**
 * The notifier in-process, on temp dirs with a clock of the test's own and a sink that fails on
 * demand: the backoff schedule, the ledger across a restart, history before a sink existed, and
 * the notifications file's errors. Real deliveries: test/runtime/notify.test.ts.
 */

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function dirs() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "af-notifier-"));
  const shared = path.join(dir, "shared");
  const decisions = path.join(dir, "decisions");
  fs.mkdirSync(path.join(shared, "agents", "ghost"), { recursive: true });
  fs.mkdirSync(path.join(shared, "tasks", "failed"), { recursive: true });
  fs.mkdirSync(decisions);
  return { shared, decisions };
}

function status(shared: string, heartbeatAt: string, extra: Record<string, unknown> = {}) {
  fs.writeFileSync(
    path.join(shared, "agents", "ghost", "status.json"),
    JSON.stringify({ agent: "ghost", state: "running", heartbeat_at: heartbeatAt, lease_seconds: 30, ...extra }),
  );
}

const flush = () => new Promise((r) => setImmediate(r));
const T0 = Date.parse("2026-11-30T02:00:00.000Z");
const sinks = (on: string[]): Sink[] =>
  parseNotifyFile(JSON.stringify({ fleet: "f", sinks: [{ on, webhook: "https://hooks.example.com/x/secret" }] })).sinks;

describe("the notifier", () => {
  it("backs a failing sink off 1 s, 2 s, 4 s…, shows it failing, then delivers once, and once only across a restart", async () => {
    const d = dirs();
    let now = T0;
    let down = true;
    const sent: NotificationBody[] = [];
    const deliver = async (_s: Sink, b: NotificationBody) => {
      if (down) throw new Error("HTTP 503");
      sent.push(b);
    };
    status(d.shared, new Date(T0 - 60_000).toISOString());
    const n = new Notifier({
      ...d,
      fleet: "f",
      sinks: sinks(["agent-unhealthy"]),
      log: () => {},
      now: () => now,
      deliver,
    });
    const attempts: number[] = [];
    for (let step = 0; step < 16; step++) {
      const before = readLedger(d.decisions).sinks[n["o"].sinks[0]!.id]?.failures ?? 0;
      n.tick();
      await flush();
      const after = readLedger(d.decisions).sinks[n["o"].sinks[0]!.id]!.failures;
      if (after > before) attempts.push(now - T0);
      now += 500;
    }
    // Attempts at 0, then at least 1 s, 2 s, 4 s after each failure (ticks every 0.5 s here).
    expect(attempts).toEqual([0, 1000, 3000, 7000]);
    const [view] = notificationSinks(d.decisions);
    expect(view).toMatchObject({ state: "failing", failures: 4, pending: 1, delivered: 0, last_error: "HTTP 503" });
    expect(view!.label).toBe("webhook https://hooks.example.com");
    expect(Date.parse(view!.next_attempt_at!) - Date.parse(view!.last_error_at!)).toBe(8000);

    down = false;
    now += NOTIFY_TIMING.backoffMaxMs;
    n.tick();
    await flush();
    expect(sent.map((b) => b.event)).toEqual(["agent-unhealthy"]);
    expect(notificationSinks(d.decisions)[0]).toMatchObject({ state: "ok", failures: 0, pending: 0, delivered: 1 });
    n.tick();
    await flush();
    await n.stop();

    // A new console on the same ledger: the same state is the same event, already delivered.
    const again = new Notifier({
      ...d,
      fleet: "f",
      sinks: sinks(["agent-unhealthy"]),
      log: () => {},
      now: () => now,
      deliver,
    });
    again.tick();
    await flush();
    expect(sent).toHaveLength(1);
    // The agent comes back and dies again: a new heartbeat, a new event.
    status(d.shared, new Date(now - 40_000).toISOString());
    again.tick();
    await flush();
    expect(sent).toHaveLength(2);
    await again.stop();
  });

  it("an agent stopped by idle scale-down is not unhealthy; the same silence without idle_since is", async () => {
    const d = dirs();
    const sent: NotificationBody[] = [];
    const old = new Date(T0 - 60_000).toISOString();
    status(d.shared, old, { idle_since: new Date(T0 - 120_000).toISOString() });
    const n = new Notifier({
      ...d,
      fleet: "f",
      sinks: sinks(["agent-unhealthy"]),
      log: () => {},
      now: () => T0,
      deliver: async (_s, b) => void sent.push(b),
    });
    n.tick();
    await flush();
    expect(sent).toEqual([]);
    status(d.shared, old);
    n.tick();
    await flush();
    expect(sent.map((b) => b.event)).toEqual(["agent-unhealthy"]);
    await n.stop();
  });

  it("sends no history from before a sink existed, but a state that still needs a human", async () => {
    const d = dirs();
    const old = new Date(T0 - 3600_000).toISOString();
    status(d.shared, old, { over_budget: { limit_usd: 5, spent_usd: 6, until: "2026-12-01T00:00:00.000Z" } });
    fs.writeFileSync(
      path.join(d.shared, "tasks", "failed", "t-261130-010000-aaaaaa.json"),
      JSON.stringify({
        id: "t-261130-010000-aaaaaa",
        title: "old failure",
        description: "",
        status: "failed",
        priority: 5,
        attempts: 1,
        max_attempts: 1,
        created_at: old,
        created_by: "x",
        completed_at: old,
        history: [],
      }),
    );
    const sent: string[] = [];
    const n = new Notifier({
      ...d,
      fleet: "f",
      sinks: sinks(["task-failed", "budget-exceeded"]),
      log: () => {},
      now: () => T0,
      deliver: async (_s, b) => void sent.push(b.key),
    });
    n.tick();
    await flush();
    n.tick();
    await flush();
    await n.stop();
    expect(sent).toEqual(["budget-exceeded:ghost:2026-12-01T00:00:00.000Z"]);
  });

  it("escapes and bounds agent text; chat markup characters become entities", () => {
    const s = safeText(`\x1b[31mred\u202e\r\n${"x".repeat(500)}`, 50);
    expect(s).toHaveLength(50);
    expect(s.startsWith("\\x1b[31mred[BIDI U+202E RLO]\\r\\n")).toBe(true);
    expect(chatEscape("<@here> & <!channel>")).toBe("&lt;@here&gt; &amp; &lt;!channel&gt;");
    const body = notificationBody("f", {
      key: "k",
      event: "task-failed",
      at: "t",
      agent: null,
      task_id: null,
      proposal_id: null,
      summary: "<b>",
      detail: null,
    });
    expect(body.text).toBe("[f] task-failed: &lt;b&gt;");
  });

  it("refuses a bad notifications file naming the field", () => {
    const bad = (sinks: unknown) => () => parseNotifyFile(JSON.stringify({ fleet: "f", sinks }));
    expect(bad([{ on: ["task-failed"], webhook: "http://user:pw@example.com/" }])).toThrow(
      /sinks\[0\]\.webhook: must not carry a user or password/,
    );
    expect(
      bad([{ on: ["task-failed"], smtp: { host: "h", port: 25, from: "a@b", to: "c@d", user: "u", password: 1 } }]),
    ).toThrow(/sinks\[0\]\.smtp\.password: must be a secret string/);
    expect(() => parseNotifyFile("[]")).toThrow(/must be a JSON object/);
  });
});
