import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idleWakerProgram } from "../../fleet/idleWaker.js";
import { dockerEnv } from "../harness/docker/index.js";
import { agent1Instructions, TestFleet, waitFor } from "./fleet.js";

/**
 * Idle scale-down on the real engine: the agent (AGENT_IDLE_AFTER_SECONDS, seconds for the test)
 * declares itself idle, the host-side waker (the very program the fleet installs, run here as the
 * test's root with `docker` pointed at the private engine) stops it, Docker's restart policy leaves
 * it stopped, and a queued task makes the waker start it again; the task is done, nothing lost.
 */
describe("idle scale-down on a real engine", () => {
  let fleet: TestFleet;
  let pass: () => string;

  beforeAll(() => {
    fleet = TestFleet.create("idle");
    fleet.addAgent("agent-1", "agents/agent-1", {
      approvalRequired: false,
      env: { AGENT_IDLE_AFTER_SECONDS: "3" },
    });
    const bin = path.join(fleet.root, "waker-bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(fleet.target.cli, path.join(bin, "docker"));
    const program = idleWakerProgram({
      fleet: fleet.fleet,
      layout: fleet.layout,
      agents: [{ name: "agent-1", capabilities: [] }],
    });
    pass = () => {
      const r = spawnSync("/bin/sh", ["-c", program, "idle-waker", "once"], {
        encoding: "utf8",
        env: dockerEnv(fleet.target, { PATH: `${bin}:${process.env.PATH}` }),
      });
      if (r.status !== 0) throw new Error(`idle-waker failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    };
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it("an idle agent is stopped and stays stopped; a queued task wakes it and is done", async () => {
    await fleet.start("agent-1");
    await fleet.waitHealthy("agent-1");
    const marker = path.join(fleet.layout.sharedDir, "agents", "agent-1", "idle");
    await waitFor("agent-1 idle", async () => (existsSync(marker) ? true : undefined));
    expect(pass()).toBe("stopped agent-1 (idle)\n");
    const stopped = await fleet.inspect("agent-1");
    expect(stopped.State.Running).toBe(false);
    expect(stopped.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    // The runtime exited cleanly on SIGTERM with nothing in hand: status idle-stopped.
    const statuses = await fleet.agentctlJson<any[]>(["status"]);
    expect(statuses.find((s) => s.agent === "agent-1")).toMatchObject({ state: "stopped", idle_stopped: true });
    expect(await fleet.agentctlOk(["status"])).toMatch(/agent-1\s+idle-stopped/);
    // Nothing for it yet: the waker leaves it stopped.
    expect(pass()).toBe("");

    const id = await fleet.addTask(
      "After the nap",
      agent1Instructions([{ write: { path: "woken.txt", content: "woken\n" } }]),
      { agent: "agent-1" },
    );
    expect(pass()).toBe("woke agent-1\n");
    expect((await fleet.inspect("agent-1")).State.Running).toBe(true);
    const done = await fleet.waitTask(id, ["done", "failed"]);
    expect(done.status).toBe("done");
    expect(done.result.outcome).toBe("applied");
    expect(fleet.readAgentFile("agent-1", "woken.txt")).toBe("woken\n");
    // The woken run removed the earlier run's marker; the waker does not stop it for that one.
    expect(pass()).toBe("");
    expect((await fleet.agentctlJson<any[]>(["tasks", "--state", "claimed"])).length).toBe(0);
  });
});
