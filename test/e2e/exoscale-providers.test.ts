/**
 * The exoscale target's cloud half through the real engine: the project's Exoscale dynamic providers
 * (SSH key, security group + SSH rules, instance, elastic IP + attachment) serialized into the state,
 * run by the dynamic-provider plugin, against the Exoscale simulator. `up` creates the VPS, a second `up`
 * and `refresh` find nothing to do, a changed CIDR list updates only the security group, and `destroy`
 * (which runs the provider code stored in the state) leaves the simulator's inventory empty.
 *
 * The SSH host on top (bootstrap, Docker, agents) needs the command provider, which cannot be built
 * here (docs/engine.md); this file covers everything below it.
 */
import { generateKeyPairSync } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withEphemeralStack } from "../harness/engine/ephemeralStack.js";
import { startExoscaleSimulator, type RunningSimulator } from "../harness/engine/exoscaleSimulatorProcess.js";

const engine = inject("engine");
const fixture = path.join(import.meta.dirname, "fixtures", "exoscale-vps");

/** An OpenSSH ed25519 public key line, made here (no ssh-keygen needed). */
function openSshPublicKey(): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const lenPrefixed = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([lenPrefixed(Buffer.from("ssh-ed25519")), lenPrefixed(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} e2e@agent-fleet`;
}

describe("exoscale dynamic providers through the real engine (simulator)", () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startExoscaleSimulator({ publicIp: "192.0.2.10" });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("up creates the VPS, up again and refresh change nothing, a CIDR change touches only the group, destroy empties the inventory", async () => {
    const name = `e2e-${process.pid}`;
    await withEphemeralStack(
      {
        engine,
        workDir: fixture,
        namePrefix: "exo",
        env: sim.env,
        config: {
          name,
          publicKey: openSshPublicKey(),
          allowedCidrs: { object: ["203.0.113.0/24"] },
          elasticIp: "true",
        },
      },
      async (stack) => {
        const up = await stack.up();
        expect(up.result).toBe("succeeded");
        // stack + key + group + instance + elastic IP + attachment
        expect(up.resourceChanges).toEqual({ create: 6 });
        const inv = await sim.inventory();
        expect(inv.sshKeys.map((k) => k.name)).toEqual([`${name}-key`]);
        expect(inv.instances).toHaveLength(1);
        expect(inv.instances[0]).toMatchObject({ name, state: "running" });
        expect(up.outputs?.["publicIp"]).toBe("192.0.2.10");
        expect(inv.securityGroups).toHaveLength(1);
        const ingress = inv.securityGroups[0]!.rules.filter((r) => r["flow-direction"] === "ingress");
        expect(ingress.map((r) => [r.network, r.protocol, r["start-port"]])).toEqual([["203.0.113.0/24", "tcp", 22]]);
        expect(inv.elasticIps).toHaveLength(1);
        expect(inv.elasticIps[0]!.instanceIds).toEqual([inv.instances[0]!.id]);

        expect((await stack.up({ expectNoChanges: true })).resourceChanges).toEqual({ same: 6 });
        expect((await stack.refresh()).resourceChanges).toEqual({ same: 6 });

        // Widening SSH access is an in-place update of the group; the instance keeps its id.
        const instanceId = inv.instances[0]!.id;
        await stack.run("init", { config: { allowedCidrs: { object: ["203.0.113.0/24", "198.51.100.7/32"] } } });
        const widened = await stack.up();
        expect(widened.resourceChanges).toEqual({ same: 5, update: 1 });
        const after = await sim.inventory();
        expect(after.instances.map((i) => i.id)).toEqual([instanceId]);
        const cidrs = after.securityGroups[0]!.rules.filter((r) => r["flow-direction"] === "ingress")
          .map((r) => r.network)
          .sort();
        expect(cidrs).toEqual(["198.51.100.7/32", "203.0.113.0/24"]);

        const destroyed = await stack.destroy();
        expect(destroyed.resourceChanges).toEqual({ delete: 6 });
        const empty = await sim.inventory();
        expect(empty).toEqual({ sshKeys: [], securityGroups: [], instances: [], elasticIps: [] });
      },
    );
  });
});
