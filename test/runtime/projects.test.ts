import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ctl,
  ctlJson,
  git,
  makeApp,
  makeWorld,
  proposals,
  ROOT,
  settled,
  startAgent,
  stopAgent,
  task,
  tearDown,
  waitFor,
  type ProposalJson,
  type RunningAgent,
  type World,
} from "./helpers.js";
import { APPEND_AGENT, fsck, makeProject, projectFile, projectsDir, projectTrailers } from "./projectHelpers.js";

// The compiled lock (the same code the runtimes run) lets the test act as another agent on the project.
const require = createRequire(import.meta.url);
const { DirLock } = require(
  path.join(ROOT, "dist", "runtime", "projects", "dirLock.js"),
) as typeof import("../../runtime/projects/dirLock.js");
const { LOCKED_RERUNS_FROM, AUTONOMOUS_RERUNS } = require(
  path.join(ROOT, "dist", "runtime", "tasks", "taskLoop.js"),
) as typeof import("../../runtime/tasks/taskLoop.js");

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

  it("a lock-held re-run whose lock is broken under it (its runtime starved past the lease) runs again: its change is not lost", async () => {
    w = makeWorld();
    const world = w;
    const sig = fs.mkdtempSync(path.join(os.tmpdir(), "af-sig-"));
    fs.chmodSync(sig, 0o777);
    // Appends its task id once the test says go (the test moves the branch in between).
    const script =
      'touch "$SIG/started-$$"; while [ ! -e "$SIG/go" ]; do sleep 0.05; done; printf "%s\\n" "$TASK_ID" >> log.txt';
    makeApp(world, "pa", { agentJson: { command: ["sh", "-c", script], env: { SIG: sig }, timeoutSeconds: 120 } });
    const repo = makeProject(world, "demo", { "log.txt": "start\n" });
    const id = addProjectTask(world, "append", "pa");
    // As if its first runs had conflicted: this run is one that holds the project's lock.
    const pending = path.join(world.shared, "tasks", "pending");
    const file = path.join(
      pending,
      fs.readdirSync(pending).find((n) => n.includes(id))!,
    );
    fs.writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), reruns: LOCKED_RERUNS_FROM }),
    );
    const leaseMs = 2000;
    const agent = startAgent(world, "pa", {
      ...projectEnv(world, "demo", "false"),
      AGENT_LEASE_SECONDS: String(leaseMs / 1000),
    });
    running.push(agent);
    try {
      const lockDir = path.join(repo, "agent-fleet", "apply.lock");
      await waitFor("the lock-held run's program", () => fs.readdirSync(sig).some((n) => n.startsWith("started-")));
      expect(JSON.parse(fs.readFileSync(path.join(lockDir, "owner.json"), "utf8"))).toMatchObject({ agent: "pa" });
      // Its runtime is starved (stopped) past the lease: another agent breaks the lock and commits.
      agent.child.kill("SIGSTOP");
      const other = new DirLock({ dir: lockDir, agent: "pb", leaseMs });
      await other.run(async () => {
        const clone = path.join(world.dir, "other-clone");
        git(world.dir, ["clone", "-q", repo, clone]);
        fs.appendFileSync(path.join(clone, "log.txt"), "outside\n");
        git(clone, [
          "-c",
          "user.name=pb",
          "-c",
          "user.email=pb@example.invalid",
          "commit",
          "-qam",
          "another agent's append",
        ]);
        git(clone, ["push", "-q", "origin", "HEAD:refs/heads/main"]);
      });
    } finally {
      agent.child.kill("SIGCONT");
    }
    fs.writeFileSync(path.join(sig, "go"), "");
    const done = await waitFor("the task", settled(world, id));
    // Its run conflicted (the branch moved under the lock it no longer held); it ran again.
    expect(done.status).toBe("done");
    expect(done.result).toMatchObject({
      outcome: "applied",
      proposal_id: `p-${id.slice(2)}-${LOCKED_RERUNS_FROM + 1}`,
    });
    expect(done.reruns).toBe(LOCKED_RERUNS_FROM + 1);
    expect(LOCKED_RERUNS_FROM + 1).toBeLessThanOrEqual(AUTONOMOUS_RERUNS);
    const history = done.history as Array<{ event: string; detail?: string }>;
    expect(history.filter((h) => h.event === "rerun")).toHaveLength(1);
    expect(projectFile(repo, "log.txt")).toBe(`start\noutside\n${id}\n`);
    expect(projectTrailers(repo, "Task-Id")).toEqual([id]);
    expect(agent.output()).toMatch(/project-lock-held-run/);
    fsck(repo);
    await stopAgent(agent);
    fs.rmSync(sig, { recursive: true, force: true });
  });
});
