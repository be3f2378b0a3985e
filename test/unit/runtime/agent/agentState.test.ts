import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CurrentProgram } from "../../../../runtime/agent/currentProgram.js";
import { StatusBoard } from "../../../../runtime/agent/statusBoard.js";
import { WakeableSleep } from "../../../../runtime/agent/wakeableSleep.js";
import { readStatus } from "../../../../runtime/status.js";
import { makeWorld, MemoryLog, shellAgent } from "../fixtures.js";

describe("StatusBoard", () => {
  it("publishes the status with a fresh heartbeat; counters and probation carry over to the next run", () => {
    const w = makeWorld();
    const first = new StatusBoard(w.layout, w.settings);
    first.status.tasks_done = 3;
    first.status.tasks_failed = 1;
    first.status.probation = { proposal_id: "p-1", commit: "c", failures: 1 };
    first.status.consecutive_failures = 2;
    first.setError("boom");
    first.write();
    expect(readStatus(w.layout, "a1")).toMatchObject({
      agent: "a1",
      state: "starting",
      last_error: "boom",
      tasks_done: 3,
      lease_seconds: w.settings.leaseSeconds,
    });
    const second = new StatusBoard(w.layout, w.settings);
    second.restore();
    expect(second.status).toMatchObject({
      tasks_done: 3,
      tasks_failed: 1,
      probation: { proposal_id: "p-1" },
      consecutive_failures: 0,
      last_error: null,
    });
  });

  it("clearing the error keeps when it last happened", () => {
    const w = makeWorld();
    const b = new StatusBoard(w.layout, w.settings);
    b.setError("boom");
    const at = b.status.last_error_at;
    b.setError(null);
    expect(b.status).toMatchObject({ last_error: null, last_error_at: at });
  });
});

describe("CurrentProgram", () => {
  it("an invalid agent.json leaves no program and is reported once per distinct error; a fix is noticed", () => {
    const w = makeWorld({ files: { "agent.json": "{ nope" } });
    const log = new MemoryLog();
    const board = new StatusBoard(w.layout, w.settings);
    const program = new CurrentProgram(w.app, log, board);
    program.reload();
    program.reload();
    expect(program.program).toBeUndefined();
    expect(log.events("agent-program-invalid")).toHaveLength(1);
    expect(board.status.last_error).toMatch(/agent\.json is not valid JSON/);
    fs.writeFileSync(path.join(w.app, "agent.json"), shellAgent("true")["agent.json"]!);
    program.reload();
    expect(program.program?.command).toEqual(["sh", "-c", "true"]);
    expect(log.events("agent-program-ok")).toHaveLength(1);
  });
});

describe("WakeableSleep", () => {
  it("a wake-up ends the current sleep; one that comes while busy ends the next sleep at once", async () => {
    const s = new WakeableSleep();
    let ended = false;
    const long = s.sleep(60_000).then(() => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(false);
    s.wake();
    await long;
    expect(ended).toBe(true);
    s.wake(); // while busy
    await s.sleep(60_000); // returns at once, or the test times out
    let second = false;
    const p = s.sleep(10).then(() => (second = true));
    await p;
    expect(second).toBe(true);
  });
});
