import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../config/fleetConfig.js";
import { parseStackConfig } from "../../../targets/index.js";
import { makeConfigProject, validLocal } from "./fixtures.js";
import { removeTempDirs } from "../program/tmp.js";

afterAll(removeTempDirs);

const projectDir = makeConfigProject();
fs.mkdirSync(path.join(projectDir, "projects", "web"), { recursive: true });
fs.mkdirSync(path.join(projectDir, "elsewhere", "api"), { recursive: true });
const ctx = { stack: "dev", projectDir };

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseStackConfig(raw, ctx);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
  return [];
}

describe("shared projects in the config", () => {
  it("resolves projects with their defaults and the agents' lists", () => {
    const c = parseStackConfig(
      {
        ...validLocal(),
        projects: [
          { name: "web" },
          { name: "api", source: "elsewhere/api", branch: "team/api", remote: "file:///srv/git/api.git" },
        ],
        agents: [{ name: "a1", projects: ["web", "api"] }, { name: "a2" }],
      },
      ctx,
    );
    expect(c.projects).toEqual([
      { name: "web", sourceDir: path.join(projectDir, "projects", "web"), branch: "main" },
      {
        name: "api",
        sourceDir: path.join(projectDir, "elsewhere", "api"),
        branch: "team/api",
        remote: "file:///srv/git/api.git",
      },
    ]);
    expect(c.agents.map((a) => a.projects)).toEqual([["web", "api"], []]);
  });

  it("names every problem by its key path", () => {
    expect(
      problems({
        ...validLocal(),
        projects: [
          { name: "web" },
          { name: "web" },
          { name: "Bad_Name" },
          { name: "gone" },
          { name: "api", source: "nowhere" },
          { name: "br", source: "projects/web", branch: "-x" },
          { name: "rem", source: "projects/web", remote: "ext::sh -c touch% /tmp/pwned" },
          { name: "opt", source: "projects/web", remote: "--upload-pack=evil" },
          { name: "typo", source: "projects/web", remtoe: "x" },
        ],
        agents: [
          { name: "a1", projects: ["web", "nope", "web"] },
          { name: "a2", projects: ["UPPER"] },
        ],
      }),
    ).toEqual([
      "agent-fleet:agents[0].projects: lists a project twice",
      'agent-fleet:agents[0].projects[1]: unknown project "nope"; defined: web, Bad_Name, gone, api, br, rem, opt, typo',
      "agent-fleet:agents[1].projects[0]: a project name is lowercase letters, digits and dashes, at most 63 characters, not starting or ending with a dash",
      'agent-fleet:projects[1].name: "web" is already used by projects[0]; project names must be unique',
      "agent-fleet:projects[2].name: must be lowercase letters, digits and dashes, at most 63 characters, not starting or ending with a dash",
      `agent-fleet:projects[3].name: source folder "projects/gone" does not exist (looked for ${path.join(projectDir, "projects", "gone")})`,
      `agent-fleet:projects[4].source: source folder "nowhere" does not exist (looked for ${path.join(projectDir, "nowhere")})`,
      'agent-fleet:projects[5].branch: must be a git branch name such as "main" or "team/web" (letters, digits, ".", "_", "-", "/")',
      "agent-fleet:projects[6].remote: must be a git URL (https://, ssh://, git://, file://) or user@host:path",
      "agent-fleet:projects[7].remote: must be a git URL (https://, ssh://, git://, file://) or user@host:path",
      'agent-fleet:projects[8].remtoe: unknown setting; did you mean "remote"?',
    ]);
  });

  it("reports an agent naming a project when none are defined", () => {
    expect(problems({ ...validLocal(), agents: [{ name: "a1", projects: ["web"] }] })).toEqual([
      'agent-fleet:agents[0].projects[0]: unknown project "web"; no projects are defined (add it to projects)',
    ]);
  });

  it("accepts projects on target aws (an EFS access point each), with the same checks", () => {
    const c = parseStackConfig(
      {
        target: "aws",
        aws: { region: "eu-central-1" },
        projects: [{ name: "web" }],
        agents: [{ name: "a1", projects: ["web"] }, { name: "a2" }],
      },
      ctx,
    );
    expect(c.projects).toEqual([{ name: "web", sourceDir: path.join(projectDir, "projects", "web"), branch: "main" }]);
    expect(c.agents.map((a) => a.projects)).toEqual([["web"], []]);
    expect(
      problems({
        target: "aws",
        aws: { region: "eu-central-1" },
        projects: [{ name: "web" }],
        agents: [{ name: "a1", projects: ["web", "api"] }],
      }),
    ).toEqual(['agent-fleet:agents[0].projects[1]: unknown project "api"; defined: web']);
  });
});
