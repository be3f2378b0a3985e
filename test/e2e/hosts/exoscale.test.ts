/**
 * Scenario 3 through the real CLI on the exoscale target, against the Exoscale simulator: `pulumi up`
 * creates the SSH key, security group and instance through the simulator's API (our dynamic
 * providers), the instance's address is a throwaway VPS container (test/containers/hostPrograms/
 * vps.ts) on which the test stands in for cloud-init with the instance's own user data
 * (cloudInitStandIn.ts), and the same SshHost + fleet as the vps target then run over SSH. Approval
 * over SSH, a no-op `up`, a `refresh` without drift, and `destroy` leaves the simulator empty.
 */
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { quote } from "shell-quote";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent1Instructions, waitFor } from "../../containers/fleet.js";
import { git, Operator } from "../../containers/hostPrograms/operator.js";
import { startVps, type Vps } from "../../containers/hostPrograms/vps.js";
import { waitHealthy } from "../../containers/hostPrograms/world.js";
import { startExoscaleSimulator, type RunningSimulator } from "../../harness/engine/exoscaleSimulatorProcess.js";
import { cloudInitStandInScript } from "./cloudInitStandIn.js";
import { containerIds, hostsWorld, type HostsWorld } from "./world.js";

describe("exoscale target through the real CLI against the simulator: up, approve over SSH, no-op up, refresh, destroy", () => {
  let sim: RunningSimulator;
  let w: HostsWorld;
  let vps: Vps;
  let root: string;
  let opsDir: string;
  let containers: Record<string, string>;
  let created: number;

  beforeAll(async () => {
    sim = await startExoscaleSimulator();
    w = hostsWorld("exo", sim.env);
    root = path.join(w.work, "root");
    opsDir = path.join(w.work, "ops");
    mkdirSync(root, { recursive: true });
    mkdirSync(opsDir, { recursive: true });
    vps = await startVps({
      fleetEngineSocket: w.engine.host.replace(/^unix:\/\//, ""),
      sharedDirs: [root, opsDir],
      work: w.work,
      name: w.fleet,
    });
    await sim.setNextPublicIp(vps.address);
    await w.stack.init(
      {
        target: "exoscale",
        fleetName: w.fleet,
        hostRoot: root,
        exoscale: { zone: "ch-gva-2" },
        ssh: { user: "ops", publicKey: vps.publicKey, allowedCidrs: [`${vps.testMachineAddress}/32`] },
        image: { baseImage: w.baseImage },
        agents: [{ name: "one", code: "agents/agent-1" }],
      },
      { "ssh.privateKey": vps.privateKey },
    );
  });

  afterAll(async () => {
    try {
      await w?.cleanup();
    } finally {
      await vps?.stop();
      await sim?.stop();
    }
  });

  it("up creates the instance in the simulator and, once cloud-init's work is done on the machine, the fleet over SSH", async () => {
    const up = w.stack.up();
    // While the engine waits for the instance's readiness step (it retries the SSH dial), stand in
    // for cloud-init with the user data the instance was created with.
    const standIn = (async () => {
      const instance = await waitFor(
        "the instance in the simulator",
        async () => (await sim.inventory()).instances[0],
        600_000,
        500,
      );
      const userData = (instance as { "user-data"?: string })["user-data"];
      if (!userData) throw new Error("the instance was created without user data");
      const r = await vps.ssh("root", "sh -s", cloudInitStandInScript(userData));
      if (r.code !== 0) throw new Error(`cloud-init stand-in failed (exit ${r.code}): ${r.stderr}`);
    })();
    const [changes] = await Promise.all([up, standIn]);
    created = changes["create"] ?? 0;
    expect(Object.keys(changes)).toEqual(["create"]);

    const inventory = await sim.inventory();
    expect(inventory.instances.map((i) => i.name)).toEqual([`${w.fleet}-vps`]);
    expect(inventory.securityGroups).toHaveLength(1);
    expect(inventory.sshKeys).toHaveLength(1);

    const outputs = await w.stack.outputs();
    expect(outputs["sshCommand"]).toBe(`ssh ops@${vps.address}`);
    containers = Object.fromEntries(
      (outputs["agents"] as { name: string; container: string }[]).map((a) => [a.name, a.container]),
    );
    await waitHealthy(w.engine, containers["one"]!);
    expect(await vps.outsiderReachesSsh()).toBe(false);
  });

  it("approval over SSH lands a commit by ops", async () => {
    const r = await vps.ssh("ops", `sudo -n chown ops: ${quote([opsDir])}`);
    expect(r.code).toBe(0);
    const op = new Operator((args) => vps.ssh("ops", `cd ${quote([opsDir])} && agentctl ${quote(args)}`), opsDir);
    const codeDir = path.join(root, "agents", "one");
    const taskId = await op.addTask(
      "Greet",
      agent1Instructions([{ write: { path: "greeting.txt", content: "hello on exoscale\n" } }]),
      "one",
    );
    const proposal = await op.waitProposal(taskId, ["pending"]);
    await op.ok(["approve", proposal.id]);
    const applied = await op.waitProposal(taskId, ["applied"]);
    expect((await git(codeDir, ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect(await git(codeDir, ["log", "-1", "--format=%B"])).toContain("Approved-By: ops");
  });

  it("a second up changes nothing, and refresh (which reads the instance back from the API) finds no drift", async () => {
    expect(await w.stack.up({ expectNoChanges: true })).toEqual({ same: created });
    expect(Object.keys(await w.stack.refresh())).toEqual(["same"]);
  });

  it("destroy removes the container and leaves the simulator empty", async () => {
    expect(await w.stack.destroy()).toEqual({ delete: created });
    expect(Object.values(await containerIds(w.engine, Object.values(containers))).filter(Boolean)).toEqual([]);
    const inventory = await sim.inventory();
    expect(inventory.instances).toEqual([]);
    expect(inventory.securityGroups).toEqual([]);
    expect(inventory.sshKeys).toEqual([]);
    expect(inventory.elasticIps).toEqual([]);
  });
});
