import * as fs from "node:fs";
import * as path from "node:path";
import { IDLE_MARKER_FILE } from "../../contract/env.js";
import { errnoCode, writeFileAtomic } from "../fsAtomic.js";
import type { AgentLogger } from "../log.js";
import type { SharedLayout } from "../sharedLayout.js";
import type { StatusBoard } from "./statusBoard.js";

export interface IdleScaleDownOptions {
  /** AGENT_IDLE_AFTER_SECONDS in milliseconds; undefined: the agent never idles out. */
  afterMs: number | undefined;
  agent: string;
  layout: SharedLayout;
  board: StatusBoard;
  log: AgentLogger;
  /** This agent's proposals still waiting for a decision (their decision must wake the agent). */
  awaitedProposals: () => string[];
  /** Milliseconds now; injected so the unit tests decide what time it is. */
  now?: () => number;
}

/** The idle marker of an agent (`agents/<agent>/idle`), which the host-side waker reads. */
export function idleMarkerFile(layout: SharedLayout, agent: string): string {
  return path.join(layout.agentDir(agent), IDLE_MARKER_FILE);
}

/**
 * Idle scale-down, the runtime's half: after `afterMs` in which this agent had nothing to claim,
 * it declares itself idle (status `idle_since`, the marker file listing the proposals it waits
 * for) and claims nothing while it stays idle, so a stop never finds a task in its hands. The
 * stop itself is done from outside (on Docker hosts the root-owned waker on the host: `docker
 * stop`, which the `unless-stopped` restart policy respects, also across a reboot; a crash is
 * still restarted by Docker). If a claimable task shows up before the stop, the agent leaves the
 * idle state by removing its marker and carries on (a waker that stops it in that instant gets
 * the task back through SIGTERM's hand-back, and wakes it again for it).
 */
export class IdleScaleDown {
  private lastBusy: number;
  private readonly now: () => number;
  private readonly marker: string;

  constructor(private readonly o: IdleScaleDownOptions) {
    this.now = o.now ?? Date.now;
    this.lastBusy = this.now();
    this.marker = idleMarkerFile(o.layout, o.agent);
  }

  get enabled(): boolean {
    return this.o.afterMs !== undefined;
  }

  get idle(): boolean {
    return this.o.board.status.idle_since != null;
  }

  /**
   * At start: a marker of an earlier run (the one the waker stopped) is gone, so the waker does
   * not take this run for idle; the idle period starts now.
   */
  reset(): void {
    this.removeMarker();
    this.o.board.status.idle_since = null;
    this.lastBusy = this.now();
  }

  /** The agent had work (a claim, a held switch): the idle period starts again. */
  busy(): void {
    this.lastBusy = this.now();
  }

  /**
   * Nothing claimable right now: declare idle once the period has passed. Returns whether the
   * agent is idle (then it must not claim).
   */
  nothingToClaim(): boolean {
    if (this.o.afterMs === undefined || this.idle) return this.idle;
    if (this.now() - this.lastBusy < this.o.afterMs) return false;
    const awaited = this.o.awaitedProposals();
    try {
      writeFileAtomic(this.marker, awaited.map((id) => `${id}\n`).join(""));
    } catch (err) {
      // Without its marker no waker would stop it: staying awake is the safe side.
      this.o.log.error("idle-marker-failed", { error: (err as Error).message });
      this.lastBusy = this.now();
      return false;
    }
    this.o.board.status.idle_since = new Date(this.now()).toISOString();
    this.o.board.write();
    this.o.log.info("agent-idle", { idle_seconds: Math.round(this.o.afterMs / 1000), awaited_proposals: awaited });
    return true;
  }

  /** A claimable task arrived while idle (and the agent was not stopped): back to work. */
  leave(): void {
    this.removeMarker();
    this.o.board.status.idle_since = null;
    this.lastBusy = this.now();
    this.o.board.write();
    this.o.log.info("agent-awake", {});
  }

  private removeMarker(): void {
    try {
      fs.unlinkSync(this.marker);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
    }
  }
}
