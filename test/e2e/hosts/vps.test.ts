/**
 * Scenarios 2 and 4 through the real CLI on the vps target: `pulumi up` bootstraps a throwaway VPS
 * container over SSH (the command provider's remote commands and uploads; test/containers/
 * hostPrograms/vps.ts), builds the image with the VPS's docker (which drives the hosts suite's
 * engine through its socket) and starts the fleet; approval over `ssh ops@vps agentctl`; the
 * autonomy flip replaces only the agent without its own override; a second `up` and a `refresh`
 * change nothing; the firewall admits SSH only from allowedCidrs; destroy removes the containers.
 */
import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { quote } from "shell-quote";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent1Instructions } from "../../containers/fleet.js";
import { git, Operator } from "../../containers/hostPrograms/operator.js";
import { startVps, type Vps } from "../../containers/hostPrograms/vps.js";
import { waitHealthy } from "../../containers/hostPrograms/world.js";
import { containerIds, hostsWorld, replacedAgents, type HostsWorld } from "./world.js";

const AGENTS = ["one", "two"];

describe("vps target through the real CLI: bootstrap over SSH, approve over SSH, flip, no-op up, refresh, firewall, destroy", () => {
  let w: HostsWorld;
  let vps: Vps;
  let root: string;
  let opsDir: string;
  let containers: Record<string, string>;
  let op: Operator;
  let created: number;
  const codeDir = (agent: string) => path.join(root, "agents", agent);
  const asOps = async (command: string) => {
    const r = await vps.ssh("ops", command);
    if (r.code !== 0) throw new Error(`ssh ops@vps ${command} failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    w = hostsWorld("vps");
    root = path.join(w.work, "root");
    opsDir = path.join(w.work, "ops");
    mkdirSync(root, { recursive: true });
    mkdirSync(opsDir, { recursive: true });
    const socket = w.engine.host.replace(/^unix:\/\//, "");
    vps = await startVps({ fleetEngineSocket: socket, sharedDirs: [root, opsDir], work: w.work, name: w.fleet });
    await w.stack.init(
      {
        target: "vps",
        fleetName: w.fleet,
        hostRoot: root,
        vps: { host: vps.address },
        ssh: {
          user: "ops",
          bootstrapUser: "root",
          publicKey: vps.publicKey,
          allowedCidrs: [`${vps.testMachineAddress}/32`],
        },
        image: { baseImage: w.baseImage },
        agents: [
          { name: "one", code: "agents/agent-1" },
          { name: "two", code: "agents/agent-1", approvalRequired: true },
        ],
      },
      { "ssh.privateKey": vps.privateKey },
    );
  });

  afterAll(async () => {
    try {
      await w?.cleanup();
    } finally {
      await vps?.stop();
    }
  });

  it("up bootstraps the machine over SSH and starts healthy containers; the firewall admits only allowedCidrs", async () => {
    expect(await vps.outsiderReachesSsh()).toBe(true); // positive control for the probe below
    const changes = await w.stack.up();
    created = changes["create"] ?? 0;
    expect(Object.keys(changes)).toEqual(["create"]);

    const outputs = await w.stack.outputs();
    expect(outputs["sshCommand"]).toBe(`ssh ops@${vps.address}`);
    containers = Object.fromEntries(
      (outputs["agents"] as { name: string; container: string }[]).map((a) => [a.name, a.container]),
    );
    expect(Object.keys(containers).sort()).toEqual(AGENTS);
    await Promise.all(Object.values(containers).map((c) => waitHealthy(w.engine, c)));

    expect(await vps.testMachineReachesSsh()).toBe(true);
    expect(await vps.outsiderReachesSsh()).toBe(false);
    expect((await asOps("sudo -n sshd -T")).split("\n")).toContain("permitrootlogin no");
  });

  it("approval over `ssh ops@vps agentctl`: the task waits as a proposal, approve lands a commit by ops", async () => {
    await asOps(`sudo -n chown ops: ${quote([opsDir])}`);
    op = new Operator((args) => vps.ssh("ops", `cd ${quote([opsDir])} && agentctl ${quote(args)}`), opsDir);
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", true],
      ["two", true],
    ]);

    const headBefore = (await git(codeDir("one"), ["rev-parse", "HEAD"])).trim();
    const taskId = await op.addTask(
      "Greet",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello over ssh\n" } }]),
      "one",
    );
    const proposal = await op.waitProposal(taskId, ["pending"]);
    expect((await git(codeDir("one"), ["rev-parse", "HEAD"])).trim()).toBe(headBefore);
    await op.ok(["approve", proposal.id]);
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect((await git(codeDir("one"), ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    const message = await git(codeDir("one"), ["log", "-1", "--format=%B"]);
    expect(message).toContain(`Proposal-Id: ${proposal.id}`);
    expect(message).toContain("Approved-By: ops");
  });

  it("`config set approvalRequired false` + up replaces only the agent without its own override", async () => {
    await w.stack.configSet("approvalRequired", "false");
    expect(replacedAgents(await w.stack.preview(), AGENTS)).toEqual(["one"]);
    const before = await containerIds(w.engine, Object.values(containers));
    const changes = await w.stack.up();
    expect(changes["create"] ?? 0).toBe(0);
    expect(changes["delete"] ?? 0).toBe(0);
    const after = await containerIds(w.engine, Object.values(containers));
    expect(after[containers["one"]!]).not.toBe(before[containers["one"]!]);
    expect(after[containers["two"]!]).toBe(before[containers["two"]!]);
    await Promise.all(Object.values(containers).map((c) => waitHealthy(w.engine, c)));
    const status = await op.json<any[]>(["status"]);
    expect(status.map((s) => [s.agent, s.approval_required]).sort()).toEqual([
      ["one", false],
      ["two", true],
    ]);
  });

  it("a second up changes nothing, and refresh finds no drift", async () => {
    expect(await w.stack.up({ expectNoChanges: true })).toEqual({ same: created });
    expect(Object.keys(await w.stack.refresh())).toEqual(["same"]);
  });

  it("destroy removes the containers and keeps code and history; the machine's firewall stays", async () => {
    expect(await w.stack.destroy()).toEqual({ delete: created });
    expect(Object.values(await containerIds(w.engine, Object.values(containers))).filter(Boolean)).toEqual([]);
    expect(readFileSync(path.join(codeDir("one"), "greeting.txt"), "utf8")).toBe("hello over ssh\n");
    expect(await vps.outsiderReachesSsh()).toBe(false);
  });
});
