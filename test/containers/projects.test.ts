import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readScript } from "../../hosts/shell.js";
import { TRAILER } from "../../runtime/repo/commitMessages.js";
import { dockerEnv, run } from "../harness/docker/index.js";
import { REPO_ROOT } from "../harness/docker/agentImage.js";
import { TestFleet } from "./fleet.js";

/**
 * Two agents in the real image on one shared project, autonomous, every task appending its id to
 * the SAME file of the project (so applies collide and go 3-way or re-run on the new HEAD), plus a
 * third agent that is not assigned to the project. The project is seeded by the host program
 * `pulumi up` runs (fleet/scripts/seed-project.sh, its helper in the agent image), and mounted from
 * the very container spec the Pulumi layer uses.
 */
const PROJECT = "demo";
const WORKERS = ["a1", "a2"] as const;
const TASKS_PER_WORKER = 4;

describe("two agents on one shared project (real image, autonomous)", () => {
  let fleet: TestFleet;
  let repo: string;

  const git = async (args: string[]): Promise<string> => {
    const r = await run("git", ["-c", "safe.directory=*", `--git-dir=${repo}`, ...args], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} in the project failed: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    fleet = TestFleet.create("projects");
    repo = fleet.layout.projectDir(PROJECT);
    const fixture = path.join(REPO_ROOT, "test", "containers", "fixtures", "append-agent");
    for (const a of [...WORKERS, "a3"]) fleet.addAgent(a, fixture, { approvalRequired: false });

    // The project's folder, seeded as `pulumi up` seeds it on a Docker host.
    const source = path.join(fleet.root, "project-source");
    mkdirSync(source, { recursive: true });
    writeFileSync(path.join(source, "README.md"), "# demo\n");
    writeFileSync(path.join(source, "log.txt"), "");
    const seeded = await run("/bin/sh", ["-c", readScript(path.join(REPO_ROOT, "fleet"), "seed-project.sh")], {
      env: dockerEnv(fleet.target, {
        PATH: `${path.dirname(fleet.target.cli)}:${process.env.PATH ?? ""}`,
        AF_ROOT: fleet.layout.root,
        AF_PROJECT: PROJECT,
        AF_BRANCH: "main",
        AF_IMAGE: fleet.image,
        AF_SOURCE: source,
        AF_HELPER: readScript(path.join(REPO_ROOT, "fleet"), "seed-project-helper.sh"),
      }),
      timeoutMs: 120_000,
    });
    if (seeded.code !== 0) throw new Error(`seed-project.sh failed: ${seeded.stderr}${seeded.stdout}`);

    for (const a of WORKERS) await fleet.start(a, { projects: [PROJECT] });
    await fleet.start("a3");
    await Promise.all([...WORKERS, "a3"].map((a) => fleet.waitHealthy(a)));
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it("only the assigned agents have /projects/<name>; the unassigned one has no such mount", async () => {
    for (const a of [...WORKERS, "a3"]) {
      const c = await fleet.inspect(a);
      const mounts = (c.Mounts as Array<{ Source: string; Destination: string; RW: boolean }>).filter((m) =>
        m.Destination.startsWith("/projects"),
      );
      const env = (c.Config.Env as string[]).filter((e) => e.startsWith("AGENT_PROJECTS"));
      if (a === "a3") {
        expect(mounts, a).toEqual([]);
        expect(env, a).toEqual([]);
        const ls = await run(fleet.target.cli, ["exec", fleet.containerName(a), "ls", "/projects"], {
          env: dockerEnv(fleet.target),
        });
        expect(ls.code, a).not.toBe(0);
      } else {
        expect(
          mounts.map((m) => [m.Source, m.Destination, m.RW]),
          a,
        ).toEqual([[repo, `/projects/${PROJECT}`, true]]);
        expect(env.sort(), a).toEqual([`AGENT_PROJECTS=${PROJECT}`, "AGENT_PROJECTS_DIR=/projects"]);
      }
    }
  });

  it("every task appends to the same file; each Task-Id is exactly once in the history and the file, with all trailers", async () => {
    const tasks: Array<{ id: string; agent: string }> = [];
    for (let n = 0; n < TASKS_PER_WORKER; n++) {
      for (const agent of WORKERS) {
        const file = `task-${randomBytes(4).toString("hex")}.md`;
        writeFileSync(path.join(fleet.opsDir, file), `Append your task id to log.txt (${agent}, #${n}).\n`);
        const id = (
          await fleet.agentctlOk([
            "task",
            "add",
            "--title",
            `append ${agent} ${n}`,
            "--instructions",
            `./${file}`,
            "--agent",
            agent,
            "--project",
            PROJECT,
          ])
        ).trim();
        expect(id).toMatch(/^t-/);
        tasks.push({ id, agent });
      }
    }
    for (const t of tasks) {
      const done = await fleet.waitTask(t.id, ["done", "failed"], 300_000);
      expect(done.status, `${t.id}: ${JSON.stringify(done.result ?? done.last_error)}`).toBe("done");
    }

    // The file on the branch: every task id exactly once, nothing else.
    const file = (await git(["show", "refs/heads/main:log.txt"])).split("\n").filter((l) => l !== "");
    expect([...file].sort()).toEqual(tasks.map((t) => t.id).sort());

    // The history: the seed commit plus one commit per task, each with the project's trailers.
    const commits = (await git(["log", "--format=%H", "refs/heads/main"])).trim().split("\n");
    expect(commits).toHaveLength(tasks.length + 1);
    const byTask = new Map<string, Record<string, string>>();
    for (const c of commits.slice(0, -1)) {
      const raw = await git(["log", "-1", "--format=%(trailers:only,unfold)", c]);
      const trailers: Record<string, string> = {};
      for (const line of raw.split("\n").filter((l) => l.includes(": "))) {
        const i = line.indexOf(": ");
        trailers[line.slice(0, i)] = line.slice(i + 2);
      }
      const id = trailers[TRAILER.task];
      expect(id, c).toBeDefined();
      expect(byTask.has(id!), `${id} committed twice`).toBe(false);
      byTask.set(id!, trailers);
    }
    for (const t of tasks) {
      const tr = byTask.get(t.id);
      expect(tr, t.id).toBeDefined();
      expect(tr![TRAILER.project]).toBe(PROJECT);
      expect(tr![TRAILER.proposal]).toMatch(/^p-/);
      expect(tr![TRAILER.agent]).toBe(t.agent);
      expect(tr![TRAILER.approvedBy]).toBe("autonomous");
    }
    const fsck = await run("git", ["-c", "safe.directory=*", `--git-dir=${repo}`, "fsck", "--no-dangling"]);
    expect(fsck.code, fsck.stderr).toBe(0);
    // The project's repository stays root's: the agents' programs only ever read it.
    expect(readFileSync(path.join(repo, "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
  });
});
