import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ExoscaleVpsArgs } from "../../../../targets/exoscale/vps.js";
import { ExoscaleVps } from "../../../../targets/exoscale/vps.js";

/**
 * `new ExoscaleVps(...)` under `pulumi.runtime.setMocks`, run in a tsx process by
 * test/harness/exoscale/vpsUnderMocks.ts (the providers are serialized there, as in `pulumi up`).
 */
const repo = resolve(__dirname, "../../../..");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yYWdlbnRmbGVldHRlc3RzMDAwMDAw ops@laptop";
const PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";

interface Run {
  outputs: {
    publicIp: string;
    sshCommand: string;
    instanceId: string;
    zone: string;
    monthly?: number;
    basis: string;
    readyType: string;
  };
  recorded: { type: string; name: string; inputs: Record<string, any>; providerBytes?: number }[];
}

async function run(args: Omit<ExoscaleVpsArgs, "sshPrivateKey"> & { sshPrivateKey?: string }) {
  const { stdout } = await promisify(execFile)(
    join(repo, "node_modules/.bin/tsx"),
    [join(repo, "test/harness/exoscale/vpsUnderMocks.ts"), JSON.stringify(args)],
    {
      cwd: repo,
      encoding: "utf8",
      maxBuffer: 64 << 20,
    },
  );
  const r = JSON.parse(stdout) as Run;
  const one = (suffix: string) => {
    const found = r.recorded.filter((x) => x.type.endsWith(suffix));
    if (found.length !== 1)
      throw new Error(`expected one ${suffix}, got ${found.length}: ${r.recorded.map((x) => x.type).join(", ")}`);
    return found[0]!;
  };
  return { ...r, one };
}

const base = {
  zone: "ch-gva-2",
  allowedCidrs: ["203.0.113.4/32"],
  sshPublicKey: KEY,
  sshPrivateKey: PRIVATE,
  agentImage: "agent-fleet/agent:1.0",
};

describe("ExoscaleVps", () => {
  it("wires key, security group, instance and the cloud-init readiness step", async () => {
    const { outputs, one, recorded } = await run(base);
    expect(outputs).toMatchObject({
      publicIp: "198.51.100.7",
      sshCommand: "ssh ops@198.51.100.7",
      instanceId: "host-instance-uuid",
      zone: "ch-gva-2",
      readyType: "Command",
    });
    expect(outputs.monthly).toBeGreaterThan(0);
    expect(outputs.basis).toMatch(/standard.small \+ 50 GiB disk × 730 h, list prices recorded 2026-11-21/);

    const sg = one(":SecurityGroup");
    expect(sg.inputs).toMatchObject({
      zone: "ch-gva-2",
      name: "agent-fleet-prod-host",
      allowedCidrs: ["203.0.113.4/32"],
      port: 22,
    });
    expect(sg.providerBytes).toBeGreaterThan(1000);
    const inst = one(":Instance");
    expect(inst.inputs).toMatchObject({
      zone: "ch-gva-2",
      instanceType: "standard.small",
      diskSizeGb: 50,
      templateName: "Linux Ubuntu 24.04 LTS 64-bit",
      securityGroupIds: ["sg-uuid"],
      sshKeyName: "agent-fleet-prod-host",
      labels: { "managed-by": "agent-fleet", stack: "prod" },
    });
    const cloud = parse(inst.inputs.userData as string) as { users: { name: string; ssh_authorized_keys: string[] }[] };
    expect(cloud.users[0]).toMatchObject({ name: "ops", ssh_authorized_keys: [KEY] });
    // Credentials are never resource inputs.
    expect(JSON.stringify(recorded)).not.toMatch(/exoscale:secret|EXOSCALE_API_SECRET|apiSecret/);

    const wait = one("command:remote:Command");
    expect(wait.inputs.create).toContain("cloud-init status --wait");
    // The connection carries the private key, so the whole connection is a Pulumi secret.
    expect(wait.inputs.connection["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
    expect(wait.inputs.connection.value).toMatchObject({ host: "198.51.100.7", user: "ops", privateKey: PRIVATE });
    expect(recorded.some((r) => r.type.endsWith(":ElasticIp"))).toBe(false);
  }, 120_000);

  it("with an elastic IP: reserves it, configures it in cloud-init, attaches it, and SSHes to it", async () => {
    const { outputs, one } = await run({
      ...base,
      elasticIp: true,
      instanceType: "standard.medium",
      diskSizeGb: 100,
      opsUser: "deploy",
    });
    expect(outputs.publicIp).toBe("203.0.113.50");
    expect(outputs.sshCommand).toBe("ssh deploy@203.0.113.50");
    expect(one(":Instance").inputs.userData).toContain("203.0.113.50/32");
    expect(one(":ElasticIpAttachment").inputs).toMatchObject({
      elasticIpId: "eip-uuid",
      instanceId: "host-instance-uuid",
    });
    expect(outputs.basis).toMatch(/standard.medium \+ 100 GiB disk \+ elastic IP/);
  }, 120_000);

  it("without a private key, `ready` is the instance itself (no SSH step)", async () => {
    const { outputs, recorded } = await run({ ...base, sshPrivateKey: undefined });
    expect(outputs.readyType).toBe("ExoscaleInstance");
    expect(recorded.some((r) => r.type === "command:remote:Command")).toBe(false);
  }, 120_000);

  it("rejects bad arguments before creating anything", () => {
    const b = { ...base, sshPrivateKey: undefined };
    expect(() => new ExoscaleVps("x", { ...b, zone: "ch-gva-9" })).toThrow(/unknown Exoscale zone "ch-gva-9"/);
    expect(() => new ExoscaleVps("x", { ...b, allowedCidrs: [] })).toThrow(
      /allowedCidrs must list at least one network/,
    );
    expect(() => new ExoscaleVps("x", { ...b, instanceType: "large" })).toThrow(/family.size/);
  });
});
