import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { elasticIpAttachmentProvider, elasticIpProvider } from "../../../../targets/exoscale/providers/elasticIp.js";
import {
  instanceProvider,
  type InstanceInputs,
  type InstanceOutputs,
} from "../../../../targets/exoscale/providers/instance.js";
import {
  securityGroupProvider,
  type SecurityGroupOutputs,
} from "../../../../targets/exoscale/providers/securityGroup.js";
import { sshKeyProvider } from "../../../../targets/exoscale/providers/sshKey.js";
import { ExoscaleSimulator } from "../../../harness/exoscale/simulator.js";

/**
 * The dynamic providers' create/read/diff/update/delete against the simulator. Credentials reach
 * them the way `pulumi up` gives them: the stack config through `configure`.
 */
let sim: ExoscaleSimulator;
const fast = { poll: { initialIntervalMs: 1, maxIntervalMs: 5 }, retry: { baseDelayMs: 1, maxDelayMs: 5 } };
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yYWdlbnRmbGVldHRlc3RzMDAwMDAw ops@laptop";
const KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNlY29uZGtleWZvcmFnZW50ZmxlZXR0ZXN0czAwMDAw ops@ci";

function configured<
  P extends {
    configure?: (req: { config: { get(k: string): string | undefined; require(k: string): string } }) => Promise<void>;
  },
>(p: P): P {
  const values: Record<string, string> = {
    "exoscale:key": sim.credentials.apiKey,
    "exoscale:secret": sim.credentials.apiSecret,
    "exoscale:endpoint": sim.url,
  };
  void p.configure!({ config: { get: (k) => values[k], require: (k) => values[k]! } });
  return p;
}

beforeAll(async () => {
  sim = await ExoscaleSimulator.start({ pendingPolls: 1 });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.setNextPublicIp(undefined);
});

describe("SSH key provider", () => {
  it("creates, reads, replaces on any change, deletes (404 = success)", async () => {
    const p = configured(sshKeyProvider(fast));
    const inputs = { zone: "ch-gva-2", name: "fleet-key", publicKey: KEY };
    expect((await p.check!({} as never, inputs)).failures).toEqual([]);
    const created = await p.create(inputs);
    expect(created.id).toBe("fleet-key");
    expect(created.outs!.fingerprint).toMatch(/^sim:/);
    expect(sim.inventory.sshKeys.map((k) => k.name)).toEqual(["fleet-key"]);
    expect((await p.read!("fleet-key", created.outs)).id).toBe("fleet-key");
    const d = await p.diff!("fleet-key", created.outs!, { ...inputs, publicKey: KEY2 });
    expect(d).toMatchObject({ changes: true, replaces: ["publicKey"], deleteBeforeReplace: true });
    expect((await p.diff!("fleet-key", created.outs!, inputs)).changes).toBe(false);
    await p.delete!("fleet-key", created.outs!);
    expect(sim.inventory.sshKeys).toEqual([]);
    await p.delete!("fleet-key", created.outs!); // already gone: success
    expect((await p.read!("fleet-key", created.outs)).id).toBe("");
  });

  it("check names bad input", async () => {
    const p = sshKeyProvider(fast);
    const r = await p.check!({} as never, { zone: "ch-gva-2", name: "-bad name", publicKey: "hello" });
    expect(r.failures!.map((f) => f.property).sort()).toEqual(["name", "publicKey"]);
  });
});

