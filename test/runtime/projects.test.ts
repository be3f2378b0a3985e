import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ctl,
  ctlJson,
  git,
  makeApp,
  makeWorld,
  proposals,
  settled,
  startAgent,
  task,
  tearDown,
  waitFor,
  type ProposalJson,
  type RunningAgent,
  type World,
} from "./helpers.js";
import { APPEND_AGENT, fsck, makeProject, projectFile, projectsDir, projectTrailers } from "./projectHelpers.js";

let w: World | undefined;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

function addProjectTask(world: World, title: string, agent: string, project = "demo"): string {
  const r = ctl(world, [
    "task",
    "add",
    "--title",
    title,
    "--description",
    title,
    "--project",
    project,
    "--agent",
    agent,
  ]);
  if (r.code !== 0) throw new Error(`task add failed: ${r.stderr}`);
  return r.stdout.trim();
}

function projectEnv(world: World, projects: string, approval: "true" | "false"): Record<string, string> {
  return { AGENT_PROJECTS: projects, AGENT_PROJECTS_DIR: projectsDir(world), APPROVAL_REQUIRED: approval };
}

describe("shared projects", () => {
  it("a project task runs on a clone of the project and is committed there with its trailers; an agent not assigned to it refuses", async () => {
    w = makeWorld();
    const world = w;
    makeApp(world, "pa", { agentJson: APPEND_AGENT });
    makeApp(world, "pb", { agentJson: APPEND_AGENT });
    const repo = makeProject(world, "demo", { "log.txt": "start\n" });
    running.push(startAgent(world, "pa", projectEnv(world, "demo", "false")));
    running.push(startAgent(world, "pb", { APPROVAL_REQUIRED: "false" }));

    const mine = addProjectTask(world, "append one", "pa");
    const notMine = addProjectTask(world, "append two", "pb");
    const shown = ctlJson<{ project: string }>(world, ["task", "show", mine]);
    expect(shown.project).toBe("demo");

    const done = await waitFor("the project task", settled(world, mine));
    expect(done.status).toBe("done");
    expect(done.result?.outcome).toBe("applied");
    expect(projectFile(repo, "log.txt")).toBe(`start\n${mine}\n`);
    const head = git(repo, ["rev-parse", "refs/heads/main"]).trim();
    expect(done.result?.commit).toBe(head);
    expect(projectTrailers(repo, "Project")).toEqual(["demo"]);
    expect(projectTrailers(repo, "Task-Id")).toEqual([mine]);
    expect(projectTrailers(repo, "Agent")).toEqual(["pa"]);
    expect(projectTrailers(repo, "Approved-By")).toEqual(["autonomous"]);
    expect(projectTrailers(repo, "Proposal-Id")).toEqual([`p-${mine.slice(2)}`]);
    const p = ctlJson<ProposalJson & { project: string }>(world, ["diff", `p-${mine.slice(2)}`]);
    expect(p.project).toBe("demo");
    // The agent's own code is untouched: the change went to the project only.
    expect(git(world.app("pa"), ["log", "--format=%s"]).trim().split("\n")).toHaveLength(1);
    fsck(repo);

    const refused = await waitFor("the refused task", settled(world, notMine));
    expect(refused.status).toBe("failed");
    expect(refused.result?.error).toContain('agent pb is not assigned to project "demo" (its projects: none');
    expect(
      ctlJson<Array<{ id: string }>>(world, ["tasks", "--project", "demo"])
        .map((t) => t.id)
        .sort(),
    ).toEqual([mine, notMine].sort());
  });

  it("approval on: proposals of several agents approved out of order; conflicts shown, retry re-runs them on the new HEAD", async () => {
    w = makeWorld();
    const world = w;
    for (const n of ["qa", "qb"]) {
      makeApp(world, n, { agentJson: APPEND_AGENT });
      running.push(startAgent(world, n, projectEnv(world, "demo", "true")));
    }
    const repo = makeProject(world, "demo", { "log.txt": "start\n" });
    const t1 = addProjectTask(world, "first", "qa");
    const t2 = addProjectTask(world, "second", "qb");
    const t3 = addProjectTask(world, "third", "qa");
    const pid = (t: string, n = 0) => `p-${t.slice(2)}${n > 0 ? `-${n}` : ""}`;
    await waitFor("three pending proposals", () => proposals(world, "pending").length === 3);

    // The last one first: it applies on its base.
    expect(ctl(world, ["approve", pid(t3)]).code).toBe(0);
    await waitFor("third applied", () => proposals(world, "applied").length === 1);
    // The others were proposed on the old HEAD and append at the same place: conflicts.
    expect(ctl(world, ["approve", pid(t1)]).code).toBe(0);
    expect(ctl(world, ["approve", pid(t2)]).code).toBe(0);
    await waitFor("two conflicts", () => proposals(world, "conflict").length === 2);
    const conflicts = proposals(world, "conflict");
    for (const c of conflicts) expect(c.reason).toContain("is no longer main");
    await waitFor("the first task's result says conflict", () => task(world, t1).result?.outcome === "conflict");
    const list = ctl(world, ["tasks", "--project", "demo"]);
    expect(list.stdout).toContain("conflict");

    // Retried, each runs again on the new HEAD and proposes anew; approved, it applies.
    for (const t of [t2, t1]) {
      const r = ctl(world, ["retry", t]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(`re-run proposal of ${t}`, () => proposals(world, "pending").some((p) => p.id === pid(t, 1)));
      expect(ctl(world, ["approve", pid(t, 1)]).code).toBe(0);
      await waitFor(`${t} applied`, () => proposals(world, "applied").some((p) => p.id === pid(t, 1)));
    }
    expect(projectFile(repo, "log.txt")).toBe(`start\n${t3}\n${t2}\n${t1}\n`);
    expect(projectTrailers(repo, "Task-Id")).toEqual([t1, t2, t3]);
    expect(projectTrailers(repo, "Approved-By")).toEqual(["tester", "tester", "tester"]);
    expect(projectTrailers(repo, "Agent").sort()).toEqual(["qa", "qa", "qb"]);
    fsck(repo);
  });

  it("pushes applied commits to the project's remote; a failing push keeps the commit, shows in status and is retried", async () => {
    w = makeWorld();
    const world = w;
    makeApp(world, "ra", { agentJson: APPEND_AGENT });
    const repo = makeProject(world, "demo", { "log.txt": "start\n" });
    const remote = path.join(world.dir, "remote.git");
    // The remote does not exist yet: every push fails until it does.
    git(repo, ["config", "agent-fleet.remote", `file://${remote}`]);
    running.push(startAgent(world, "ra", projectEnv(world, "demo", "false")));
    const t1 = addProjectTask(world, "first", "ra");
    expect((await waitFor("first", settled(world, t1))).result?.outcome).toBe("applied");
    const head1 = git(repo, ["rev-parse", "refs/heads/main"]).trim();
    type Push = { push_error: string | null; push_failures: number; pushed: string | null };
    const pushOf = () =>
      ctlJson<Array<{ agent: string; projects?: Record<string, Push> }>>(world, ["status"]).find(
        (s) => s.agent === "ra",
      )?.projects?.demo;
    const failing = await waitFor("a failed push in the status", () => (pushOf()?.push_failures ?? 0) > 0 && pushOf());
    expect(failing.push_error).toBeTruthy();
    expect(failing.pushed).toBeNull();
    const status = ctl(world, ["status"]);
    expect(status.stdout).toContain("project pushes:");
    expect(status.stdout).toContain("FAILING");
    expect(projectFile(repo, "log.txt")).toBe(`start\n${t1}\n`); // the commit is kept

    // Once the remote exists, the retry (backoff) pushes the branch, and later commits follow.
    fs.mkdirSync(remote);
    git(remote, ["init", "-q", "--bare"]);
    await waitFor("the retried push", () => pushOf()?.pushed === head1, 120_000, 500);
    expect(git(remote, ["rev-parse", "refs/heads/main"]).trim()).toBe(head1);
    const t2 = addProjectTask(world, "second", "ra");
    await waitFor("second", settled(world, t2));
    const head2 = git(repo, ["rev-parse", "refs/heads/main"]).trim();
    await waitFor("the second push", () => git(remote, ["rev-parse", "refs/heads/main"]).trim() === head2);
    expect(pushOf()?.push_error).toBeNull();
    expect(ctl(world, ["status"]).stdout).not.toContain("FAILING");
  });
});
