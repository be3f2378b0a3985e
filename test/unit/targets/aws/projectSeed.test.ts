import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { seedContainerProgram } from "../../../../targets/aws/containerDefinitions.js";
import { PROJECT_SEED_STAGING, projectSeedScript } from "../../../../targets/aws/projectSeed.js";

/** The init container's project seeding, run for real by /bin/sh and git against temporary directories. */
let dir: string;
let projectsDir: string;
let seedRoot: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "project-seed-"));
  projectsDir = join(dir, "projects");
  seedRoot = join(dir, "seed");
  // The access point's root exists (EFS creates it, root-owned 0755) and is empty.
  mkdirSync(join(projectsDir, "web"), { recursive: true });
  mkdirSync(join(seedRoot, "web", "src"), { recursive: true });
  writeFileSync(join(seedRoot, "web", "README.md"), "# web\n");
  writeFileSync(join(seedRoot, "web", "src", "app.txt"), "one\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const script = (o: { remote?: string; branch?: string; seed?: string } = {}) =>
  projectSeedScript(
    [{ project: "web", branch: o.branch ?? "main", ...(o.remote !== undefined ? { remote: o.remote } : {}) }],
    { projectsDir, seedRoot: o.seed ?? seedRoot },
  );
const run = (o: Parameters<typeof script>[0] = {}) => {
  const r = spawnSync("/bin/sh", ["-c", script(o)], { encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
};
const repo = () => join(projectsDir, "web");
const git = (...args: string[]) => {
  const r = spawnSync("git", ["-c", "safe.directory=*", `--git-dir=${repo()}`, ...args], { encoding: "utf8" });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
};
const stagingDirs = () => readdirSync(repo()).filter((n) => n.startsWith(PROJECT_SEED_STAGING));

describe("project seeding into an empty access point", () => {
  test("empty directory: a bare repository whose HEAD names the branch, the folder as its one commit", () => {
    const r = run({ branch: "trunk" });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/seed-project: seeded .*web \(branch trunk\)/);
    expect(git("symbolic-ref", "HEAD").out).toBe("refs/heads/trunk");
    expect(git("rev-parse", "--is-bare-repository").out).toBe("true");
    expect(git("ls-tree", "-r", "--name-only", "HEAD").out.split("\n")).toEqual(["README.md", "src/app.txt"]);
    expect(git("log", "--format=%s%n%b", "HEAD").out).toMatch(
      /Initial import of project web[\s\S]*Approved-By: operator/,
    );
    expect(git("rev-list", "--count", "HEAD").out).toBe("1");
    expect(git("fsck", "--full").status).toBe(0);
    expect(stagingDirs()).toEqual([]);
    // Root's, readable by the agent user (it clones), writable by the owner only.
    expect(statSync(join(repo(), "objects")).mode & 0o777).toBe(0o755);
    expect(statSync(join(repo(), "HEAD")).mode & 0o022).toBe(0);
    expect(git("config", "--get", "agent-fleet.remote").status).not.toBe(0);
  });

  test("an existing repository is kept: the runtimes' commits survive every restart", () => {
    expect(run().status).toBe(0);
    const first = git("rev-parse", "HEAD").out;
    const blob = spawnSync("git", [`--git-dir=${repo()}`, "hash-object", "-w", "--stdin"], { input: "two\n" });
    expect(blob.status).toBe(0);
    const commit = spawnSync(
      "git",
      [
        "-c",
        "user.name=a1",
        "-c",
        "user.email=a1@x",
        `--git-dir=${repo()}`,
        "commit-tree",
        `${first}^{tree}`,
        "-p",
        first,
        "-m",
        "applied",
      ],
      { encoding: "utf8" },
    ).stdout.trim();
    expect(git("update-ref", "refs/heads/main", commit, first).status).toBe(0);
    writeFileSync(join(seedRoot, "web", "README.md"), "# changed folder\n");
    const r = run();
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(/seeded/);
    expect(git("rev-parse", "HEAD").out).toBe(commit);
  });

  test("the remote is written on every start, and removed when the setting is", () => {
    expect(run({ remote: "https://git.example.com/web.git" }).status).toBe(0);
    expect(git("config", "--get", "agent-fleet.remote").out).toBe("https://git.example.com/web.git");
    expect(run({ remote: "ssh://git@example.com/web.git" }).status).toBe(0);
    expect(git("config", "--get", "agent-fleet.remote").out).toBe("ssh://git@example.com/web.git");
    expect(run().status).toBe(0);
    expect(git("config", "--get", "agent-fleet.remote").status).not.toBe(0);
  });

  test("several seeders at once, from different folders: one repository, one first commit, every ref's objects present", async () => {
    // A second agent's image built from a changed folder: whichever seeder wins, the result is consistent.
    mkdirSync(join(dir, "seed2", "web"), { recursive: true });
    writeFileSync(join(dir, "seed2", "web", "README.md"), "# other\n");
    const start = (seed: string) =>
      new Promise<number | null>((resolve) => {
        const p = spawn("/bin/sh", ["-c", script({ seed })], { stdio: "ignore" });
        p.on("exit", (code) => resolve(code));
      });
    const codes = await Promise.all([seedRoot, join(dir, "seed2"), seedRoot, join(dir, "seed2")].map(start));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(git("rev-list", "--count", "HEAD").out).toBe("1");
    expect(git("fsck", "--full").status).toBe(0);
    expect(["# web", "# other"]).toContain(git("show", "HEAD:README.md").out);
    expect(stagingDirs()).toEqual([]);
  });

  test("killed before HEAD was published: the next start finishes, and an old staging dir goes", () => {
    // A seeder that died after publishing objects and the ref, and one that died mid-build.
    expect(run().status).toBe(0);
    rmSync(join(repo(), "HEAD"));
    const dead = join(repo(), `${PROJECT_SEED_STAGING}-dead`);
    mkdirSync(join(dead, "projects"), { recursive: true });
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(dead, old, old);
    const fresh = join(repo(), `${PROJECT_SEED_STAGING}-alive`);
    mkdirSync(fresh);
    const r = run();
    expect(r.status, r.out).toBe(0);
    expect(git("rev-list", "--count", "HEAD").out).toBe("1");
    expect(git("fsck", "--full").status).toBe(0);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(fresh)).toBe(true); // another seeder may still be at work in it
  });

  test("not a repository and no seed in the image: fails, so the runtime never starts without its project", () => {
    const r = run({ seed: join(dir, "nothing") });
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/is not a repository and the image has no seed at .*nothing\/web/);
    expect(readdirSync(repo())).toEqual([]);
  });

  test("a HEAD that names no commit fails the start instead of running agents on a broken project", () => {
    writeFileSync(join(repo(), "HEAD"), "ref: refs/heads/main\n");
    const r = run();
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/is not a repository whose HEAD names a commit/);
  });
});