describe("security group provider", () => {
  it("creates the group with one SSH rule per CIDR and nothing else", async () => {
    const p = configured(securityGroupProvider(fast));
    const inputs = {
      zone: "ch-gva-2",
      name: "fleet-sg",
      description: "agent-fleet",
      allowedCidrs: ["203.0.113.4/32", "198.51.100.0/24"],
      port: 22,
    };
    const created = await p.create(inputs);
    const g = sim.inventory.securityGroups.find((x) => x.id === created.id)!;
    expect(g.rules.map((r) => [r["flow-direction"], r.protocol, r.network, r["start-port"], r["end-port"]])).toEqual([
      ["ingress", "tcp", "203.0.113.4/32", 22, 22],
      ["ingress", "tcp", "198.51.100.0/24", 22, 22],
    ]);
    expect(created.outs!.rules.map((r) => r.cidr)).toEqual(inputs.allowedCidrs);

    // CIDR changes are in place: add the new one, remove the dropped one.
    const news = { ...inputs, allowedCidrs: ["203.0.113.4/32", "192.0.2.0/28"] };
    const d = await p.diff!(created.id, created.outs!, news);
    expect(d).toMatchObject({ changes: true, replaces: [] });
    const updated = await p.update!(created.id, created.outs!, news);
    expect(g.rules.map((r) => r.network).sort()).toEqual(["192.0.2.0/28", "203.0.113.4/32"]);
    expect(updated.outs!.rules).toHaveLength(2);

    // A new name needs a new group.
    expect(
      (await p.diff!(created.id, updated.outs as SecurityGroupOutputs, { ...news, name: "other" })).replaces,
    ).toEqual(["name"]);
    // The description cannot be updated and is kept as created.
    expect(
      await p.diff!(created.id, updated.outs as SecurityGroupOutputs, { ...news, description: "new words" }),
    ).toMatchObject({ changes: false, replaces: [] });

    const read = await p.read!(created.id, updated.outs as SecurityGroupOutputs);
    expect(read.props!.allowedCidrs.sort()).toEqual(["192.0.2.0/28", "203.0.113.4/32"]);

    await p.delete!(created.id, updated.outs as SecurityGroupOutputs);
    expect(sim.inventory.securityGroups.find((x) => x.id === created.id)).toBeUndefined();
    await p.delete!(created.id, updated.outs as SecurityGroupOutputs);
  });

  it("removes the new group when a rule cannot be added (no orphan)", async () => {
    const p = configured(securityGroupProvider(fast));
    const before = sim.inventory.securityGroups.length;
    // A network the API refuses: the group was created, the rule is rejected.
    await expect(
      p.create({ zone: "ch-gva-2", name: "half", description: "", allowedCidrs: ["300.1.2.3/32"], port: 22 }),
    ).rejects.toThrow(/HTTP 400: Invalid request: network "300.1.2.3\/32" is not a CIDR/);
    expect(sim.inventory.securityGroups).toHaveLength(before);
  });

  it("check refuses empty, malformed and duplicate CIDRs", async () => {
    const p = securityGroupProvider(fast);
    const base = { zone: "ch-gva-2", name: "x", description: "", port: 22 };
    expect((await p.check!({} as never, { ...base, allowedCidrs: [] })).failures![0]!.reason).toMatch(
      /at least one CIDR/,
    );
    expect((await p.check!({} as never, { ...base, allowedCidrs: ["10.0.0.1"] })).failures![0]!.reason).toMatch(
      /"10.0.0.1" is not a CIDR/,
    );
    expect(
      (await p.check!({} as never, { ...base, allowedCidrs: ["10.0.0.0/8", "10.0.0.0/8"] })).failures![0]!.reason,
    ).toMatch(/duplicate/);
  });
});

