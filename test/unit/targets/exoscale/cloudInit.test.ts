import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  buildCloudConfig,
  encodeUserData,
  USER_DATA_MAX_BASE64_BYTES,
  type CloudInitOptions,
} from "../../../../targets/exoscale/cloudInit.js";
import { AGENTCTL_WRAPPER_PATH } from "../../../../fleet/agentctlWrapper.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yYWdlbnRmbGVldHRlc3RzMDAwMDAw ops@laptop";
const base: CloudInitOptions = { sshPublicKeys: [KEY], agentImage: "agent-fleet/agent:1.0" };

const dir = mkdtempSync(join(tmpdir(), "af-cloudinit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * `cloud-init schema --config-file` (Debian package `cloud-init`) is the validator. Deprecation
 * warnings count as failures: a deprecated key becomes an error in a later cloud-init.
 */
function schemaCheck(text: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  if (r.error) throw new Error(`cloud-init is not installed (apt-get install -y cloud-init): ${r.error.message}`);
  const output = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && !/DEPRECATED/.test(output) && /Valid cloud-config/.test(output), output };
}

describe("cloud-init builder", () => {
  const variants: [string, CloudInitOptions][] = [
    ["default", base],
    [
      "custom-user-root-eip",
      { ...base, opsUser: "deploy", hostRoot: "/opt/fleet", elasticIp: "203.0.113.77", extraPackages: ["htop"] },
    ],
    ["many-keys", { ...base, sshPublicKeys: [KEY, KEY.replace("ops@laptop", "ci")] }],
    ["no-image", { sshPublicKeys: [KEY] }],
  ];

  for (const [name, opts] of variants) {
    it(`produces a document cloud-init accepts (${name})`, () => {
      const text = buildCloudConfig(opts);
      expect(text.startsWith("#cloud-config\n")).toBe(true);
      const r = schemaCheck(text, name);
      expect(r.output).toMatch(/Valid cloud-config/);
      expect(r.ok, r.output).toBe(true);
      expect(encodeUserData(text).length).toBeLessThanOrEqual(USER_DATA_MAX_BASE64_BYTES);
    });
  }

  it("the validator catches an invalid document (so the checks above can fail)", () => {
    const doc = parse(buildCloudConfig(base).replace("#cloud-config\n", "")) as Record<string, unknown>;
    doc.packages = "docker.io";
    doc.users = { name: "ops" };
    const r = schemaCheck(`#cloud-config\n${JSON.stringify(doc)}\n`, "invalid");
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/packages: 'docker.io' is not of type 'array'/);
  });

  it("hardens SSH, installs Docker, upgrades, nftables (rules come from SshHost), and installs agentctl", () => {
    const doc = parse(buildCloudConfig({ ...base, elasticIp: "203.0.113.77" })) as Record<string, any>;
    expect(doc.ssh_pwauth).toBe(false);
    expect(doc.disable_root).toBe(true);
    expect(doc.users[0]).toMatchObject({
      name: "ops",
      sudo: "ALL=(ALL) NOPASSWD:ALL",
      lock_passwd: true,
      ssh_authorized_keys: [KEY],
    });
    expect(doc.packages).toEqual(expect.arrayContaining(["docker.io", "unattended-upgrades", "nftables"]));
    const files = Object.fromEntries(
      (doc.write_files as { path: string; content: string; permissions: string }[]).map((f) => [f.path, f]),
    );
    expect(files["/etc/ssh/sshd_config.d/60-agent-fleet.conf"]!.content).toMatch(
      /PermitRootLogin no\nPasswordAuthentication no/,
    );
    expect(files["/etc/apt/apt.conf.d/20auto-upgrades"]!.content).toContain('Unattended-Upgrade "1"');
    expect(files[AGENTCTL_WRAPPER_PATH]!.permissions).toBe("0755");
    expect(files[AGENTCTL_WRAPPER_PATH]!.content).toMatch(/agent-fleet\/agent\\?:1\.0/);
    expect(files["/etc/netplan/60-agent-fleet-elastic-ip.yaml"]!.content).toContain("203.0.113.77/32");
    const cmds = (doc.runcmd as string[][]).map((c) => c.join(" "));
    // No first-boot firewall rules: they would never learn networks added to allowedCidrs later.
    // The security group filters from boot; SshHost's nftables step owns the host's rules.
    expect(JSON.stringify(doc)).not.toMatch(/\bufw\b|iptables|nft (add|flush)/);
    expect(cmds).toContain("systemctl enable --now docker");
    expect(cmds).toContain("install -d -m 0700 -o root -g root /srv/agent-fleet/secrets");
    expect(cmds.some((c) => c.includes("/srv/agent-fleet/decisions"))).toBe(true);
  });

  it("installs the agentctl wrapper only when the image is known", () => {
    const paths = (o: CloudInitOptions) =>
      (parse(buildCloudConfig(o)) as { write_files: { path: string }[] }).write_files.map((f) => f.path);
    expect(paths(base)).toContain(AGENTCTL_WRAPPER_PATH);
    const { agentImage: _none, ...withoutImage } = base;
    expect(paths(withoutImage)).not.toContain(AGENTCTL_WRAPPER_PATH);
  });

  it("rejects bad input with a message naming it", () => {
    expect(() => buildCloudConfig({ ...base, sshPublicKeys: [] })).toThrow(/at least one SSH public key/);
    expect(() => buildCloudConfig({ ...base, sshPublicKeys: ["not a key"] })).toThrow(/not an OpenSSH public key/);
    expect(() => buildCloudConfig({ ...base, opsUser: "root" })).toThrow(/must not be root/);
    expect(() => buildCloudConfig({ ...base, hostRoot: "relative" })).toThrow(/absolute/);
  });

  it("refuses user data beyond the API's 32 KiB with a clear error", () => {
    const big = buildCloudConfig({ ...base, extraPackages: Array.from({ length: 3000 }, (_, i) => `pkg-${i}`) });
    expect(() => encodeUserData(big)).toThrow(/Exoscale accepts at most 32768 bytes/);
  });

  it("is deterministic", () => {
    expect(buildCloudConfig(base)).toBe(buildCloudConfig(base));
  });
});
