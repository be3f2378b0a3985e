import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { SEED_STAGING, seedDockerfile, seedScript, writeSeedContext } from "../../../../targets/aws/codeSeed.js";

/** The init container's script, run for real by /bin/sh against temporary directories. */
let dir: string;
let app: string;
let seedRoot: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "seed-"));
  app = join(dir, "app");
  seedRoot = join(dir, "seed");
  mkdirSync(app);
  mkdirSync(join(seedRoot, "writer", "lib"), { recursive: true });
  writeFileSync(join(seedRoot, "writer", "agent.json"), '{"command":["node","main.js"]}\n');
  writeFileSync(join(seedRoot, "writer", ".gitignore"), "node_modules\n");
  writeFileSync(join(seedRoot, "writer", "lib", "main.js"), "console.log('hi')\n");
  chmodSync(join(seedRoot, "writer", "lib", "main.js"), 0o600);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (agent = "writer") => {
  const r = spawnSync("/bin/sh", ["-c", seedScript({ agent, appDir: app, seedRoot })], { encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
};
const tree = (root: string): string[] =>
  readdirSync(root, { recursive: true, withFileTypes: false }).map(String).sort();

describe("code seeding into an empty access point", () => {
  test("empty /app: the seed is copied in, dotfiles included, readable by everyone, writable by the owner only", () => {
    const r = run();
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/seeded/);
    expect(tree(app)).toEqual([".gitignore", "agent.json", "lib", "lib/main.js"]);
    expect(readFileSync(join(app, "lib", "main.js"), "utf8")).toBe("console.log('hi')\n");
    expect(statSync(join(app, "lib", "main.js")).mode & 0o777).toBe(0o644);
    expect(statSync(join(app, "lib")).mode & 0o777).toBe(0o755);
    expect(existsSync(join(app, SEED_STAGING))).toBe(false);
  });

  test("/app with code: left exactly as it is (the runtime's commits survive redeploys)", () => {
    writeFileSync(join(app, "agent.json"), "changed by the runtime\n");
    const r = run();
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/already has code/);
    expect(tree(app)).toEqual(["agent.json"]);
    expect(readFileSync(join(app, "agent.json"), "utf8")).toBe("changed by the runtime\n");
  });

  test("a second start after seeding changes nothing", () => {
    expect(run().status).toBe(0);
    writeFileSync(join(app, "agent.json"), "v2\n");
    expect(run().status).toBe(0);
    expect(readFileSync(join(app, "agent.json"), "utf8")).toBe("v2\n");
  });

  test("killed mid-copy (staging without the .copied marker): starts over", () => {
    mkdirSync(join(app, SEED_STAGING));
    writeFileSync(join(app, SEED_STAGING, "agent.json"), "half");
    const r = run();
    expect(r.status).toBe(0);
    expect(tree(app)).toEqual([".gitignore", "agent.json", "lib", "lib/main.js"]);
    expect(readFileSync(join(app, "agent.json"), "utf8")).toMatch(/command/);
  });

  test("killed mid-rename (marker present, some entries moved): finishes the renames", () => {
    mkdirSync(join(app, SEED_STAGING, "lib"), { recursive: true });
    writeFileSync(join(app, SEED_STAGING, "lib", "main.js"), "x");
    writeFileSync(join(app, SEED_STAGING, ".copied"), "");
    writeFileSync(join(app, "agent.json"), "{}"); // already moved before the crash
    const r = run();
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/finishing an interrupted seed/);
    expect(tree(app)).toEqual(["agent.json", "lib", "lib/main.js"]);
  });

  test("empty /app and no seed for this agent: fails, so the runtime never starts without code", () => {
    const r = run("reviewer");
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/is empty and the image has no seed at .*\/seed\/reviewer/);
    expect(tree(app)).toEqual([]);
  });

  test("paths with spaces and quotes are quoted, not interpreted", () => {
    const odd = join(dir, "it's an app");
    mkdirSync(odd);
    const r = spawnSync("/bin/sh", ["-c", seedScript({ agent: "writer", appDir: odd, seedRoot })], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(tree(odd)).toContain("agent.json");
  });
});

describe("build context of an agent's image", () => {
  test("Dockerfile on top of the agent image, and a copy of the code folder without .git", () => {
    const code = join(seedRoot, "writer");
    mkdirSync(join(code, ".git", "objects"), { recursive: true });
    writeFileSync(join(code, ".git", "HEAD"), "ref: refs/heads/main\n");
    const ctx = join(dir, "ctx");
    mkdirSync(join(ctx, "code"), { recursive: true });
    writeFileSync(join(ctx, "code", "stale.txt"), "from an earlier run");
    writeSeedContext({ dir: ctx, agent: "writer", codeDir: code });
    expect(readFileSync(join(ctx, "Dockerfile"), "utf8")).toBe(seedDockerfile("writer"));
    expect(
      seedDockerfile("writer")
        .split("\n")
        .filter((l) => l && !l.startsWith("#")),
    ).toEqual([
      "ARG AGENT_IMAGE",
      "FROM ${AGENT_IMAGE}",
      "USER root",
      "COPY code/ /opt/agent-fleet/seed/writer/",
      "RUN chown -R 0:0 /opt/agent-fleet/seed && chmod 0700 /opt/agent-fleet/seed",
    ]);
    expect(tree(join(ctx, "code"))).toEqual([".gitignore", "agent.json", "lib", "lib/main.js"]);
  });

  test("a missing code folder is an error naming the agent", () => {
    expect(() => writeSeedContext({ dir: join(dir, "ctx"), agent: "ghost", codeDir: join(dir, "nope") })).toThrow(
      `agent "ghost": code folder "${join(dir, "nope")}" does not exist`,
    );
  });
});