describe("instance provider", () => {
  async function fixtures() {
    const keys = configured(sshKeyProvider(fast));
    const sgs = configured(securityGroupProvider(fast));
    const name = `k-${Math.random().toString(36).slice(2, 8)}`;
    await keys.create({ zone: "ch-gva-2", name, publicKey: KEY });
    const sg1 = await sgs.create({
      zone: "ch-gva-2",
      name: `${name}-a`,
      description: "",
      allowedCidrs: ["203.0.113.4/32"],
      port: 22,
    });
    const sg2 = await sgs.create({
      zone: "ch-gva-2",
      name: `${name}-b`,
      description: "",
      allowedCidrs: ["203.0.113.5/32"],
      port: 22,
    });
    return { keyName: name, sg1: sg1.id, sg2: sg2.id };
  }

  it("creates with the template and type looked up by name, reads, updates in place, deletes", async () => {
    const { keyName, sg1, sg2 } = await fixtures();
    const p = configured(instanceProvider(fast));
    sim.setNextPublicIp("127.0.0.1");
    const inputs: InstanceInputs = {
      zone: "ch-gva-2",
      name: "fleet-host",
      instanceType: "standard.small",
      diskSizeGb: 20,
      templateName: "Linux Ubuntu 24.04 LTS 64-bit",
      userData: "#cloud-config\npackages: [docker.io]\n",
      securityGroupIds: [sg1],
      sshKeyName: keyName,
      labels: { "managed-by": "agent-fleet" },
    };
    expect((await p.check!({} as never, inputs)).failures).toEqual([]);
    const created = await p.create(inputs);
    const outs = created.outs as InstanceOutputs;
    expect(outs.publicIp).toBe("127.0.0.1");
    expect(outs.templateId).toBe("2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2404"); // the newest "Ubuntu 24.04"
    const inst = sim.inventory.instances.find((i) => i.id === created.id)!;
    expect(Buffer.from(inst["user-data"]!, "base64").toString()).toBe(inputs.userData);
    expect(inst["ssh-keys"]).toEqual([{ name: keyName }]);
    expect(inst["disk-size"]).toBe(20);

    // In place: labels, security groups, user data, bigger disk, same-family type.
    const news: InstanceInputs = {
      ...inputs,
      labels: { "managed-by": "agent-fleet", env: "prod" },
      securityGroupIds: [sg2],
      userData: "#cloud-config\npackages: [docker.io, git]\n",
      diskSizeGb: 50,
      instanceType: "standard.medium",
    };
    const d = await p.diff!(created.id, outs, news);
    expect(d).toMatchObject({ changes: true, replaces: [] });
    const updated = (await p.update!(created.id, outs, news)).outs as InstanceOutputs;
    expect(inst.labels).toEqual({ "managed-by": "agent-fleet", env: "prod" });
    expect(inst["security-groups"]).toEqual([{ id: sg2 }]);
    expect(inst["disk-size"]).toBe(50);
    expect(inst.state).toBe("running");
    expect(updated.instanceTypeId).toBe("5f0b7a5e-1c1d-4e8f-8a6b-000000000003");
    const ops = sim.requests.map((r) => r.operationId);
    expect(ops).toEqual(
      expect.arrayContaining([
        "stop-instance",
        "scale-instance",
        "resize-instance-disk",
        "start-instance",
        "attach-instance-to-security-group",
        "detach-instance-from-security-group",
        "update-instance",
      ]),
    );

    // Emptying labels uses the reset-field operation.
    const unlabeled = (await p.update!(created.id, updated, { ...news, labels: {} })).outs as InstanceOutputs;
    expect(inst.labels).toEqual({});

    const read = await p.read!(created.id, unlabeled);
    expect(read.props!.securityGroupIds).toEqual([sg2]);
    // An instance being destroyed (e.g. from the portal) reads as gone.
    inst.state = "destroying";
    expect((await p.read!(created.id, unlabeled)).id).toBe("");
    inst.state = "running";

    await p.delete!(created.id, unlabeled);
    expect(sim.inventory.instances.find((i) => i.id === created.id)).toBeUndefined();
    await p.delete!(created.id, unlabeled); // 404 = success
    expect((await p.read!(created.id, unlabeled)).id).toBe("");
  });

  it("diff replaces for zone, template, SSH key, another family, a smaller disk", async () => {
    const p = instanceProvider(fast);
    const olds = {
      zone: "ch-gva-2",
      name: "h",
      instanceType: "standard.small",
      diskSizeGb: 50,
      templateName: "Linux Ubuntu 24.04 LTS 64-bit",
      userData: "#cloud-config\n",
      securityGroupIds: ["a"],
      sshKeyName: "k",
      labels: {},
      instanceId: "i",
      publicIp: "1.2.3.4",
      templateId: "t",
      instanceTypeId: "x",
      state: "running",
    } satisfies InstanceOutputs;
    const r = async (n: Partial<InstanceInputs>) => (await p.diff!("i", olds, { ...olds, ...n })).replaces;
    expect(await r({ zone: "de-fra-1" })).toEqual(["zone"]);
    expect(await r({ templateName: "Linux Debian 12 (Bookworm) 64-bit" })).toEqual(["templateName"]);
    expect(await r({ sshKeyName: "k2" })).toEqual(["sshKeyName"]);
    expect(await r({ instanceType: "cpu.medium" })).toEqual(["instanceType"]);
    expect(await r({ instanceType: "standard.large" })).toEqual([]);
    expect(await r({ diskSizeGb: 20 })).toEqual(["diskSizeGb"]);
    expect((await p.diff!("i", olds, { ...olds })).changes).toBe(false);
  });

  it("reports API refusals with status and message, e.g. an unknown template or type", async () => {
    const { keyName, sg1 } = await fixtures();
    const p = configured(instanceProvider(fast));
    const inputs: InstanceInputs = {
      zone: "ch-gva-2",
      name: "x",
      instanceType: "standard.small",
      diskSizeGb: 10,
      templateName: "Linux Ubuntu 99.04 LTS 64-bit",
      userData: "#cloud-config\n",
      securityGroupIds: [sg1],
      sshKeyName: keyName,
      labels: {},
    };
    await expect(p.create(inputs)).rejects.toThrow(/no public Exoscale template named "Linux Ubuntu 99.04 LTS 64-bit"/);
    await expect(
      p.create({ ...inputs, templateName: "Linux Ubuntu 24.04 LTS 64-bit", instanceType: "standard.colossal" }),
    ).rejects.toThrow(/not offered in zone ch-gva-2/);
  });

  it("deletes a half-created instance when its create operation fails, and says so", async () => {
    const { keyName, sg1 } = await fixtures();
    const p = configured(instanceProvider(fast));
    const before = sim.inventory.instances.length;
    sim.failNextOperation("unavailable", "hypervisor lost");
    const err = await p
      .create({
        zone: "ch-gva-2",
        name: "doomed",
        instanceType: "standard.small",
        diskSizeGb: 10,
        templateName: "Linux Ubuntu 24.04 LTS 64-bit",
        userData: "#cloud-config\n",
        securityGroupIds: [sg1],
        sshKeyName: keyName,
        labels: {},
      })
      .catch((e: unknown) => e);
    expect(String(err)).toMatch(
      /ended in failure \(unavailable\): hypervisor lost \(the half-created instance [0-9a-f-]{36} was deleted\)/,
    );
    expect(sim.inventory.instances).toHaveLength(before);
  });

  it("check refuses user data past 32 KiB, bad disk sizes and types", async () => {
    const p = instanceProvider(fast);
    const r = await p.check!({} as never, {
      zone: "ch-gva-2",
      name: "x",
      instanceType: "small",
      diskSizeGb: 5,
      templateName: "t",
      userData: `#cloud-config\n# ${"x".repeat(30_000)}\n`,
      securityGroupIds: [],
      sshKeyName: "k",
      labels: {},
    });
    expect(r.failures!.map((f) => f.property).sort()).toEqual(["diskSizeGb", "instanceType", "userData"]);
    expect(r.failures!.find((f) => f.property === "userData")!.reason).toMatch(/at most 32768 bytes/);
  });

  it("without credentials, fails with a message that names the settings", async () => {
    const p = instanceProvider(fast);
    const saved = { k: process.env.EXOSCALE_API_KEY, s: process.env.EXOSCALE_API_SECRET };
    delete process.env.EXOSCALE_API_KEY;
    delete process.env.EXOSCALE_API_SECRET;
    try {
      await expect(p.delete!("x", { zone: "ch-gva-2" } as InstanceOutputs)).rejects.toThrow(
        /exoscale:key \(or EXOSCALE_API_KEY\) and exoscale:secret/,
      );
    } finally {
      if (saved.k) process.env.EXOSCALE_API_KEY = saved.k;
      if (saved.s) process.env.EXOSCALE_API_SECRET = saved.s;
    }
  });
});

