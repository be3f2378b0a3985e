import { stringify } from "yaml";
import { AGENTCTL_WRAPPER_PATH, agentctlWrapperScript } from "../../fleet/agentctlWrapper.js";
import { DEFAULT_REMOTE_ROOT } from "../../config/defaults.js";
import { hostLayout } from "../../hosts/hostLayout.js";

export { encodeUserData, USER_DATA_MAX_BASE64_BYTES } from "./userData.js";

export interface CloudInitOptions {
  /** The login user for operators and for Pulumi's SSH connection; default `ops`. */
  opsUser?: string;
  /** OpenSSH public keys allowed to log in as the ops user (at least one). */
  sshPublicKeys: string[];
  /** Root of the fleet's files on the host; default /srv/agent-fleet. */
  hostRoot?: string;
  /**
   * The agent image, for the host-side `agentctl` wrapper. Without it the document installs no
   * wrapper (DockerHostFleet installs it over SSH once the image exists, e.g. built on the host).
   */
  agentImage?: string;
  /** An elastic IP to configure on the loopback interface (Exoscale routes it but does not configure it). */
  elasticIp?: string;
  /** Extra Debian/Ubuntu packages. */
  extraPackages?: string[];
}

/**
 * The `#cloud-config` document that turns a fresh Ubuntu/Debian instance into an agent-fleet Docker
 * host: an ops user (key only, passwordless sudo, docker group), no root or password SSH login,
 * Docker installed and enabled (with log rotation), unattended security upgrades, nftables, the
 * fleet's host directories and the `agentctl` wrapper.
 *
 * No host firewall rules here: the security group admits only SSH from the allowed networks from
 * the first boot, and SshHost's firewall step (the same nftables table as on any VPS) runs right
 * after cloud-init and again on every `up` whose allowed networks change. Rules written once at
 * first boot (ufw) would keep refusing networks added later.
 *
 * Pure: the same options give the same text, so a change shows up in `pulumi preview` as a diff.
 */
export function buildCloudConfig(o: CloudInitOptions): string {
  const opsUser = o.opsUser ?? "ops";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(opsUser))
    throw new Error(`ops user "${opsUser}" is not a valid Linux user name`);
  if (opsUser === "root") throw new Error("ops user must not be root (root login is disabled)");
  if (o.sshPublicKeys.length === 0) throw new Error("cloud-init needs at least one SSH public key for the ops user");
  for (const k of o.sshPublicKeys) {
    if (
      !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\n]*)?$/.test(
        k.trim(),
      )
    ) {
      throw new Error(`not an OpenSSH public key: "${k.slice(0, 40)}..."`);
    }
  }
  const layout = hostLayout(o.hostRoot ?? DEFAULT_REMOTE_ROOT);

  const writeFiles: Record<string, unknown>[] = [
    {
      path: "/etc/ssh/sshd_config.d/60-agent-fleet.conf",
      permissions: "0644",
      content: [
        "# agent-fleet: key-only SSH for the ops user, no root login",
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        `AllowUsers ${opsUser}`,
        "",
      ].join("\n"),
    },
    {
      path: "/etc/apt/apt.conf.d/20auto-upgrades",
      permissions: "0644",
      content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    },
    {
      path: "/etc/docker/daemon.json",
      permissions: "0644",
      content: `${JSON.stringify({ "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" } }, null, 2)}\n`,
    },
  ];
  if (o.agentImage !== undefined) {
    writeFiles.push({
      path: AGENTCTL_WRAPPER_PATH,
      permissions: "0755",
      content: agentctlWrapperScript({ image: o.agentImage, hostRoot: layout.root }),
    });
  }
  if (o.elasticIp !== undefined) {
    if (!isCidr(`${o.elasticIp}/32`)) throw new Error(`elastic IP "${o.elasticIp}" is not an IPv4 address`);
    writeFiles.push({
      path: "/etc/netplan/60-agent-fleet-elastic-ip.yaml",
      permissions: "0600",
      content: stringify({
        network: { version: 2, ethernets: { lo: { match: { name: "lo" }, addresses: [`${o.elasticIp}/32`] } } },
      }),
    });
  }

  const doc = {
    users: [
      {
        name: opsUser,
        groups: ["sudo"],
        shell: "/bin/bash",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: o.sshPublicKeys.map((k) => k.trim()),
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    package_update: true,
    package_upgrade: true,
    packages: ["docker.io", "unattended-upgrades", "nftables", "git", ...(o.extraPackages ?? [])],
    write_files: writeFiles,
    runcmd: [
      [
        "install",
        "-d",
        "-m",
        "0755",
        "-o",
        "root",
        "-g",
        "root",
        layout.root,
        layout.agentsDir,
        layout.sharedDir,
        layout.decisionsDir,
      ],
      ["install", "-d", "-m", "0700", "-o", "root", "-g", "root", layout.secretsDir],
      // The docker group exists once docker.io is installed (packages run before runcmd).
      ["usermod", "-aG", "docker", opsUser],
      ["systemctl", "enable", "--now", "docker"],
      ["systemctl", "restart", "docker"],
      ["systemctl", "enable", "--now", "unattended-upgrades"],
      ["systemctl", "restart", "ssh"],
      ...(o.elasticIp !== undefined ? [["netplan", "apply"]] : []),
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

function isCidr(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (v4) return v4.slice(1, 5).every((x) => Number(x) <= 255) && Number(v4[5]) <= 32;
  const v6 = /^([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}\/(\d{1,3})$/.exec(s);
  return v6 !== null && Number(v6[2]) <= 128;
}