describe("the seed container's whole program (code, then each project)", () => {
  const program = (projects: Array<{ name: string; branch: string }>) => {
    for (const d of ["tmp", "scratch", "app", join("code-seed", "writer")])
      mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, "code-seed", "writer", "agent.json"), "{}\n");
    return seedContainerProgram({
      agent: "writer",
      projects,
      tmpDir: join(dir, "tmp"),
      scratchDir: join(dir, "scratch"),
      appDir: join(dir, "app"),
      seedRoot: join(dir, "code-seed"),
      projectsDir,
      projectSeedRoot: seedRoot,
    });
  };

  test("a restart with code already in /app still seeds (and checks) the projects", () => {
    const p = program([{ name: "web", branch: "main" }]);
    expect(spawnSync("/bin/sh", ["-c", p], { encoding: "utf8" }).status).toBe(0);
    expect(existsSync(join(dir, "app", "agent.json"))).toBe(true);
    rmSync(repo(), { recursive: true });
    mkdirSync(repo());
    // /app has code now: the code seed says so and exits its subshell, the project seed still runs.
    const r = spawnSync("/bin/sh", ["-c", p], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already has code[\s\S]*seed-project: seeded/);
    expect(git("rev-list", "--count", "HEAD").out).toBe("1");
  });

  test("a project that cannot be seeded fails the whole program (the runtime does not start)", () => {
    mkdirSync(join(projectsDir, "api"));
    const r = spawnSync(
      "/bin/sh",
      [
        "-c",
        program([
          { name: "api", branch: "main" },
          { name: "web", branch: "main" },
        ]),
      ],
      { encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/api is not a repository and the image has no seed/);
    expect(existsSync(join(repo(), "HEAD"))).toBe(false);
  });
});