describe("elastic IP providers", () => {
  it("releases a half-created elastic IP when its create operation fails", async () => {
    const eips = configured(elasticIpProvider(fast));
    const before = sim.inventory.elasticIps.length;
    sim.failNextOperation("busy", "try later");
    await expect(eips.create({ zone: "ch-gva-2", description: "x", labels: {} })).rejects.toThrow(
      /\(busy\): try later \(the half-created elastic IP [0-9a-f-]{36} was deleted\)/,
    );
    expect(sim.inventory.elasticIps).toHaveLength(before);
  });

  it("creates, attaches to an instance, updates in place, detaches and deletes", async () => {
    const keys = configured(sshKeyProvider(fast));
    await keys.create({ zone: "ch-gva-2", name: "eip-key", publicKey: KEY });
    const inst = await configured(instanceProvider(fast)).create({
      zone: "ch-gva-2",
      name: "eip-host",
      instanceType: "standard.tiny",
      diskSizeGb: 10,
      templateName: "Linux Ubuntu 24.04 LTS 64-bit",
      userData: "#cloud-config\n",
      securityGroupIds: [],
      sshKeyName: "eip-key",
      labels: {},
    });
    const eips = configured(elasticIpProvider(fast));
    const eip = await eips.create({ zone: "ch-gva-2", description: "fleet", labels: {} });
    expect(eip.outs!.ip).toMatch(/^203\.0\.113\./);
    const upd = await eips.update!(eip.id, eip.outs!, {
      zone: "ch-gva-2",
      description: "fleet host",
      labels: { a: "b" },
    });
    expect(upd.outs!.description).toBe("fleet host");
    expect(
      (await eips.diff!(eip.id, eip.outs!, { zone: "de-fra-1", description: "fleet", labels: {} })).replaces,
    ).toEqual(["zone"]);

    const att = configured(elasticIpAttachmentProvider(fast));
    const a = await att.create({ zone: "ch-gva-2", elasticIpId: eip.id, instanceId: inst.id });
    expect(sim.inventory.elasticIps.find((e) => e.id === eip.id)!.instanceIds).toEqual([inst.id]);
    expect((await att.read!(a.id, a.outs)).id).toBe(a.id);
    // Deleting the IP while attached is refused by the API (409): the attachment goes first.
    await expect(eips.delete!(eip.id, eip.outs!)).rejects.toThrow(/HTTP 409/);
    await att.delete!(a.id, a.outs!);
    await att.delete!(a.id, a.outs!); // already detached: 404 = success
    await eips.delete!(eip.id, eip.outs!);
    expect(sim.inventory.elasticIps.find((e) => e.id === eip.id)).toBeUndefined();
  });
});
