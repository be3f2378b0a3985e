import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerCreateProgram } from "../../../fleet/containerCommands.js";
import { dockerRunArgs } from "../../../fleet/spec.js";
import { changedResources, makeProject, runProgram, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/** Shared projects under mocks: seeded once per project, mounted only into the agents assigned to it. */

const dir = makeProject(["a1", "a2", "a3"]);
for (const p of ["web", "api"]) {
  fs.mkdirSync(path.join(dir, "projects", p), { recursive: true });
  fs.writeFileSync(path.join(dir, "projects", p, "README.md"), `# ${p}\n`);
}
const root = path.join(dir, ".agent-fleet", "test");

function local(agents: unknown[]): StackConfig {
  return {
    config: {
      target: "local",
      projects: [{ name: "web" }, { name: "api", branch: "trunk" }],
      agents,
    },
  };
}

describe("shared projects on a Docker host", () => {
  it("seeds each project once and mounts it only into the agents assigned to it, with AGENT_PROJECTS", async () => {
    const run = await runProgram(
      dir,
      local([{ name: "a1", projects: ["web"] }, { name: "a2", projects: ["web", "api"] }, { name: "a3" }]),
    );
    const web = run.byName("fleet-project-web").inputs.create as string;
    expect(web).toContain("export AF_PROJECT=web");
    expect(web).toContain("export AF_BRANCH=main");
    expect(web).toContain(`export AF_SOURCE=${path.join(dir, "projects", "web")}`);
    expect(run.byName("fleet-project-api").inputs.create).toContain("export AF_BRANCH=trunk");

    const specs = Object.fromEntries(
      ["a1", "a2", "a3"].map((a) => [a, run.byName(`fleet-${a}-container`).inputs.triggers[0]]),
    );
    const projectMounts = (a: string) =>
      (specs[a].mounts as Array<{ source: string; target: string; readOnly: boolean }>).filter((m) =>
        m.target.startsWith("/projects"),
      );
    expect(projectMounts("a1")).toEqual([{ source: `${root}/projects/web`, target: "/projects/web", readOnly: false }]);
    expect(projectMounts("a2")).toEqual([
      { source: `${root}/projects/api`, target: "/projects/api", readOnly: false },
      { source: `${root}/projects/web`, target: "/projects/web", readOnly: false },
    ]);
    expect(projectMounts("a3")).toEqual([]);
    expect(specs.a1.env.AGENT_PROJECTS).toBe("web");
    expect(specs.a2.env.AGENT_PROJECTS).toBe("api,web");
    expect(specs.a2.env.AGENT_PROJECTS_DIR).toBe("/projects");
    expect(specs.a3.env.AGENT_PROJECTS).toBeUndefined();
    // The docker create command is the spec's: the mounts above and no other project.
    for (const a of ["a1", "a2", "a3"])
      expect(run.byName(`fleet-${a}-container`).inputs.create).toBe(containerCreateProgram(specs[a]));
    expect(dockerRunArgs(specs.a1)).toContain(`type=bind,source=${root}/projects/web,target=/projects/web`);
    expect(dockerRunArgs(specs.a3).join(" ")).not.toContain("/projects");
    // A container starts only after the projects it mounts are seeded.
    const seeded = (n: string) => run.byName(n).urn!;
    expect(run.byName("fleet-a2-container").dependencies).toEqual(
      expect.arrayContaining([seeded("fleet-project-web"), seeded("fleet-project-api")]),
    );
    expect(run.byName("fleet-a3-container").dependencies).not.toContain(seeded("fleet-project-web"));
  });

  it("assigning a project to one more agent changes only that agent's container", async () => {
    const before = await runProgram(dir, local([{ name: "a1", projects: ["web"] }, { name: "a2" }, { name: "a3" }]));
    const after = await runProgram(
      dir,
      local([{ name: "a1", projects: ["web"] }, { name: "a2", projects: ["web"] }, { name: "a3" }]),
    );
    expect(changedResources(before, after)).toEqual(["fleet-a2-container"]);
  });
});
