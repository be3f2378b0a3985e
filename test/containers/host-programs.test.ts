import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { quote } from "shell-quote";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerName } from "../../fleet/spec.js";
import { docker, run } from "../harness/docker/index.js";
import { plain, runProgram, strings, type ProgramRun, type StackConfig } from "../unit/program/harness.js";
import { agent1Instructions, sleep } from "./fleet.js";
import { LocalRunner } from "./hostPrograms/localRunner.js";
import { git, Operator } from "./hostPrograms/operator.js";
import { createOrder, dependencyNames } from "./hostPrograms/plan.js";
import { destroyAll, upAll, upChanged } from "./hostPrograms/steps.js";
import { startVps, SshRunner, type Vps } from "./hostPrograms/vps.js";
import {
  containerState,
  fleetWorld,
  removeStaleFleetImages,
  snapshotProject,
  waitHealthy,
  type FleetWorld,
} from "./hostPrograms/world.js";

/**
 * The host programs of the Pulumi program, executed for real.
 *
 * The program (program.ts, what index.ts runs) is evaluated under Pulumi
 * mocks; then the shell programs its LocalHost / SshHost / DockerHostFleet resources registered
 * are run, phase by phase as `pulumi up` / `destroy` would ask the command provider to:
 * - local target: `local.Command` programs with /bin/sh against the containers suite's engine;
 * - vps target: `remote.Command` programs over real SSH and `CopyToRemote` uploads with scp, on a
 *   throwaway VPS container (hostPrograms/vps.ts) whose docker drives that same engine.
 * Order: Pulumi's dependency graph as the SDK sends it to the engine (hostPrograms/plan.ts).
 * A later `up` runs the steps whose inputs differ from the previous evaluation's (what the
 * engine's diff would find for these resources; hostPrograms/steps.ts says how replace and
 * update are told apart), `destroy` every delete program in reverse order.
 *
 * What this proves: our host programs (scripts, quoting, order, idempotence, the bootstrap of a
 * Debian machine) do what the components promise on a real engine and a real sshd. What it does
 * not: the Pulumi engine's and the command provider's own behaviour (state, diffs, retries, their
 * process handling) — the command provider cannot be built here (docs/engine.md), so nothing in
 * this file runs it.
 */

