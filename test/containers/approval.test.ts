import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerSpec } from "../../fleet/spec.js";
import { agent1Instructions, sleep, TestFleet } from "./fleet.js";

/**
 * Scenarios 1, 2 and 6 of the image issue: two agents from agents/ in real containers; a task
 * queued with the host-side agentctl; with approval on, the agent's code folder on the host stays
 * unchanged until `agentctl approve`, then holds the change as a git commit; flipping
 * APPROVAL_REQUIRED changes only that variable in the spec (and in the container Docker runs),
 * and the next change lands without a decision.
 */
describe("approval gate in real containers", () => {
  let fleet: TestFleet;

  beforeAll(async () => {
    fleet = TestFleet.create("approval");
    fleet.addAgent("agent-1", "agents/agent-1", { approvalRequired: true, capabilities: ["edit"] });
    fleet.addAgent("agent-2", "agents/agent-2", { approvalRequired: true, secrets: "ANTHROPIC_API_KEY=\n" });
    await fleet.start("agent-1");
    await fleet.start("agent-2");
    await Promise.all([fleet.waitHealthy("agent-1"), fleet.waitHealthy("agent-2")]);
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it("scenario 1: a proposal waits, the host's code is unchanged until `agentctl approve`, then it is a commit", async () => {
    const status = await fleet.agentctlJson<any[]>(["status"]);
    expect(status.map((s) => s.agent).sort()).toEqual(["agent-1", "agent-2"]);
    for (const s of status) {
      expect(s.approval_required).toBe(true);
      expect(s.privilege_separation).toBe(true);
    }

    const headBefore = (await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim();
    const taskId = await fleet.addTask(
      "Add a greeting",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello from a container\n" } }]),
      { agent: "agent-1" },
    );

    const proposal = await fleet.waitProposal(taskId, ["pending"]);
    expect(proposal.agent).toBe("agent-1");
    expect(proposal.approval_required).toBe(true);
    const diff = await fleet.agentctlOk(["diff", proposal.id]);
    expect(diff).toContain("+hello from a container");

    // The task is finished as far as the agent is concerned; the change waits for a human.
    const task = await fleet.waitTask(taskId, ["done"]);
    expect(task.result?.proposal_id).toBe(proposal.id);
    // Give the runtime several poll cycles: no answer is never a yes.
    await sleep(3000);
    expect((await fleet.proposals("agent-1")).find((p) => p.id === proposal.id).state).toBe("pending");
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    expect((await fleet.git("agent-1", ["status", "--porcelain"])).trim()).toBe("");
    expect(existsSync(path.join(fleet.layout.agentCodeDir("agent-1"), "greeting.txt"))).toBe(false);

    await fleet.agentctlOk(["approve", proposal.id, "--note", "looks good", "--by", "ops"]);
    const applied = await fleet.waitProposal(taskId, ["applied"]);
    expect(fleet.readAgentFile("agent-1", "greeting.txt")).toBe("hello from a container\n");
    const head = (await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim();
    expect(head).toBe(applied.commit);
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD~1"])).trim()).toBe(headBefore);
    const message = await fleet.git("agent-1", ["log", "-1", "--format=%B"]);
    expect(message).toContain(`Proposal-Id: ${proposal.id}`);
    expect(message).toContain(`Task-Id: ${taskId}`);
    expect(message).toContain("Approved-By: ops");
    // The decision is a file the operator wrote on the host.
    expect(readdirSync(fleet.layout.decisionsDir).some((f) => f.startsWith(proposal.id))).toBe(true);
    // agent-2 was not touched by agent-1's task.
    expect((await fleet.git("agent-2", ["log", "--format=%s"])).trim().split("\n")).toHaveLength(1);
  });

  it("scenario 1: agent-2 (a coding-CLI agent) without an API key fails its task with a clear reason", async () => {
    const taskId = await fleet.addTask("Refactor something", "Please tidy up the README.\n", { agent: "agent-2" });
    const task = await fleet.waitTask(taskId, ["failed"], 240_000);
    expect(JSON.stringify(task)).toContain("ANTHROPIC_API_KEY is not set");
    expect(await fleet.proposals("agent-2")).toEqual([]);
  });

  it("scenario 6 and 2: flipping APPROVAL_REQUIRED changes only that variable; the next change lands without a decision", async () => {
    // The spec the Pulumi layer diffs on.
    const on = fleet.spec("agent-1");
    const off = fleet.spec("agent-1", { approvalRequired: false });
    const changed = Object.keys(on.env).filter((k) => on.env[k] !== off.env[k]);
    expect(changed).toEqual(["APPROVAL_REQUIRED"]);
    expect({ ...off, env: { ...off.env, APPROVAL_REQUIRED: on.env.APPROVAL_REQUIRED } }).toEqual(on);
    // The other agent's spec does not depend on agent-1's setting at all.
    expect(containerSpec(fleet.settings("agent-2"))).toEqual(fleet.spec("agent-2"));

    // The container Docker runs: recreate agent-1 from the flipped spec and compare what Docker
    // reports, before and after.
    const before = await fleet.inspect("agent-1");
    const agent2Before = await fleet.inspect("agent-2");
    await fleet.remove("agent-1");
    await fleet.start("agent-1", { approvalRequired: false });
    const after = await fleet.inspect("agent-1");
    const envDiff = (a: string[], b: string[]) => a.filter((e) => !b.includes(e));
    expect(envDiff(before.Config.Env, after.Config.Env)).toEqual(["APPROVAL_REQUIRED=true"]);
    expect(envDiff(after.Config.Env, before.Config.Env)).toEqual(["APPROVAL_REQUIRED=false"]);
    expect(after.HostConfig).toEqual(before.HostConfig);
    const byTarget = (m: any[]) => [...m].sort((a, b) => a.Destination.localeCompare(b.Destination));
    expect(byTarget(after.Mounts)).toEqual(byTarget(before.Mounts));
    expect(after.Config.Image).toBe(before.Config.Image);
    expect(after.Config.Labels).toEqual(before.Config.Labels);
    expect(after.Config.User).toBe(before.Config.User);
    expect(after.Config.Healthcheck).toEqual(before.Config.Healthcheck);
    expect(after.HostConfig.PortBindings ?? {}).toEqual({});
    await fleet.waitHealthy("agent-1");
    // agent-2's container is the same one, still running.
    const agent2After = await fleet.inspect("agent-2");
    expect(agent2After.Id).toBe(agent2Before.Id);
    expect(agent2After.State.StartedAt).toBe(agent2Before.State.StartedAt);

    const status = (await fleet.agentctlJson<any[]>(["status"])).find((s) => s.agent === "agent-1");
    expect(status.approval_required).toBe(false);

    const headBefore = (await fleet.git("agent-1", ["rev-parse", "HEAD"])).trim();
    const decisionsBefore = readdirSync(fleet.layout.decisionsDir).sort();
    const taskId = await fleet.addTask(
      "Autonomous edit",
      agent1Instructions([{ append: { path: "greeting.txt", content: "and now without asking\n" } }]),
      { capability: "edit" },
    );
    const applied = await fleet.waitProposal(taskId, ["applied"]);
    expect(applied.approval_required).toBe(false);
    expect(fleet.readAgentFile("agent-1", "greeting.txt")).toBe("hello from a container\nand now without asking\n");
    expect((await fleet.git("agent-1", ["rev-parse", "HEAD~1"])).trim()).toBe(headBefore);
    const message = await fleet.git("agent-1", ["log", "-1", "--format=%B"]);
    expect(message).toContain(`Task-Id: ${taskId}`);
    expect(message).toContain("Approved-By: autonomous");
    expect(readdirSync(fleet.layout.decisionsDir).sort()).toEqual(decisionsBefore);
  });
});
