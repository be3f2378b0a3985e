import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerCreateProgram, containerRemoveProgram } from "../../../fleet/containerCommands.js";
import { containerSpec } from "../../../fleet/spec.js";
import { changedResources, lastRegistrations, makeProject, runProgram, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * The Pulumi program under mocks: which resources it registers with which inputs, and the
 * semantics the stack config promises (autonomy switch, per-agent changes, pause, destroy).
 */

const dir = makeProject(["a1", "a2", "a3"]);

function local(over: Record<string, unknown> = {}): StackConfig {
  return {
    config: {
      target: "local",
      agents: [
        { name: "a1", capabilities: ["edit"] },
        { name: "a2", approvalRequired: true },
        { name: "a3", env: { MODE: "fast" } },
      ],
      ...over,
    },
  };
}

describe("local target", () => {
  it("registers the host, the image, the folders and one container and run-state per agent", async () => {
    const run = await runProgram(dir, local());
    expect(run.ofType("agent-fleet:hosts:LocalHost").map((r) => r.name)).toEqual(["host"]);
    expect(run.ofType("agent-fleet:fleet:DockerHostFleet").map((r) => r.name)).toEqual(["fleet"]);
    expect(
      run
        .ofType("command:local:Command")
        .map((r) => r.name)
        .sort(),
    ).toEqual(
      [
        "host-docker",
        "fleet-image",
        "fleet-dirs",
        "fleet-agentctl",
        "fleet-prune-images",
        ...["a1", "a2", "a3"].flatMap((a) => [`fleet-${a}-code`, `fleet-${a}-container`, `fleet-${a}-run`]),
      ].sort(),
    );
    expect(run.ofType("command:remote:Command")).toEqual([]);
  });

  it("puts each agent's full container spec into its container's triggers", async () => {
    const run = await runProgram(dir, local());
    const image = run.outputs.image as string;
    expect(image).toMatch(/^agent-fleet-test\/agent:[0-9a-f]{16}$/);
    const expected = containerSpec({
      name: "a1",
      fleet: "agent-fleet-test",
      image,
      hostRoot: path.join(dir, ".agent-fleet", "test"),
      approvalRequired: true,
      capabilities: ["edit"],
      env: {},
      hasSecrets: false,
      resources: { cpus: 1, memoryMb: 1024, pids: 256 },
      network: { mode: "none" },
    });
    const c = run.byName("fleet-a1-container").inputs;
    expect(c.triggers).toEqual([expected]);
    expect(c.create).toBe(containerCreateProgram(expected));
    expect(c.create).toContain("docker create --name agent-fleet-test-a1");
    expect(c.delete).toBe(containerRemoveProgram("agent-fleet-test-a1"));
    // No published port, no Docker socket: in no container, and nowhere else either.
    for (const r of run.resources.filter((x) => x.name.endsWith("-container"))) {
      expect(r.inputs.create, r.name).not.toMatch(/--publish|\s-p\s|--network[ =]host/);
    }
    for (const r of run.resources) expect(JSON.stringify(r.inputs), r.name).not.toMatch(/docker\.sock/);
  });

  it("flipping the stack's approvalRequired changes exactly the agents without an override", async () => {
    const before = await runProgram(dir, local({ approvalRequired: true }));
    const after = await runProgram(dir, local({ approvalRequired: false }));
    expect(changedResources(before, after)).toEqual(["fleet-a1-container", "fleet-a3-container"]);
    const env = (name: string) => after.byName(`fleet-${name}-container`).inputs.triggers[0].env.APPROVAL_REQUIRED;
    expect([env("a1"), env("a2"), env("a3")]).toEqual(["false", "true", "false"]);
    expect((after.outputs.agents as Array<{ approvalMode: string }>).map((a) => a.approvalMode)).toEqual([
      "autonomous",
      "approval required",
      "autonomous",
    ]);
  });

  it("allowBinary on one agent sets AGENT_ALLOW_BINARY=true in its container only (the others keep the runtime's default, false)", async () => {
    const before = await runProgram(dir, local());
    const cfg = local();
    (cfg.config.agents as Array<Record<string, unknown>>)[0] = {
      name: "a1",
      capabilities: ["edit"],
      allowBinary: true,
    };
    const after = await runProgram(dir, cfg);
    expect(changedResources(before, after)).toEqual(["fleet-a1-container"]);
    const env = (name: string) => after.byName(`fleet-${name}-container`).inputs.triggers[0].env;
    expect(env("a1").AGENT_ALLOW_BINARY).toBe("true");
    expect(Object.keys(env("a2"))).not.toContain("AGENT_ALLOW_BINARY");
    expect(Object.keys(env("a3"))).not.toContain("AGENT_ALLOW_BINARY");
    // An explicit false is the default: nothing changes.
    (cfg.config.agents as Array<Record<string, unknown>>)[0] = {
      name: "a1",
      capabilities: ["edit"],
      allowBinary: false,
    };
    expect(changedResources(before, await runProgram(dir, cfg))).toEqual([]);
  });

  it("changing one agent's env changes only that agent's container", async () => {
    const before = await runProgram(dir, local());
    const cfg = local();
    (cfg.config.agents as Array<Record<string, unknown>>)[2] = { name: "a3", env: { MODE: "slow" } };
    const after = await runProgram(dir, cfg);
    expect(changedResources(before, after)).toEqual(["fleet-a3-container"]);
  });

  it("paused: true stops the containers and touches neither code, queue nor history", async () => {
    const running = await runProgram(dir, local());
    const paused = await runProgram(dir, local({ paused: true }));
    expect(changedResources(running, paused)).toEqual(["fleet-a1-run", "fleet-a2-run", "fleet-a3-run"]);
    for (const a of ["a1", "a2", "a3"]) {
      const step = paused.byName(`fleet-${a}-run`).inputs;
      expect(step.create).toMatch(new RegExp(`^docker stop --time 60 agent-fleet-test-${a} `));
      expect(step.delete).toBeUndefined();
      expect(running.byName(`fleet-${a}-run`).inputs.create).toMatch(/^docker start /);
    }
    expect(paused.outputs.paused).toBe(true);
  });

  it("agents[i].paused: true stops only that agent's container; nothing else changes", async () => {
    const running = await runProgram(dir, local());
    const cfg = local();
    (cfg.config.agents as Array<Record<string, unknown>>)[1] = { name: "a2", approvalRequired: true, paused: true };
    const one = await runProgram(dir, cfg);
    expect(changedResources(running, one)).toEqual(["fleet-a2-run"]);
    expect(one.byName("fleet-a2-run").inputs.create).toMatch(/^docker stop --time 60 agent-fleet-test-a2 /);
    expect(one.byName("fleet-a1-run").inputs.create).toMatch(/^docker start /);
    expect((one.outputs.agents as Array<{ state: string }>).map((a) => a.state)).toEqual([
      "running",
      "paused",
      "running",
    ]);
    expect(one.outputs.paused).toBe(false);
    // The stack's pause still stops everyone, whatever each agent says.
    const all = await runProgram(dir, { config: { ...cfg.config, paused: true } });
    for (const a of ["a1", "a2", "a3"]) expect(all.byName(`fleet-${a}-run`).inputs.create).toMatch(/^docker stop /);
  });

  it("budget: the fleet's limits with each agent's own overrides reach only the runtime's environment", async () => {
    const before = await runProgram(dir, local());
    const cfg = local({ budget: { usdPerDay: 20, usdPerTask: 2 } });
    (cfg.config.agents as Array<Record<string, unknown>>)[2] = {
      name: "a3",
      env: { MODE: "fast" },
      budget: { usdPerDay: 5 },
    };
    const after = await runProgram(dir, cfg);
    const env = (name: string) => after.byName(`fleet-${name}-container`).inputs.triggers[0].env;
    expect([env("a1").AGENT_BUDGET_USD_PER_DAY, env("a1").AGENT_BUDGET_USD_PER_TASK]).toEqual(["20", "2"]);
    expect([env("a3").AGENT_BUDGET_USD_PER_DAY, env("a3").AGENT_BUDGET_USD_PER_TASK]).toEqual(["5", "2"]);
    expect(changedResources(before, after).filter((r) => !r.endsWith("-run"))).toEqual([
      "fleet-a1-container",
      "fleet-a2-container",
      "fleet-a3-container",
    ]);
    const one = local();
    (one.config.agents as Array<Record<string, unknown>>)[0] = {
      name: "a1",
      capabilities: ["edit"],
      budget: { usdPerTask: 0.5 },
    };
    expect(changedResources(before, await runProgram(dir, one)).filter((r) => !r.endsWith("-run"))).toEqual([
      "fleet-a1-container",
    ]);
  });

  it("review.approvals: the fleet's count, an agent's own override, and 1 (the default) sets nothing", async () => {
    const cfg = local({ review: { approvals: 2 } });
    (cfg.config.agents as Array<Record<string, unknown>>)[1] = {
      name: "a2",
      approvalRequired: true,
      review: { approvals: 1 },
    };
    const run = await runProgram(dir, cfg);
    const env = (name: string) => run.byName(`fleet-${name}-container`).inputs.triggers[0].env;
    expect([
      env("a1").AGENT_REVIEW_APPROVALS,
      env("a2").AGENT_REVIEW_APPROVALS,
      env("a3").AGENT_REVIEW_APPROVALS,
    ]).toEqual(["2", undefined, "2"]);
  });

  it("review.reviewers: the fleet's list without the agent itself, an agent's own list and quorum, none without", async () => {
    const cfg = local({ review: { reviewers: ["a1", "a2"], quorum: 1 } });
    (cfg.config.agents as Array<Record<string, unknown>>)[1] = {
      name: "a2",
      approvalRequired: true,
      review: { reviewers: ["a1", "a3"] },
    };
    const run = await runProgram(dir, cfg);
    const env = (name: string) => run.byName(`fleet-${name}-container`).inputs.triggers[0].env;
    expect(["a1", "a2", "a3"].map((a) => [env(a).AGENT_REVIEWERS, env(a).AGENT_REVIEW_QUORUM])).toEqual([
      ["a2", "1"],
      ["a1,a3", "2"],
      ["a1,a2", "1"],
    ]);
    const none = await runProgram(dir, local());
    expect(none.byName("fleet-a1-container").inputs.triggers[0].env).not.toHaveProperty("AGENT_REVIEWERS");
  });

  it("destroy removes containers and keeps code and shared data unless purgeOnDestroy is set", async () => {
    const keep = await runProgram(dir, local());
    const deletes = keep.resources
      .filter((r) => r.inputs.delete !== undefined)
      .map((r) => r.name)
      .sort();
    expect(deletes).toEqual(["fleet-a1-container", "fleet-a2-container", "fleet-a3-container"]);
    for (const r of keep.resources) expect(String(r.inputs.delete ?? ""), r.name).not.toMatch(/rm -rf|rm -r /);
    expect((keep.outputs.details as { onDestroy: string }).onDestroy).toMatch(/keeps agent code/);

    const purge = await runProgram(dir, local({ purgeOnDestroy: true }));
    const dirsDelete = purge.byName("fleet-dirs").inputs.delete as string;
    expect(dirsDelete).toContain(`export AF_ROOT=${path.join(dir, ".agent-fleet", "test")}`);
    expect(dirsDelete).toContain('rm -rf "${AF_ROOT:?}/agents" "${AF_ROOT:?}/shared" "${AF_ROOT:?}/decisions"');
    expect(changedResources(keep, purge)).toEqual(["fleet-dirs"]);
  });

  it("seeds code once: a changed code folder changes nothing, a new codeRevision re-runs only that agent's code step", async () => {
    const before = await runProgram(dir, local());
    fs.writeFileSync(path.join(dir, "agents", "a2", "agent.js"), "console.log('edited');\n");
    const edited = await runProgram(dir, local());
    expect(changedResources(before, edited)).toEqual([]);
    const cfg = local();
    (cfg.config.agents as Array<Record<string, unknown>>)[1] = {
      name: "a2",
      approvalRequired: true,
      codeRevision: "2",
    };
    const pushed = await runProgram(dir, cfg);
    expect(changedResources(before, pushed)).toEqual(["fleet-a2-code"]);
    expect(pushed.byName("fleet-a2-code").inputs.create).toContain("export AF_REVISION=2");
  });

  it("a change of the runtime code gives a new image tag and new containers for every agent", async () => {
    const project = makeProject(["a1", "a2"]);
    const cfg: StackConfig = { config: { target: "local", agents: [{ name: "a1" }, { name: "a2" }] } };
    const before = await runProgram(project, cfg);
    fs.writeFileSync(path.join(project, "runtime", "main.ts"), "export const version = 2;\n");
    const after = await runProgram(project, cfg);
    expect(after.outputs.image).not.toBe(before.outputs.image);
    const changed = changedResources(before, after);
    expect(changed).toEqual(expect.arrayContaining(["fleet-image", "fleet-a1-container", "fleet-a2-container"]));
    expect(changed.filter((n) => n.endsWith("-run"))).toEqual([]);
    // Files outside the build context (.dockerignore allow-list) do not count.
    fs.writeFileSync(path.join(project, "README.md"), "docs\n");
    const docs = await runProgram(project, cfg);
    expect(docs.outputs.image).toBe(after.outputs.image);
  });

  it("builds with the configured base image, or pulls a registry image instead", async () => {
    const base = await runProgram(dir, local({ image: { baseImage: "test/base:1", buildArgs: { WITH_CLI: "1" } } }));
    const build = base.byName("fleet-image").inputs.create as string;
    expect(build).toContain("set -- BASE_IMAGE=test/base:1 WITH_CLI=1");
    expect(build).toContain("export AF_DOCKERFILE=agent-image/Dockerfile");
    const other = await runProgram(dir, local({ image: { baseImage: "test/base:2" } }));
    expect(other.outputs.image).not.toBe(base.outputs.image);

    const pulled = await runProgram(dir, local({ image: { ref: "registry.example.com/agents/runtime:1.4" } }));
    expect(pulled.outputs.image).toBe("registry.example.com/agents/runtime:1.4");
    expect(pulled.byName("fleet-image").inputs.create).toContain("docker pull --quiet");
    expect(pulled.byName("fleet-a1-container").inputs.triggers[0].image).toBe(
      "registry.example.com/agents/runtime:1.4",
    );
  });

  it("exports target, host address, each agent's name, approval mode and container, and agentctl commands", async () => {
    const run = await runProgram(dir, local());
    const root = path.join(dir, ".agent-fleet", "test");
    expect(run.outputs.target).toBe("local");
    expect(run.outputs.hostAddress).toBe("localhost");
    // No SSH on the local machine: the output is left out, not exported as undefined (Pulumi
    // would warn "Undefined value (sshCommand) will not show as a stack output" on every run).
    expect(Object.keys(run.outputs)).not.toContain("sshCommand");
    for (const [k, v] of Object.entries(run.outputs)) expect(v, k).not.toBeUndefined();
    expect(run.outputs.agents).toEqual([
      {
        name: "a1",
        approvalRequired: true,
        approvalMode: "approval required",
        container: "agent-fleet-test-a1",
        state: "running",
        codeDir: `${root}/agents/a1`,
      },
      {
        name: "a2",
        approvalRequired: true,
        approvalMode: "approval required",
        container: "agent-fleet-test-a2",
        state: "running",
        codeDir: `${root}/agents/a2`,
      },
      {
        name: "a3",
        approvalRequired: true,
        approvalMode: "approval required",
        container: "agent-fleet-test-a3",
        state: "running",
        codeDir: `${root}/agents/a3`,
      },
    ]);
    const ctl = run.outputs.agentctl as Record<string, string>;
    expect(ctl.proposals).toBe(`${root}/bin/agentctl proposals --state pending`);
    expect(ctl.approve).toBe(`${root}/bin/agentctl approve <proposal-id>`);
    expect(run.byName("fleet-agentctl").inputs.create).toContain(`export AF_PATH=${root}/bin/agentctl`);
    expect(run.byName("fleet-agentctl").inputs.stdin).toContain(`exec docker run -i $tty`);
  });
});

describe("invalid config", () => {
  it("throws one error listing every problem and registers no resource at all", async () => {
    let error: unknown;
    try {
      await runProgram(dir, {
        config: { target: "vps", agents: [{ name: "a1" }, { name: "Bad" }], ssh: { allowedCidrs: ["10.0.0.1/8"] } },
      });
    } catch (e) {
      error = e;
    }
    expect(await lastRegistrations()).toEqual([]);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("agent-fleet:agents[1].name: must be a lowercase DNS label");
    expect(message).toContain('agent-fleet:ssh.allowedCidrs[0]: "10.0.0.1/8" has host bits set');
    expect(message).toContain("agent-fleet:ssh.privateKey: is required for target vps");
    expect(message).toContain("agent-fleet:vps.host: is required for target vps");
  });
});