describe("local target: LocalHost + DockerHostFleet host programs run with /bin/sh on the test engine (not the Pulumi engine, not the command provider)", () => {
  let world: FleetWorld;
  let project: string;
  let root: string;
  let opsDir: string;
  let secret: string;
  let runner: LocalRunner;
  let current: ProgramRun;
  let op: Operator;
  let first: ProgramRun;

  const stack = (over: Record<string, unknown> = {}, agentsOver?: unknown[]): StackConfig => ({
    config: {
      target: "local",
      fleetName: world.fleet,
      hostRoot: root,
      image: { baseImage: world.baseImage },
      agents: agentsOver ?? [
        { name: "one", code: "agents/agent-1" },
        { name: "two", code: "agents/agent-1", approvalRequired: false, secrets: ["HP_TOKEN"] },
      ],
      HP_TOKEN: secret,
      ...over,
    },
    secretKeys: ["agent-fleet:HP_TOKEN"],
  });
  const program = (s: StackConfig) => runProgram(project, s, { stackName: "hostprog" });
  const codeDir = (agent: string) => path.join(root, "agents", agent);

  beforeAll(async () => {
    world = fleetWorld("hpl");
    await removeStaleFleetImages(world.engine, "hpl");
    project = snapshotProject(path.join(world.work, "project"));
    root = path.join(world.work, "root");
    opsDir = path.join(world.work, "ops");
    mkdirSync(opsDir, { recursive: true });
    secret = `hp-secret-${randomBytes(8).toString("hex")}`;
    runner = new LocalRunner(world.env);
  });

  afterAll(async () => {
    await world?.cleanup();
  });

  it("up: every create program, in dependency order, leaves two healthy containers and the agentctl wrapper", async () => {
    current = first = await program(stack());
    const order = createOrder(current, runner.types).map((s) => s.name);
    // The graph the components declare: Docker check, image, folders, then per agent code (and
    // secrets) before its container, the run-state step after it, and image pruning last of its line.
    expect(order[0]).toBe("host-docker");
    expect(order.indexOf("fleet-image")).toBeLessThan(order.indexOf("fleet-dirs"));
    expect(dependencyNames(current, "fleet-two-container")).toEqual([
      "fleet-image",
      "fleet-two-code",
      "fleet-two-secrets",
    ]);
    expect(dependencyNames(current, "fleet-one-run")).toEqual(["fleet-one-container"]);
    expect(dependencyNames(current, "fleet-prune-images")).toEqual(["fleet-one-container", "fleet-two-container"]);
    for (const a of ["one", "two"]) {
      expect(order.indexOf(`fleet-${a}-code`)).toBeGreaterThan(order.indexOf("fleet-dirs"));
      expect(order.indexOf(`fleet-${a}-run`)).toBeGreaterThan(order.indexOf(`fleet-${a}-container`));
    }

    const results = await upAll(runner, current);
    expect(results.get("host-docker")!.stdout).toMatch(/^docker \S+ ready/);
    for (const a of ["one", "two"]) {
      expect(results.get(`fleet-${a}-code`)!.stdout).toContain(`seeded agents/${a}`);
      expect(results.get(`fleet-${a}-run`)!.stdout).toContain(`started ${containerName(world.fleet, a)}`);
    }
    await Promise.all(["one", "two"].map((a) => waitHealthy(world.engine, containerName(world.fleet, a))));

    // The outputs name the installed wrapper; it runs from the operator's folder.
    const outputs = current.outputs.agentctl as Record<string, string>;
    const wrapper = outputs.status!.replace(/ status$/, "");
    expect(wrapper).toBe(path.join(root, "bin", "agentctl"));
    expect(statSync(wrapper).mode & 0o777).toBe(0o755);
    op = new Operator((args) => run(wrapper, args, { cwd: opsDir, env: world.env, timeoutMs: 120_000 }), opsDir);
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", true],
      ["two", false],
    ]);
  });

  it("secrets: the env-file is 0600 in a 0700 folder, reaches the container, and is in no command string or step output", async () => {
    const file = path.join(root, "secrets", "two.env");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, "utf8")).toBe(`HP_TOKEN=${secret}\n`);
    expect(existsSync(path.join(root, "secrets", "one.env"))).toBe(false);
    const env = await docker(world.engine, ["exec", containerName(world.fleet, "two"), "printenv", "HP_TOKEN"]);
    expect(env.trim()).toBe(secret);

    // Every string the program registered: the secret appears only inside Pulumi's secret envelope.
    const leaks = current.resources.flatMap((r) =>
      strings(r.inputs)
        .filter((s) => !s.secret && s.text.includes(secret))
        .map((s) => `${r.name}${s.path}`),
    );
    expect(leaks).toEqual([]);
    for (const r of current.ofType("command:local:Command")) {
      for (const p of ["create", "delete"])
        if (typeof r.inputs[p] === "string") expect(r.inputs[p]).not.toContain(secret);
    }
    expect(current.byName("fleet-two-secrets").inputs.logging).toBe("none");
    for (const step of runner.log) expect(step.stdout + step.stderr).not.toContain(secret);
  });

  it("approval required: a task queued with the installed agentctl waits as a proposal; approve lands it as a commit", async () => {
    const dir = codeDir("one");
    const headBefore = (await git(dir, ["rev-parse", "HEAD"])).trim();
    const taskId = await op.addTask(
      "Greet",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello from the host programs test\n" } }]),
      "one",
    );
    const proposal = await op.waitProposal(taskId, ["pending"]);
    expect(proposal.approval_required).toBe(true);
    // No answer is never a yes: several poll cycles later it still waits, and the code is unchanged.
    await sleep(2000);
    expect((await op.proposals()).find((p) => p.id === proposal.id).state).toBe("pending");
    expect((await git(dir, ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    expect(existsSync(path.join(dir, "greeting.txt"))).toBe(false);

    await op.ok(["approve", proposal.id]);
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect(readFileSync(path.join(dir, "greeting.txt"), "utf8")).toBe("hello from the host programs test\n");
    expect((await git(dir, ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect((await git(dir, ["rev-parse", "HEAD~1"])).trim()).toBe(headBefore);
    expect(readdirSync(path.join(root, "decisions")).some((f) => f.startsWith(proposal.id))).toBe(true);
  });

  it("autonomous agent: its change is applied without a decision", async () => {
    const decisions = readdirSync(path.join(root, "decisions")).sort();
    const taskId = await op.addTask(
      "Note",
      agent1Instructions([{ write: { path: "note.txt", content: "autonomous\n" } }]),
      "two",
    );
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect(applied.approval_required).toBe(false);
    expect(readFileSync(path.join(codeDir("two"), "note.txt"), "utf8")).toBe("autonomous\n");
    expect(await git(codeDir("two"), ["log", "-1", "--format=%B"])).toContain("Approved-By: autonomous");
    expect(readdirSync(path.join(root, "decisions")).sort()).toEqual(decisions);
  });

  it("pause: only the run-state steps change; containers stop, code, queue and history stay", async () => {
    const heads = await Promise.all(
      ["one", "two"].map(async (a) => (await git(codeDir(a), ["log", "--format=%H"])).trim()),
    );
    const tasksBefore = await op.json<any[]>(["tasks"]);
    const proposalsBefore = await op.proposals();
    const ids = await Promise.all(
      ["one", "two"].map(async (a) => (await containerState(world.engine, containerName(world.fleet, a)))!.id),
    );

    const paused = await program(stack({ paused: true }));
    const { changed } = await upChanged(runner, current, paused);
    current = paused;
    expect(changed).toEqual(["fleet-one-run", "fleet-two-run"]);
    for (const [i, a] of ["one", "two"].entries()) {
      const s = (await containerState(world.engine, containerName(world.fleet, a)))!;
      expect(s.running).toBe(false);
      expect(s.id).toBe(ids[i]); // stopped, not removed
      expect((await git(codeDir(a), ["log", "--format=%H"])).trim()).toBe(heads[i]);
    }
    expect(await op.json<any[]>(["tasks"])).toEqual(tasksBefore);
    expect((await op.proposals()).map((p) => [p.id, p.state])).toEqual(proposalsBefore.map((p) => [p.id, p.state]));
  });

  it("up again: unpausing starts the same containers; running every create program a second time is harmless", async () => {
    const resumed = await program(stack());
    const { changed } = await upChanged(runner, current, resumed);
    current = resumed;
    expect(changed).toEqual(["fleet-one-run", "fleet-two-run"]);
    await Promise.all(["one", "two"].map((a) => waitHealthy(world.engine, containerName(world.fleet, a))));
    // Same config as the first up: nothing for the engine to do.
    expect((await upChanged(runner, first, resumed)).changed).toEqual([]);

    // What a re-run after a failure, or a `pulumi up --refresh` replacing everything, amounts to:
    // every step's create again, on a host where all of it already exists.
    const heads = await Promise.all(
      ["one", "two"].map(async (a) => (await git(codeDir(a), ["log", "--format=%H"])).trim()),
    );
    const proposals = await op.proposals();
    const again = await upAll(runner, current);
    expect(again.get("fleet-image")!.stdout).toContain("already present");
    for (const [i, a] of ["one", "two"].entries()) {
      expect(again.get(`fleet-${a}-code`)!.stdout).toContain("kept agents/");
      expect((await git(codeDir(a), ["log", "--format=%H"])).trim()).toBe(heads[i]);
    }
    await Promise.all(["one", "two"].map((a) => waitHealthy(world.engine, containerName(world.fleet, a))));
    expect((await op.proposals()).map((p) => [p.id, p.state])).toEqual(proposals.map((p) => [p.id, p.state]));
    expect(readFileSync(path.join(root, "secrets", "two.env"), "utf8")).toBe(`HP_TOKEN=${secret}\n`);
  });

  it("code push: a new codeRevision changes only that agent's code step and lands as one commit on top of its history", async () => {
    const before = (await git(codeDir("one"), ["log", "--format=%H"])).trim().split("\n");
    const pushed = await program(
      stack({}, [
        { name: "one", code: "agents/agent-1", codeRevision: "2" },
        { name: "two", code: "agents/agent-1", approvalRequired: false, secrets: ["HP_TOKEN"] },
      ]),
    );
    const { changed, results } = await upChanged(runner, current, pushed);
    current = pushed;
    expect(changed).toEqual(["fleet-one-code"]);
    expect(results.get("fleet-one-code")!.stdout).toMatch(/pushed revision 2 to agents\/one as commit/);
    const after = (await git(codeDir("one"), ["log", "--format=%H"])).trim().split("\n");
    expect(after.slice(1)).toEqual(before);
    expect(await git(codeDir("one"), ["log", "-1", "--format=%s"])).toContain("Operator push: code revision 2");
    // The pushed tree is the project's folder: the approved greeting is in history, not in the tree.
    expect(existsSync(path.join(codeDir("one"), "greeting.txt"))).toBe(false);
    await waitHealthy(world.engine, containerName(world.fleet, "one"));
  });

  it("destroy: every delete program in reverse order removes the containers and keeps code and shared data", async () => {
    const ran = await destroyAll(runner, current);
    // Dependents first: agent two's container goes before the secrets file it reads.
    expect(ran.indexOf("fleet-two-container")).toBeLessThan(ran.indexOf("fleet-two-secrets"));
    expect([...ran].sort()).toEqual(["fleet-one-container", "fleet-two-container", "fleet-two-secrets"]);
    for (const a of ["one", "two"])
      expect(await containerState(world.engine, containerName(world.fleet, a))).toBeUndefined();
    expect((await git(codeDir("one"), ["log", "--format=%s"])).split("\n").length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(path.join(codeDir("two"), "note.txt"), "utf8")).toBe("autonomous\n");
    expect(readdirSync(path.join(root, "shared")).length).toBeGreaterThan(0);
    expect(existsSync(path.join(root, "secrets", "two.env"))).toBe(false);
  });

  it("purgeOnDestroy: an up that sets it, then destroy, removes the fleet's files and image", async () => {
    const purging = await program(stack({ purgeOnDestroy: true }));
    expect(purging.byName("fleet-dirs").inputs.delete).toContain("purged");
    await upAll(runner, purging);
    await Promise.all(["one", "two"].map((a) => waitHealthy(world.engine, containerName(world.fleet, a))));
    // The code seeded before destroy was kept and is used again (the runtime's history survives).
    expect(await git(codeDir("one"), ["log", "-1", "--format=%s"])).toContain("Operator push: code revision 2");
    const image = purging.outputs.image as string;
    const ran = await destroyAll(runner, purging);
    expect(ran[ran.length - 1]).toBe("fleet-dirs");
    for (const a of ["one", "two"])
      expect(await containerState(world.engine, containerName(world.fleet, a))).toBeUndefined();
    expect(existsSync(root)).toBe(false);
    expect((await docker(world.engine, ["image", "ls", "-q", image])).trim()).toBe("");
  });
});

describe("vps target: SshHost + DockerHostFleet host programs run over real SSH on a throwaway VPS container (not the Pulumi engine, not the command provider)", () => {
  let world: FleetWorld;
  let project: string;
  let vps: Vps;
  let root: string;
  let opsDir: string;
  let secret: string;
  let runner: SshRunner;
  let current: ProgramRun;
  let hostUrn: string;
  let op: Operator;

  const stack = (sshOver: Record<string, unknown> = {}): StackConfig => ({
    config: {
      target: "vps",
      fleetName: world.fleet,
      hostRoot: root,
      vps: { host: vps.address },
      ssh: {
        user: "ops",
        bootstrapUser: "root",
        publicKey: vps.publicKey,
        privateKey: vps.privateKey,
        allowedCidrs: [`${vps.testMachineAddress}/32`],
        ...sshOver,
      },
      image: { baseImage: world.baseImage },
      agents: [
        { name: "one", code: "agents/agent-1" },
        { name: "two", code: "agents/agent-1", approvalRequired: false, secrets: ["HP_TOKEN"] },
      ],
      HP_TOKEN: secret,
    },
    secretKeys: ["agent-fleet:ssh", "agent-fleet:HP_TOKEN"],
  });
  const program = (s: StackConfig) => runProgram(project, s, { stackName: "hostprog" });
  const codeDir = (agent: string) => path.join(root, "agents", agent);
  const asOps = async (command: string) => {
    const r = await vps.ssh("ops", command);
    if (r.code !== 0) throw new Error(`ssh ops@vps ${command} failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    world = fleetWorld("hpv");
    await removeStaleFleetImages(world.engine, "hpv");
    project = snapshotProject(path.join(world.work, "project"));
    root = path.join(world.work, "root");
    opsDir = path.join(world.work, "ops");
    mkdirSync(root, { recursive: true });
    mkdirSync(opsDir, { recursive: true });
    secret = `hp-secret-${randomBytes(8).toString("hex")}`;
    const socket = world.engine.host.replace(/^unix:\/\//, "");
    if (socket === world.engine.host)
      throw new Error(`the VPS needs the containers engine on a unix socket, not ${world.engine.host}`);
    vps = await startVps({
      fleetEngineSocket: socket,
      sharedDirs: [root, opsDir],
      work: world.work,
      name: world.fleet,
    });
    runner = new SshRunner(vps);
  });

  afterAll(async () => {
    await vps?.stop();
    await world?.cleanup();
  });

  it("bootstrap over SSH: Docker detected (not reinstalled), ops user, host dirs, key-only sshd without root, firewall admitting SSH from allowedCidrs only", async () => {
    const dpkgBefore = (await vps.ssh("root", "md5sum /var/lib/dpkg/status")).stdout;
    expect(dpkgBefore).toMatch(/^[0-9a-f]{32} /);
    // Positive control for the firewall probe below: before the bootstrap, the outsider gets through.
    expect(await vps.outsiderReachesSsh()).toBe(true);

    current = await program(stack());
    hostUrn = current.resources.find((r) => r.type === "agent-fleet:hosts:SshHost")!.urn!;
    const order = createOrder(current, runner.types);
    const hostSteps = order.filter((s) => s.parent === hostUrn).map((s) => s.name);
    expect(hostSteps).toEqual([
      "host-wait-ready",
      "host-ensure-user",
      "host-docker",
      "host-host-dirs",
      "host-firewall",
      "host-harden-ssh",
    ]);
    // Every fleet step waits for the bootstrap.
    expect(order.slice(0, hostSteps.length).map((s) => s.name)).toEqual(hostSteps);
    expect(plain(current.byName("host-docker").inputs.connection).user).toBe("ops");
    expect(plain(current.byName("host-ensure-user").inputs.connection).user).toBe("root");

    const results = await upAll(runner, current, (s) => s.parent === hostUrn);
    expect(results.get("host-wait-ready")!.stdout).toMatch(/^ready: Debian/m);
    expect(results.get("host-ensure-user")!.stdout).toContain("created user ops");
    const dockerStep = results.get("host-docker")!;
    expect(dockerStep.stdout).toMatch(/^docker \S+ ready$/m);
    expect(dockerStep.stdout + dockerStep.stderr).not.toMatch(/apt-get|Unpacking|Setting up/);
    // Nothing was installed: the package database is byte for byte the same.
    expect(await asOps("sudo -n md5sum /var/lib/dpkg/status")).toBe(dpkgBefore);

    // The operator account: key-only (password locked), passwordless sudo, in the docker group.
    expect((await asOps("sudo -n passwd -S ops")).split(" ")[1]).toBe("L");
    expect((await asOps("id -nG")).split(" ").map((g) => g.trim())).toContain("docker");
    expect((await asOps("stat -c '%a %U' ~/.ssh ~/.ssh/authorized_keys")).trim().split("\n")).toEqual([
      "700 ops",
      "600 ops",
    ]);
    expect((await asOps(`stat -c '%a %U %G' ${quote([root, `${root}/upload`])}`)).trim().split("\n")).toEqual([
      "755 root root",
      "700 ops ops",
    ]);

    // sshd, as it now runs (the step reloaded it): no root, no passwords.
    expect(results.get("host-harden-ssh")!.stdout).toContain("sshd: key-only, root login disabled");
    expect(results.get("host-harden-ssh")!.stderr).not.toContain("found no running sshd");
    const sshd = (await asOps("sudo -n sshd -T")).split("\n");
    for (const line of [
      "permitrootlogin no",
      "passwordauthentication no",
      "kbdinteractiveauthentication no",
      "pubkeyauthentication yes",
      "permitemptypasswords no",
    ]) {
      expect(sshd).toContain(line);
    }
    const rootLogin = await vps.ssh("root", "true");
    expect(rootLogin.code).toBe(255);
    expect(rootLogin.stderr).toMatch(/Permission denied/);

    // The firewall: the test machine (allowedCidrs) gets in, a machine on the same network does not.
    const rules = await asOps("sudo -n nft list table inet agent_fleet");
    expect(rules).toMatch(/policy drop/);
    expect(rules).toMatch(new RegExp(`ip saddr ${vps.testMachineAddress.replace(/\./g, "\\.")} tcp dport 22 accept`));
    expect(await vps.testMachineReachesSsh()).toBe(true);
    expect(await vps.outsiderReachesSsh()).toBe(false);

    // A firewall that would shut out the very client running it is refused, and the rules stay.
    const lockout = await program(stack({ allowedCidrs: ["198.51.100.0/24"] }));
    const refused = await runner.exec(lockout.byName("host-firewall"), "create");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`this connection comes from ${vps.testMachineAddress}`);
    expect(await asOps("sudo -n nft list table inet agent_fleet")).toBe(rules);
  });

  it("fleet over SSH: code and build context uploaded with scp, image built by the VPS's docker, two healthy containers, secrets 0600", async () => {
    const results = await upAll(runner, current, (s) => s.parent !== hostUrn);
    expect([...results.keys()].filter((n) => n.endsWith("-upload") || n.endsWith("-context")).sort()).toEqual([
      "fleet-image-context",
      "fleet-one-code-upload",
      "fleet-two-code-upload",
    ]);
    expect((await asOps(`stat -c '%U' ${quote([`${root}/upload/code-one.tar`])}`)).trim()).toBe("ops");
    expect(results.get("fleet-one-code")!.stdout).toContain("seeded agents/one");
    await Promise.all(["one", "two"].map((a) => waitHealthy(world.engine, containerName(world.fleet, a))));
    expect((await asOps(`sudo -n stat -c '%a %U' ${quote([`${root}/secrets/two.env`])}`)).trim()).toBe("600 root");
    for (const step of runner.log) expect(step.stdout + step.stderr).not.toContain(secret);
    const leaks = current.resources.flatMap((r) =>
      strings(r.inputs)
        .filter((s) => !s.secret && s.text.includes(secret))
        .map((s) => `${r.name}${s.path}`),
    );
    expect(leaks).toEqual([]);
  });

  it("operator over SSH: the outputs' `ssh ops@vps agentctl …` queue a task, the proposal waits, approve lands a commit; the autonomous agent applies alone", async () => {
    const sshCommand = current.outputs.sshCommand as string;
    expect(sshCommand).toBe(`ssh ops@${vps.address}`);
    const outputs = current.outputs.agentctl as Record<string, string>;
    expect(outputs.status).toBe(`${sshCommand} agentctl status`);
    // The wrapper mounts the operator's current folder: here one that exists at the same path on
    // the test machine, where the engine resolves mounts (on a real VPS, any folder).
    await asOps(`sudo -n chown ops: ${quote([opsDir])}`);
    op = new Operator((args) => vps.ssh("ops", `cd ${quote([opsDir])} && agentctl ${quote(args)}`), opsDir);
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", true],
      ["two", false],
    ]);

    const headBefore = (await git(codeDir("one"), ["rev-parse", "HEAD"])).trim();
    const taskId = await op.addTask(
      "Greet",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello over ssh\n" } }]),
      "one",
    );
    const proposal = await op.waitProposal(taskId, ["pending"]);
    await sleep(2000);
    expect((await op.proposals()).find((p) => p.id === proposal.id).state).toBe("pending");
    expect((await git(codeDir("one"), ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    await op.ok(["approve", proposal.id]);
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect((await git(codeDir("one"), ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect(readFileSync(path.join(codeDir("one"), "greeting.txt"), "utf8")).toBe("hello over ssh\n");
    // The decision records the operator who logged in.
    expect(await git(codeDir("one"), ["log", "-1", "--format=%B"])).toContain("Approved-By: ops");

    const auto = await op.addTask(
      "Note",
      agent1Instructions([{ write: { path: "note.txt", content: "autonomous\n" } }]),
      "two",
    );
    expect((await op.waitProposal(auto, ["applied"])).approval_required).toBe(false);
    expect(readFileSync(path.join(codeDir("two"), "note.txt"), "utf8")).toBe("autonomous\n");
  });

  it("up again over SSH without bootstrapUser (as the warning says): only wait-ready changes and now runs as ops; re-running every bootstrap step is harmless", async () => {
    const rulesBefore = await asOps("sudo -n nft list table inet agent_fleet");
    const next = await program(stack({ bootstrapUser: undefined }));
    expect(next.resources.some((r) => r.name === "host-ensure-user")).toBe(false);
    // The engine deletes host-ensure-user (it has no delete program: the account stays).
    expect(current.byName("host-ensure-user").inputs.delete).toBeUndefined();
    const { changed, results } = await upChanged(runner, current, next);
    expect(changed).toEqual(["host-wait-ready"]);
    expect(plain(next.byName("host-wait-ready").inputs.connection).user).toBe("ops");
    expect(results.get("host-wait-ready")!.stdout).toMatch(/^ready: Debian/m);
    current = next;

    // Every bootstrap step once more, on a machine where all of it is done.
    const dpkg = await asOps("sudo -n md5sum /var/lib/dpkg/status");
    const again = await upAll(runner, current, (s) => s.parent === hostUrn);
    expect([...again.keys()]).toEqual([
      "host-wait-ready",
      "host-docker",
      "host-host-dirs",
      "host-firewall",
      "host-harden-ssh",
    ]);
    expect(again.get("host-docker")!.stdout).not.toContain("added ops");
    expect(await asOps("sudo -n md5sum /var/lib/dpkg/status")).toBe(dpkg);
    expect(await asOps("sudo -n nft list table inet agent_fleet")).toBe(rulesBefore);
    expect(await vps.outsiderReachesSsh()).toBe(false);
    expect((await asOps("sudo -n sshd -T")).split("\n")).toContain("permitrootlogin no");
    expect((await asOps("sudo -n sh -c 'ls /etc/ssh/sshd_config.d/'")).trim().split("\n")).toEqual([
      "10-agent-fleet.conf",
    ]);
    // The fleet is still up and answering.
    expect((await op.json<any[]>(["status"])).map((s) => s.agent).sort()).toEqual(["one", "two"]);
  });

  it("destroy over SSH: delete programs in reverse order remove the containers and keep code and shared data", async () => {
    const ran = await destroyAll(runner, current);
    expect([...ran].sort()).toEqual(["fleet-one-container", "fleet-two-container", "fleet-two-secrets"]);
    for (const a of ["one", "two"])
      expect(await containerState(world.engine, containerName(world.fleet, a))).toBeUndefined();
    expect(readFileSync(path.join(codeDir("one"), "greeting.txt"), "utf8")).toBe("hello over ssh\n");
    expect(readdirSync(path.join(root, "shared")).length).toBeGreaterThan(0);
    // The machine's setup stays: a later up finds the ops user, Docker and the firewall in place.
    expect(await vps.outsiderReachesSsh()).toBe(false);
  });
});
