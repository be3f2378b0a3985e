import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { changedResources, makeProject, runProgram } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * The aws target as wired by the program (FargateFleet itself is tested in test/unit/aws/):
 * the provider gets the configured region, each agent gets a service, and the autonomy switch
 * reaches only the agents without an override.
 */
const dir = makeProject(["a1", "a2"]);
fs.mkdirSync(path.join(dir, "projects", "web"), { recursive: true });
fs.writeFileSync(path.join(dir, "projects", "web", "README.md"), "# web\n");
const aws = (approvalRequired: boolean, over: Record<string, unknown> = {}) => ({
  config: {
    target: "aws",
    aws: { region: "eu-central-1" },
    image: { ref: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/agents:1" },
    approvalRequired,
    agents: [{ name: "a1" }, { name: "a2", approvalRequired: true }],
    ...over,
  },
});

describe("aws target", () => {
  it("runs FargateFleet in the configured region with one service per agent", async () => {
    const run = await runProgram(dir, aws(true));
    expect(run.byName("aws").type).toBe("pulumi:providers:aws");
    expect(run.byName("aws").inputs.region).toBe("eu-central-1");
    expect(run.ofType("agent-fleet:aws:FargateFleet").map((r) => r.name)).toEqual(["fleet"]);
    expect(run.ofType("aws:ecs/service:Service")).toHaveLength(2);
    expect(run.outputs.target).toBe("aws");
    expect(Object.keys(run.outputs)).not.toContain("hostAddress");
    expect(Object.keys(run.outputs)).not.toContain("sshCommand");
    for (const [k, v] of Object.entries(run.outputs)) expect(v, k).not.toBeUndefined();
    expect(
      (run.outputs.agents as Array<{ name: string; approvalMode: string }>).map((a) => [a.name, a.approvalMode]),
    ).toEqual([
      ["a1", "approval required"],
      ["a2", "approval required"],
    ]);
  });

  it("allowBinary on one agent sets AGENT_ALLOW_BINARY=true in its task definition only", async () => {
    const run = await runProgram(dir, aws(true, { agents: [{ name: "a1", allowBinary: true }, { name: "a2" }] }));
    const envOf = (agent: string): Record<string, string> => {
      const td = run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((r) => r.name.endsWith(agent))!;
      const defs = JSON.parse(td.inputs.containerDefinitions as string) as Array<{
        name: string;
        environment?: Array<{ name: string; value: string }>;
      }>;
      const runtime = defs.find((c) => c.name === "runtime")!;
      return Object.fromEntries((runtime.environment ?? []).map((e) => [e.name, e.value]));
    };
    expect(envOf("a1").AGENT_ALLOW_BINARY).toBe("true");
    expect(envOf("a2")).not.toHaveProperty("AGENT_ALLOW_BINARY");
    expect(envOf("a2").AGENT_NAME).toBe("a2");
  });

  it("review.reviewers reach the runtime's environment in the task definitions", async () => {
    const run = await runProgram(dir, aws(true, { review: { reviewers: ["a1", "a2"] } }));
    const envOf = (agent: string): Record<string, string> => {
      const td = run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((r) => r.name.endsWith(agent))!;
      const defs = JSON.parse(td.inputs.containerDefinitions as string) as Array<{
        name: string;
        environment?: Array<{ name: string; value: string }>;
      }>;
      const runtime = defs.find((c) => c.name === "runtime")!;
      return Object.fromEntries((runtime.environment ?? []).map((e) => [e.name, e.value]));
    };
    expect([envOf("a1").AGENT_REVIEWERS, envOf("a1").AGENT_REVIEW_QUORUM]).toEqual(["a2", "1"]);
    expect([envOf("a2").AGENT_REVIEWERS, envOf("a2").AGENT_REVIEW_QUORUM]).toEqual(["a1", "1"]);
  });

  it("flipping approvalRequired changes only the task definition of the agent without an override", async () => {
    const before = await runProgram(dir, aws(true));
    const after = await runProgram(dir, aws(false));
    const changed = changedResources(before, after);
    const taskDefs = after.ofType("aws:ecs/taskDefinition:TaskDefinition").map((r) => r.name);
    expect(changed.filter((n) => taskDefs.includes(n))).toHaveLength(1);
    expect(changed.filter((n) => taskDefs.includes(n))[0]).toMatch(/a1/);
  });

  it("projects: the stack's project reaches only its assigned agent's task (volume, mounts, role, AGENT_PROJECTS)", async () => {
    const run = await runProgram(
      dir,
      aws(true, {
        projects: [{ name: "web", branch: "trunk" }],
        agents: [{ name: "a1", projects: ["web"] }, { name: "a2" }],
      }),
    );
    const ap = run
      .ofType("aws:efs/accessPoint:AccessPoint")
      .find((r) => r.inputs.rootDirectory.path === "/projects/web");
    expect(ap).toBeDefined();
    const td = (agent: string) =>
      run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((r) => r.name === `fleet-${agent}`)!;
    const runtime = (agent: string) =>
      (
        JSON.parse(td(agent).inputs.containerDefinitions as string) as Array<{
          name: string;
          environment: Array<{ name: string; value: string }>;
          mountPoints: Array<{ containerPath: string }>;
        }>
      ).find((c) => c.name === "runtime")!;
    expect(runtime("a1").mountPoints.map((m) => m.containerPath)).toContain("/projects/web");
    expect(
      runtime("a2")
        .mountPoints.map((m) => m.containerPath)
        .filter((p) => p.startsWith("/projects")),
    ).toEqual([]);
    expect(runtime("a1").environment).toContainEqual({ name: "AGENT_PROJECTS", value: "web" });
    expect(runtime("a2").environment.map((e) => e.name)).not.toContain("AGENT_PROJECTS");
    const volumes = (agent: string) => (td(agent).inputs.volumes as Array<{ name: string }>).map((v) => v.name);
    expect(volumes("a1")).toContain("project-web");
    expect(volumes("a2")).not.toContain("project-web");
    const policy = (agent: string) =>
      run.ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === `fleet-${agent}-task`)!.inputs
        .policy as string;
    // The harness's mock ARN of the access point names its resource.
    const apArn = `arn:aws:mock:eu-central-1:123456789012:efs/accessPoint/${ap!.name}`;
    expect(policy("a1")).toContain(apArn);
    expect(policy("a2")).not.toContain(apArn);
    expect(JSON.parse(td("a1").inputs.containerDefinitions as string)[0].command[0]).toContain("AF_BRANCH=trunk");
  });
});
