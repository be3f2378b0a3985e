/**
 * Scenarios 1, 4 and 5 through the real CLI on the local target: `pulumi up` in a copy of the
 * project builds the agent image and starts the containers on this machine's Docker (the hosts
 * suite's private engine, through DOCKER_HOST), the installed agentctl takes a task to an approved
 * commit, flipping `approvalRequired` replaces exactly the containers of agents without their own
 * override, a second `up` and a `refresh` change nothing, and `destroy` removes the containers and
 * keeps code and history. A bad stack config fails before anything is created.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../harness/docker/index.js";
import { agent1Instructions } from "../../containers/fleet.js";
import { git, Operator } from "../../containers/hostPrograms/operator.js";
import { waitHealthy } from "../../containers/hostPrograms/world.js";
import { containerIds, hostsWorld, replacedAgents, type HostsWorld } from "./world.js";

const AGENTS = ["one", "two", "three"];

describe("local target through the real CLI: up, approve, flip autonomy, no-op up, refresh, destroy", () => {
  let w: HostsWorld;
  let outputs: Record<string, any>;
  let containers: Record<string, string>;
  let op: Operator;
  let created: number;
  const codeDir = (agent: string) => path.join(w.projectDir, ".agent-fleet", w.fleet, "agents", agent);

  beforeAll(async () => {
    w = hostsWorld("local");
    await w.stack.init({
      target: "local",
      fleetName: w.fleet,
      image: { baseImage: w.baseImage },
      agents: [
        { name: "one", code: "agents/agent-1" },
        { name: "two", code: "agents/agent-1" },
        // Its own override: flipping the stack's approvalRequired must leave it alone.
        { name: "three", code: "agents/agent-1", approvalRequired: true },
      ],
    });
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  it("up creates every resource the preview announced and starts healthy containers; the outputs name them", async () => {
    const preview = await w.stack.preview();
    expect(preview.length).toBeGreaterThan(0);
    expect(new Set(preview.map((s) => s.op))).toEqual(new Set(["create"]));
    const changes = await w.stack.up();
    created = changes["create"] ?? 0;
    expect(changes).toEqual({ create: preview.length });

    outputs = await w.stack.outputs();
    expect(outputs["target"]).toBe("local");
    containers = Object.fromEntries(
      (outputs["agents"] as { name: string; container: string }[]).map((a) => [a.name, a.container]),
    );
    expect(Object.keys(containers).sort()).toEqual([...AGENTS].sort());
    await Promise.all(Object.values(containers).map((c) => waitHealthy(w.engine, c)));

    const wrapper = (outputs["agentctl"] as Record<string, string>)["status"]!.replace(/ status$/, "");
    const opsDir = path.join(w.work, "ops");
    mkdirSync(opsDir, { recursive: true });
    op = new Operator(
      (args) => run(wrapper, args, { cwd: opsDir, env: { ...process.env, ...w.dockerEnv }, timeoutMs: 120_000 }),
      opsDir,
    );
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", true],
      ["three", true],
      ["two", true],
    ]);
  });

  it("a task becomes a pending proposal; approve lands it as a commit with its trailers", async () => {
    const dir = codeDir("one");
    const headBefore = (await git(dir, ["rev-parse", "HEAD"])).trim();
    const taskId = await op.addTask(
      "Greet",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello from the real engine\n" } }]),
      "one",
    );
    const proposal = await op.waitProposal(taskId, ["pending"]);
    expect(proposal.approval_required).toBe(true);
    expect((await git(dir, ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    expect(existsSync(path.join(dir, "greeting.txt"))).toBe(false);

    await op.ok(["approve", proposal.id]);
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect((await git(dir, ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect((await git(dir, ["rev-parse", "HEAD~1"])).trim()).toBe(headBefore);
    expect(readFileSync(path.join(dir, "greeting.txt"), "utf8")).toBe("hello from the real engine\n");
    const message = await git(dir, ["log", "-1", "--format=%B"]);
    expect(message).toContain(`Proposal-Id: ${proposal.id}`);
    expect(message).toContain(`Task-Id: ${taskId}`);
    expect(message).toMatch(/^Approved-By: (?!autonomous)\S+/m);
  });

  it("`pulumi config set approvalRequired false` + up replaces exactly the containers of agents without their own override", async () => {
    await w.stack.configSet("approvalRequired", "false");
    const preview = await w.stack.preview();
    expect(replacedAgents(preview, AGENTS)).toEqual(["one", "two"]);
    const before = await containerIds(w.engine, Object.values(containers));
    const changes = await w.stack.up();
    expect(changes["create"] ?? 0).toBe(0);
    expect(changes["delete"] ?? 0).toBe(0);
    expect(changes["replace"]).toBeGreaterThan(0);
    const after = await containerIds(w.engine, Object.values(containers));
    expect(after[containers["one"]!]).not.toBe(before[containers["one"]!]);
    expect(after[containers["two"]!]).not.toBe(before[containers["two"]!]);
    expect(after[containers["three"]!]).toBe(before[containers["three"]!]);
    await Promise.all(Object.values(containers).map((c) => waitHealthy(w.engine, c)));
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", false],
      ["three", true],
      ["two", false],
    ]);
    // The approved commit survived the replacement: code lives on the host, not in the container.
    expect(readFileSync(path.join(codeDir("one"), "greeting.txt"), "utf8")).toBe("hello from the real engine\n");
  });

  it("a second up changes nothing, and refresh finds no drift", async () => {
    expect(await w.stack.up({ expectNoChanges: true })).toEqual({ same: created });
    const refreshed = await w.stack.refresh();
    expect(Object.keys(refreshed)).toEqual(["same"]);
    expect(await w.stack.up({ expectNoChanges: true })).toEqual({ same: created });
  });

  it("destroy removes the containers and keeps the agents' code and history", async () => {
    const commits = (await git(codeDir("one"), ["log", "--format=%H"])).trim().split("\n");
    const changes = await w.stack.destroy();
    expect(changes).toEqual({ delete: created });
    expect(Object.values(await containerIds(w.engine, Object.values(containers))).filter(Boolean)).toEqual([]);
    expect((await git(codeDir("one"), ["log", "--format=%H"])).trim().split("\n")).toEqual(commits);
    expect(readFileSync(path.join(codeDir("one"), "greeting.txt"), "utf8")).toBe("hello from the real engine\n");
  });
});

describe("bad config through the real CLI", () => {
  let w: HostsWorld;
  afterAll(async () => {
    await w?.cleanup();
  });

  it("up fails before creating anything and names the offending key path", async () => {
    w = hostsWorld("badcfg");
    await w.stack.init({ target: "local", fleetName: w.fleet, agents: [{ name: "agent-1" }, { name: "Agent_2" }] });
    const r = await w.stack.upFailing();
    const said = r.stdout + r.stderr;
    expect(said).toContain("agent-fleet:agents[1].name");
    expect(said).toMatch(/lowercase DNS label/);
    expect((await w.stack.resources()).map((x) => x.type).filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    expect(existsSync(path.join(w.projectDir, ".agent-fleet", w.fleet))).toBe(false);
  });
});
