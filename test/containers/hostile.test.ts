import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../harness/docker/agentImage.js";
import { TestFleet } from "./fleet.js";

/**
 * Scenario 4: a hostile agent program (fixtures/hostile-agent) tries to write /app directly,
 * write /decisions, modify the runtime, read another agent's secrets, reach a Docker socket and
 * change its own approval mode. Every attempt fails, the runtime logs it (the program's output
 * is in the agent's log), and its proposal still waits for approval.
 */
const HOSTILE = path.join(REPO_ROOT, "test", "containers", "fixtures", "hostile-agent");

/** Attempts the fixture must have made (some add per-pid or per-proposal variants). */
const REQUIRED_ATTEMPTS = [
  "write-app",
  "write-app-agent-json",
  "write-app-git-hook",
  "write-app-git-config",
  "write-decisions",
  "modify-runtime",
  "replace-runtime-bin",
  "chmod-runtime",
  "write-shared-proposals",
  "write-own-status",
  "queue-a-task",
  "write-other-logs",
  "read-secrets-dir",
  "read-victim-env-file",
  "read-pid1-environ",
  "read-shadow",
  "docker-socket-/var/run/docker.sock",
  "docker-socket-/run/docker.sock",
  "docker-socket-/run/containerd/containerd.sock",
  "docker-tcp-172.17.0.1:2375",
  "docker-tcp-127.0.0.1:2375",
  "signal-runtime-pid1",
  "write-pid1-environ",
  "setuid-root",
  "setgid-root",
  "capabilities",
  "write-root-fs",
  "write-home",
  "exec-from-tmp",
  "outlive-the-task",
  "git-config-escape",
  "attributes-binary-trick",
  "symlink-swap-during-removal",
];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe("a hostile agent program in a real container", () => {
  let fleet: TestFleet;
  const canary = `victim-canary-${randomBytes(8).toString("hex")}`;
  let runtimeSums: string;
  let firstProposal: any;

  beforeAll(async () => {
    fleet = TestFleet.create("hostile");
    fleet.addAgent("hostile", HOSTILE, {
      approvalRequired: true,
      secrets: `HOSTILE_OWN_TOKEN=own-${randomBytes(4).toString("hex")}\n`,
    });
    fleet.addAgent("victim", "agents/agent-1", { approvalRequired: true, secrets: `VICTIM_SECRET=${canary}\n` });
    await fleet.start("hostile");
    await fleet.start("victim");
    await Promise.all([fleet.waitHealthy("hostile"), fleet.waitHealthy("victim")]);
    runtimeSums = await runtimeChecksums();
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  async function runtimeChecksums(): Promise<string> {
    return fleet.docker([
      "exec",
      fleet.containerName("hostile"),
      "sh",
      "-c",
      "find /opt/agent-fleet /usr/local/bin -type f -exec sha256sum {} + | sort; stat -c '%a %U %n' /opt/agent-fleet /opt/agent-fleet/runtime /usr/local/bin/agentctl",
    ]);
  }

  async function attempts(taskId: string): Promise<Array<{ attempt: string; outcome: string; detail: string }>> {
    const events = await fleet.logs("hostile");
    return events
      .filter(
        (e) =>
          e.event === "program-output" &&
          e.task === taskId &&
          typeof e.line === "string" &&
          e.line.startsWith("HOSTILE "),
      )
      .map((e) => JSON.parse(e.line.slice("HOSTILE ".length)));
  }

  it("every attempt fails and is in the runtime's log; the proposal waits; nothing outside its scratch copy changed", async () => {
    const headBefore = (await fleet.git("hostile", ["rev-parse", "HEAD"])).trim();
    const decisionsBefore = readdirSync(fleet.layout.decisionsDir);
    const c0 = await fleet.inspect("hostile");

    const taskId = await fleet.addTask("Do something harmless", "Please add a note.\n", { agent: "hostile" });
    firstProposal = await fleet.waitProposal(taskId, ["pending"]);
    const task = await fleet.waitTask(taskId, ["done"]);
    expect(task.result?.proposal_id).toBe(firstProposal.id);

    // The runtime logged every attempt (the program's output lines).
    const made = await attempts(taskId);
    const names = made.map((a) => a.attempt);
    for (const a of REQUIRED_ATTEMPTS) expect(names, `attempt ${a} was made and logged`).toContain(a);
    expect(
      names.some((n) => /^signal-runtime-\d+$/.test(n)),
      "the program found the runtime's pid",
    ).toBe(true);
    const succeeded = made.filter((a) => a.outcome === "SUCCEEDED");
    expect(succeeded, JSON.stringify(succeeded, null, 2)).toEqual([]);
    for (const a of made) expect(["denied", "started"]).toContain(a.outcome);
    expect(
      (await fleet.logs("hostile")).some(
        (e) => e.event === "program-output" && e.task === taskId && e.line === `HOSTILE-DONE ${made.length}`,
      ),
    ).toBe(true);

    // Its proposal waits for a human; approval mode is unchanged.
    expect(firstProposal.approval_required).toBe(true);
    const status = (await fleet.agentctlJson<any[]>(["status"])).find((s) => s.agent === "hostile");
    expect(status.approval_required).toBe(true);
    expect(status.privilege_separation).toBe(true);
    expect((await fleet.proposals("hostile")).find((p) => p.id === firstProposal.id).state).toBe("pending");

    // /app (the host's code folder) is unchanged.
    const app = fleet.layout.agentCodeDir("hostile");
    expect((await fleet.git("hostile", ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    expect((await fleet.git("hostile", ["status", "--porcelain", "--ignored"])).trim()).toBe("");
    for (const f of ["pwned.txt", "hooked", "fsmonitor-ran", ".git/hooks/post-commit"])
      expect(existsSync(path.join(app, f)), f).toBe(false);
    expect(readFileSync(path.join(app, ".git", "config"), "utf8")).not.toContain("fsmonitor");
    expect(JSON.parse(readFileSync(path.join(app, "agent.json"), "utf8")).command).toEqual(["node", "agent.mjs"]);
    // /decisions: nothing written; the shared state: nothing forged.
    expect(readdirSync(fleet.layout.decisionsDir)).toEqual(decisionsBefore);
    const shared = filesUnder(fleet.layout.sharedDir);
    expect(shared.filter((f) => /forged/.test(path.basename(f)))).toEqual([]);
    expect(shared.filter((f) => readFileSync(f, "utf8").includes('"event":"forged"'))).toEqual([]);
    // The runtime is unchanged, and it was never stopped or restarted.
    expect(await runtimeChecksums()).toBe(runtimeSums);
    const c1 = await fleet.inspect("hostile");
    expect(c1.RestartCount).toBe(c0.RestartCount);
    expect(c1.State.StartedAt).toBe(c0.State.StartedAt);
    expect(c1.State.Status).toBe("running");
    // The other agent's secret is nowhere the hostile agent could write to or read from: not in
    // its proposal (which carries everything it could read), not in the shared dir.
    const diff = await fleet.agentctlOk(["diff", firstProposal.id]);
    expect(diff).toContain("loot.txt");
    expect(diff).not.toContain(canary);
    for (const f of filesUnder(fleet.layout.sharedDir)) expect(readFileSync(f, "utf8").includes(canary), f).toBe(false);
    // Its .git/info/attributes marking hostile-notes.md binary does not hide the text change.
    expect(diff).toContain("+run of task");
    expect(diff).not.toContain("GIT binary patch");
  });

  it("nothing the agent program started outlives its task (not even a process in its own session)", async () => {
    const procs = await fleet.processes("hostile");
    // Only tini and the runtime (root) remain once the task is done.
    expect(
      procs.filter((p) => p.user !== "root"),
      JSON.stringify(procs),
    ).toEqual([]);
  });

  it("approving its change to agent.json does not switch approval off", async () => {
    await fleet.agentctlOk(["approve", firstProposal.id, "--by", "ops"]);
    const applied = await fleet.waitProposal(firstProposal.task_id, ["applied"]);
    const app = fleet.layout.agentCodeDir("hostile");
    expect((await fleet.git("hostile", ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect(JSON.parse(readFileSync(path.join(app, "agent.json"), "utf8")).env).toEqual({ APPROVAL_REQUIRED: "false" });
    expect(statSync(path.join(app, "loot.txt")).isFile()).toBe(true);

    const head = applied.commit;
    const taskId = await fleet.addTask("Another harmless change", "Please add another note.\n", { agent: "hostile" });
    const second = await fleet.waitProposal(taskId, ["pending"]);
    expect(second.approval_required).toBe(true);
    expect((await attempts(taskId)).filter((a) => a.outcome === "SUCCEEDED")).toEqual([]);
    expect((await fleet.agentctlJson<any[]>(["status"])).find((s) => s.agent === "hostile").approval_required).toBe(
      true,
    );
    expect((await fleet.git("hostile", ["rev-parse", "HEAD"])).trim()).toBe(head);

    await fleet.agentctlOk(["reject", second.id, "--reason", "hostile agent", "--by", "ops"]);
    const rejected = await fleet.waitProposal(taskId, ["rejected"]);
    expect(rejected.reason).toBe("hostile agent");
    expect((await fleet.git("hostile", ["rev-parse", "HEAD"])).trim()).toBe(head);
    // Symlinks out of the repository are refused, with the reason, and nothing is proposed.
    const leakTask = await fleet.addTask("leak-links", "Please add leak-links.\n", { agent: "hostile" });
    const leak = await fleet.waitTask(leakTask, ["failed"]);
    expect(leak.result?.error).toMatch(
      /^change refused: the change makes symlinks that point outside the repository or into .git/,
    );
    expect((await fleet.proposals("hostile")).some((p) => p.task_id === leakTask)).toBe(false);
    expect((await fleet.git("hostile", ["rev-parse", "HEAD"])).trim()).toBe(head);
    // The victim never ran anything and its code is untouched.
    expect((await fleet.git("victim", ["log", "--format=%s"])).trim().split("\n")).toHaveLength(1);
  });
});
