import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent1Instructions, TestFleet, waitFor } from "./fleet.js";

/**
 * Scenario 3: code changes live in the agent's code folder on the host (a git repo), so they
 * survive `docker restart` and removing and recreating the container; nothing is applied twice
 * and a proposal that waits for approval survives both too.
 */
describe("code changes survive restart and recreate", () => {
  let fleet: TestFleet;

  beforeAll(() => {
    fleet = TestFleet.create("persist");
    fleet.addAgent("agent-1", "agents/agent-1", { approvalRequired: false });
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  async function commitsFor(field: "Task-Id" | "Proposal-Id", id: string): Promise<string[]> {
    return (await fleet.git("agent-1", ["log", "--format=%H", "-F", `--grep=${field}: ${id}`]))
      .trim()
      .split("\n")
      .filter(Boolean);
  }

  async function applyTask(n: number): Promise<{ taskId: string; commit: string }> {
    const taskId = await fleet.addTask(
      `Change ${n}`,
      agent1Instructions([{ append: { path: "changes.log", content: `change ${n}\n` } }]),
      { agent: "agent-1" },
    );
    const p = await fleet.waitProposal(taskId, ["applied"]);
    return { taskId, commit: p.commit };
  }

  async function restartedAndHealthy(before: any): Promise<void> {
    await waitFor("the container to run again", async () => {
      const c = await fleet.inspect("agent-1");
      return c.State.Running && c.State.StartedAt !== before.State.StartedAt ? c : undefined;
    });
    await fleet.waitHealthy("agent-1");
  }

  it("survives docker restart", async () => {
    await fleet.start("agent-1");
    await fleet.waitHealthy("agent-1");
    const first = await applyTask(1);
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(first.commit);

    const before = await fleet.inspect("agent-1");
    await fleet.docker(["restart", fleet.containerName("agent-1")]);
    await restartedAndHealthy(before);

    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(first.commit);
    expect(fleet.readAgentFile("agent-1", "changes.log")).toBe("change 1\n");
    expect(await commitsFor("Task-Id", first.taskId)).toEqual([first.commit]);
    expect((await fleet.git("agent-1", ["status", "--porcelain"])).trim()).toBe("");

    const second = await applyTask(2);
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD~1"])).trim()).toBe(first.commit);
    expect(fleet.readAgentFile("agent-1", "changes.log")).toBe("change 1\nchange 2\n");
    expect(await commitsFor("Task-Id", second.taskId)).toEqual([second.commit]);
  });

  it("survives removing and recreating the container (and a waiting proposal survives too)", async () => {
    const head = (await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim();
    const history = await fleet.git("agent-1", ["log", "--format=%H %s"]);
    await fleet.remove("agent-1");
    await fleet.start("agent-1", { approvalRequired: true });
    await fleet.waitHealthy("agent-1");
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(head);
    expect(await fleet.git("agent-1", ["log", "--format=%H %s"])).toBe(history);
    expect(fleet.readAgentFile("agent-1", "changes.log")).toBe("change 1\nchange 2\n");

    // A proposal made by this container waits, across a restart and a recreate, for approval.
    const taskId = await fleet.addTask(
      "Change 3",
      agent1Instructions([{ append: { path: "changes.log", content: "change 3\n" } }]),
      { agent: "agent-1" },
    );
    const pending = await fleet.waitProposal(taskId, ["pending"]);
    const before = await fleet.inspect("agent-1");
    await fleet.docker(["restart", fleet.containerName("agent-1")]);
    await restartedAndHealthy(before);
    await fleet.remove("agent-1");
    await fleet.start("agent-1", { approvalRequired: true });
    await fleet.waitHealthy("agent-1");
    expect((await fleet.proposals("agent-1")).find((p) => p.id === pending.id).state).toBe("pending");
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(head);

    await fleet.agentctlOk(["approve", pending.id, "--by", "ops"]);
    const applied = await fleet.waitProposal(taskId, ["applied"]);
    expect(fleet.readAgentFile("agent-1", "changes.log")).toBe("change 1\nchange 2\nchange 3\n");
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD~1"])).trim()).toBe(head);
    expect(await commitsFor("Proposal-Id", pending.id)).toEqual([applied.commit]);

    // One more restart: the approved proposal is not applied a second time.
    const again = await fleet.inspect("agent-1");
    await fleet.docker(["restart", fleet.containerName("agent-1")]);
    await restartedAndHealthy(again);
    expect(await commitsFor("Proposal-Id", pending.id)).toEqual([applied.commit]);
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    const events = (await fleet.logs("agent-1")).map((e) => e.event);
    expect(events).not.toContain("rolling-back");
    expect(events).not.toContain("rolled-back");
  });
});
