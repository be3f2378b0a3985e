import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent1Instructions, TestFleet, waitFor } from "./fleet.js";

/**
 * Scenario 5: the image's health check turns healthy; killing the runtime makes Docker restart
 * the container (restart unless-stopped, tini as PID 1 exits with the runtime); no task is lost.
 * Also prints the figures the issue asks for: create-to-healthy time and idle memory.
 */
describe("health check and restart on a killed runtime", () => {
  let fleet: TestFleet;

  beforeAll(() => {
    fleet = TestFleet.create("health");
    // Short leases so a task held by the killed runtime comes back quickly (same semantics).
    fleet.addAgent("agent-1", "agents/agent-1", {
      approvalRequired: false,
      env: { AGENT_LEASE_SECONDS: "10", AGENT_HEARTBEAT_SECONDS: "2" },
    });
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it("turns healthy; figures: create to healthy, idle memory", async () => {
    const { issuedAt } = await fleet.start("agent-1");
    const seenHealthyAt = await fleet.waitHealthy("agent-1");
    const figures = await fleet.startFigures("agent-1");
    const c = await fleet.inspect("agent-1");
    // Where the time goes: Docker's start, the runtime's own start (its status file's started_at).
    const status = JSON.parse(
      readFileSync(path.join(fleet.layout.sharedDir, "agents", "agent-1", "status.json"), "utf8"),
    );
    const createdAt = Date.parse(c.Created);
    const startedAt = Date.parse(c.State.StartedAt);
    console.log(
      `[figures] created -> container started ${((startedAt - createdAt) / 1000).toFixed(1)} s; ` +
        `started -> runtime's first status ${((Date.parse(status.started_at) - startedAt) / 1000).toFixed(1)} s; ` +
        `first health check after creation ${((figures.firstCheckMs ?? NaN) / 1000).toFixed(1)} s`,
    );
    // The image's HEALTHCHECK (the shell check agent-health), not one added by the spec.
    expect(c.Config.Healthcheck.Test).toEqual(["CMD", "agent-health"]);
    expect(c.State.Health.Log.some((l: any) => l.ExitCode === 0 && /agent-1: healthy/.test(l.Output))).toBe(true);

    // Idle: no task, a few heartbeats later.
    await new Promise((r) => setTimeout(r, 8000));
    const mem = await fleet.memoryFigures("agent-1");
    console.log(
      `[figures] agent container start: docker run issued -> healthy seen ${((seenHealthyAt - issuedAt) / 1000).toFixed(1)} s; ` +
        `created -> first passing health check ${(figures.createdToHealthyMs / 1000).toFixed(1)} s, of which started -> healthy ` +
        `${((figures.createdToHealthyMs - (Date.parse(c.State.StartedAt) - Date.parse(c.Created))) / 1000).toFixed(1)} s (HEALTHCHECK interval 2 s)`,
    );
    console.log(
      `[figures] idle memory of one agent container: docker stats ${mem.statsMiB.toFixed(1)} MiB` +
        (mem.cgroupUsageMiB !== undefined ? `, cgroup usage ${mem.cgroupUsageMiB.toFixed(1)} MiB` : "") +
        (mem.cgroupRssMiB !== undefined ? `, cgroup rss ${mem.cgroupRssMiB.toFixed(1)} MiB` : "") +
        `; resident set of its processes: ${mem.processes.map((p) => `${p.args.split(" ")[0]} ${p.rssMiB.toFixed(1)} MiB`).join(", ")}`,
    );
    expect(mem.statsMiB).toBeGreaterThan(0);
  });

  it("killing the runtime restarts the container and loses no task", async () => {
    const before = await fleet.inspect("agent-1");
    const slow = await fleet.addTask(
      "Slow edit",
      agent1Instructions([{ sleep: { seconds: 20 } }, { write: { path: "slow.txt", content: "slow task done\n" } }]),
      { agent: "agent-1" },
    );
    const quick: string[] = [];
    for (let i = 1; i <= 3; i++) {
      quick.push(
        await fleet.addTask(
          `Quick edit ${i}`,
          agent1Instructions([{ write: { path: `quick-${i}.txt`, content: `quick ${i}\n` } }]),
          { agent: "agent-1" },
        ),
      );
    }
    // Watch the queue on the host (the claim is a rename into tasks/claimed/agent-1/, whose file
    // name carries the task id): polling agentctl could miss the window on a slow machine.
    const claimedDir = path.join(fleet.layout.sharedDir, "tasks", "claimed", "agent-1");
    await waitFor(
      `task ${slow} to be claimed`,
      async () => (existsSync(claimedDir) && readdirSync(claimedDir).some((n) => n.includes(slow))) || undefined,
      120_000,
      100,
    );

    // Kill the runtime process itself (not the container): as an OOM kill or a crash would.
    const runtime = (await fleet.processes("agent-1")).filter(
      (p) => /agent-runtime\.js/.test(p.args) && !/^\/bin\/sh/.test(p.args),
    );
    expect(runtime).toHaveLength(1);
    expect(runtime[0]!.user).toBe("root");
    process.kill(runtime[0]!.pid, "SIGKILL");

    await waitFor("Docker to restart the container", async () => {
      const c = await fleet.inspect("agent-1");
      return c.RestartCount > before.RestartCount && c.State.Running && c.State.StartedAt !== before.State.StartedAt
        ? c
        : undefined;
    });
    const after = await fleet.inspect("agent-1");
    expect(after.Id).toBe(before.Id);
    expect(after.State.Pid).not.toBe(before.State.Pid);
    await fleet.waitHealthy("agent-1");

    // Every task is done, and every change is committed exactly once.
    for (const id of [slow, ...quick]) {
      const t = await fleet.waitTask(id, ["done"], 240_000);
      expect(t.result?.outcome).toBe("applied");
      const commits = (await fleet.git("agent-1", ["log", "--format=%H", "-F", `--grep=Task-Id: ${id}`]))
        .trim()
        .split("\n")
        .filter(Boolean);
      expect(commits, `commits for ${id}`).toHaveLength(1);
    }
    expect((await fleet.task(slow)).attempts).toBeGreaterThanOrEqual(1);
    expect(fleet.readAgentFile("agent-1", "slow.txt")).toBe("slow task done\n");
    for (let i = 1; i <= 3; i++) expect(fleet.readAgentFile("agent-1", `quick-${i}.txt`)).toBe(`quick ${i}\n`);
    expect(await fleet.agentctlJson<any[]>(["tasks", "--state", "failed"])).toEqual([]);
  });
});
