import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ENV } from "../../../contract/env.js";
import { CONTAINER_PATHS } from "../../../contract/paths.js";
import { agentHealth, DEFAULT_LEASE_SECONDS } from "../../../runtime/operator/status.js";
import { sharedLayout } from "../../../runtime/sharedLayout.js";
import { writeStatus, type AgentStatus } from "../../../runtime/status.js";
import { removeTempDirs, tempDir } from "../program/tmp.js";

afterAll(removeTempDirs);

/**
 * The image's HEALTHCHECK script (agent-image/agent-health.sh) run with /bin/sh against status
 * files the runtime's own writer produced, compared with `agentctl health`'s rule (agentHealth).
 */
const repo = path.resolve(__dirname, "../../..");
const SCRIPT = path.join(repo, "agent-image", "agent-health.sh");

function status(agent: string, over: Partial<AgentStatus> = {}): AgentStatus {
  const now = new Date().toISOString();
  return {
    agent,
    pid: 7,
    hostname: agent,
    state: "running",
    started_at: now,
    heartbeat_at: now,
    approval_required: true,
    capabilities: [],
    privilege_separation: true,
    run_as: "agent",
    current_task: null,
    current_task_started_at: null,
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    probation: { proposal_id: "p1", commit: "abc", failures: 0 },
    tasks_done: 0,
    tasks_failed: 0,
    lease_seconds: 30,
    ...over,
  };
}

function runScript(shared: string, agent: string, env: Record<string, string> = {}) {
  const r = spawnSync("/bin/sh", [SCRIPT], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", [ENV.agentName]: agent, [ENV.sharedDir]: shared, ...env },
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** Writes the status as the runtime does and dates the heartbeat (and the file) `ageSeconds` back. */
function writeAged(shared: string, s: AgentStatus, ageSeconds: number): void {
  const l = sharedLayout(shared);
  fs.mkdirSync(l.agentDir(s.agent), { recursive: true });
  const at = new Date(Date.now() - ageSeconds * 1000);
  writeStatus(l, { ...s, heartbeat_at: at.toISOString() });
  fs.utimesSync(l.statusFile(s.agent), at, at);
}

describe("agent-health (the image's HEALTHCHECK)", () => {
  it("agrees with agentctl health: fresh, stale, stopped, its own lease, no file", () => {
    const shared = tempDir("health-");
    const cases: Array<[string, AgentStatus | undefined, number, boolean]> = [
      ["fresh", status("a1"), 1, true],
      ["stale", status("a2"), 45, false],
      ["stopped", status("a3", { state: "stopped" }), 1, false],
      ["stopping is still alive", status("a4", { state: "stopping" }), 1, true],
      ["its own short lease", status("a5", { lease_seconds: 10 }), 20, false],
      ["its own long lease", status("a6", { lease_seconds: 120 }), 60, true],
      ["no status file", undefined, 0, false],
    ];
    for (const [title, s, age, healthy] of cases) {
      const agent = s?.agent ?? "a0";
      if (s) writeAged(shared, s, age);
      const r = runScript(shared, agent);
      expect(agentHealth(shared, agent).healthy, title).toBe(healthy);
      expect(r.code, `${title}: ${r.out}`).toBe(healthy ? 0 : 1);
      expect(r.out).toMatch(new RegExp(`^${agent}: ${healthy ? "healthy" : "unhealthy"}`));
    }
  });

  it("does not take a nested or forged-looking key for the agent's state", () => {
    const shared = tempDir("health-");
    // A last_error that contains the state line's text stays one JSON string line.
    writeAged(shared, status("a1", { last_error: '\n  "state": "stopped"', state: "running" }), 1);
    expect(runScript(shared, "a1").code).toBe(0);
  });

  it("fails clearly without its environment", () => {
    const r = runScript("", "");
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${ENV.agentName} must be set`);
  });

  it("uses the contract's names, the runtime's status path and default lease", () => {
    const text = fs.readFileSync(SCRIPT, "utf8");
    expect(text).toContain(`\${${ENV.agentName}:-}`);
    expect(text).toContain(`\${${ENV.sharedDir}:-${CONTAINER_PATHS.shared}}`);
    expect(sharedLayout("/S").statusFile("N")).toBe("/S/agents/N/status.json");
    expect(text).toContain('file="$shared/agents/$name/status.json"');
    expect(text).toContain(`lease=${DEFAULT_LEASE_SECONDS}\n`);
  });

  it("is the image's HEALTHCHECK", () => {
    const dockerfile = fs.readFileSync(path.join(repo, "agent-image", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["agent-health"\]$/m);
    expect(dockerfile).toContain("COPY agent-image/agent-health.sh /usr/local/bin/agent-health");
  });
});
