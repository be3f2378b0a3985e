import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { IdleScaleDown, idleMarkerFile } from "../../../../runtime/agent/idleScaleDown.js";
import { StatusBoard } from "../../../../runtime/agent/statusBoard.js";
import { ensureSharedLayout, sharedLayout } from "../../../../runtime/sharedLayout.js";
import { MemoryLog, tempDir } from "../fixtures.js";

/** Idle scale-down's timer and marker, with the clock in the test's hands. */

function setup(afterMs: number | undefined, awaited: string[] = []) {
  const layout = sharedLayout(tempDir());
  ensureSharedLayout(layout, "a1");
  const board = new StatusBoard(layout, {
    agentName: "a1",
    approvalRequired: true,
    capabilities: [],
    leaseSeconds: 30,
  });
  const log = new MemoryLog();
  let t = 1_000_000;
  const idle = new IdleScaleDown({
    afterMs,
    agent: "a1",
    layout,
    board,
    log,
    awaitedProposals: () => awaited,
    now: () => t,
  });
  const marker = idleMarkerFile(layout, "a1");
  return { idle, board, log, marker, advance: (ms: number) => (t += ms) };
}

describe("IdleScaleDown", () => {
  it("declares idle only once the whole period passed with nothing to claim", () => {
    const { idle, board, marker, log, advance } = setup(60_000, ["p-261130-020000-abcdef"]);
    advance(59_999);
    expect(idle.nothingToClaim()).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
    advance(1);
    expect(idle.nothingToClaim()).toBe(true);
    expect(idle.idle).toBe(true);
    expect(board.status.idle_since).toBe(new Date(1_060_000).toISOString());
    // The marker lists the proposals whose decision must wake the agent, one per line.
    expect(fs.readFileSync(marker, "utf8")).toBe("p-261130-020000-abcdef\n");
    expect(log.events("agent-idle")).toHaveLength(1);
    // Staying idle writes nothing again.
    advance(120_000);
    expect(idle.nothingToClaim()).toBe(true);
    expect(log.events("agent-idle")).toHaveLength(1);
  });

  it("a claim (busy) starts the period again", () => {
    const { idle, marker, advance } = setup(60_000);
    advance(50_000);
    idle.busy();
    advance(50_000);
    expect(idle.nothingToClaim()).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
    advance(10_000);
    expect(idle.nothingToClaim()).toBe(true);
    expect(fs.readFileSync(marker, "utf8")).toBe("");
  });

  it("leave() removes the marker before the agent claims again, and the period restarts", () => {
    const { idle, board, marker, advance } = setup(1000);
    advance(1000);
    expect(idle.nothingToClaim()).toBe(true);
    idle.leave();
    expect(fs.existsSync(marker)).toBe(false);
    expect(board.status.idle_since).toBeNull();
    expect(idle.nothingToClaim()).toBe(false);
  });

  it("reset() at start removes an earlier run's marker", () => {
    const { idle, board, marker, advance } = setup(1000);
    advance(1000);
    idle.nothingToClaim();
    expect(fs.existsSync(marker)).toBe(true);
    idle.reset();
    expect(fs.existsSync(marker)).toBe(false);
    expect(board.status.idle_since).toBeNull();
  });

  it("without a setting the agent never idles", () => {
    const { idle, marker, advance } = setup(undefined);
    advance(365 * 86_400_000);
    expect(idle.enabled).toBe(false);
    expect(idle.nothingToClaim()).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
