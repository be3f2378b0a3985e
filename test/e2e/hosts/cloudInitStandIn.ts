/**
 * Standing in for cloud-init on the VPS container that plays the Exoscale instance: the container
 * has no cloud-init (no systemd, no network to install packages from), so the test applies the
 * instance's own user data (read from the simulator, exactly what the program sent) the way
 * cloud-init's modules would, as root over SSH:
 *
 * - `users`: the ops user with its keys, locked password, passwordless sudo, its groups (and docker,
 *   as the document's runcmd adds it);
 * - `write_files`: every file with its permissions (the netplan file too; nothing applies it);
 * - `runcmd`: the `install -d` and `usermod` commands; the `systemctl`/`netplan` ones are left out
 *   (no systemd here; the VPS's docker is the test engine, reached through its socket);
 * - `packages`: not installed (offline); the VPS image already has docker.io and nftables, and the
 *   stand-in fails if one of those two is missing;
 * - a `cloud-init` command that answers `status` as a finished cloud-init does, for the instance's
 *   readiness step (`cloud-init status --wait`).
 *
 * What this does NOT prove: that the document boots a real Ubuntu image (the unit tests validate it
 * with `cloud-init schema`).
 */
import { quote } from "shell-quote";
import { parse } from "yaml";

interface CloudConfig {
  users?: { name: string; groups?: string[]; shell?: string; sudo?: string; ssh_authorized_keys?: string[] }[];
  write_files?: { path: string; permissions?: string; content: string }[];
  runcmd?: string[][];
}

/** The shell program (run as root on the VPS) that applies `userDataBase64` as described above. */
export function cloudInitStandInScript(userDataBase64: string): string {
  const text = Buffer.from(userDataBase64, "base64").toString("utf8");
  if (!text.startsWith("#cloud-config"))
    throw new Error(`user data is not a #cloud-config document: ${text.slice(0, 40)}`);
  const doc = parse(text) as CloudConfig;
  const lines = [
    "set -eu",
    'for p in docker.io nftables; do dpkg -s "$p" >/dev/null 2>&1 || { echo "stand-in: package $p missing on the VPS image" >&2; exit 1; }; done',
  ];
  for (const u of doc.users ?? []) {
    const home = `/home/${u.name}`;
    lines.push(
      `id -u ${quote([u.name])} >/dev/null 2>&1 || useradd -m -s ${quote([u.shell ?? "/bin/bash"])} ${quote([u.name])}`,
      `passwd -l ${quote([u.name])} >/dev/null`,
      ...(u.groups ?? []).map((g) => `usermod -aG ${quote([g])} ${quote([u.name])}`),
      `install -d -m 0700 -o ${quote([u.name])} -g ${quote([u.name])} ${quote([`${home}/.ssh`])}`,
      `printf '%s\\n' ${quote(u.ssh_authorized_keys ?? [])} > ${quote([`${home}/.ssh/authorized_keys`])}`,
      `chown ${quote([`${u.name}:${u.name}`])} ${quote([`${home}/.ssh/authorized_keys`])} && chmod 0600 ${quote([`${home}/.ssh/authorized_keys`])}`,
      ...(u.sudo
        ? [
            `printf '%s\\n' ${quote([`${u.name} ${u.sudo}`])} > /etc/sudoers.d/90-cloud-init-users`,
            "chmod 0440 /etc/sudoers.d/90-cloud-init-users",
          ]
        : []),
    );
  }
  for (const f of doc.write_files ?? []) {
    lines.push(
      `mkdir -p ${quote([f.path.replace(/\/[^/]*$/, "") || "/"])}`,
      `printf '%s' ${quote([f.content])} > ${quote([f.path])}`,
      `chmod ${quote([f.permissions ?? "0644"])} ${quote([f.path])}`,
    );
  }
  for (const cmd of doc.runcmd ?? []) {
    if (cmd[0] === "install" || cmd[0] === "usermod") lines.push(quote(cmd));
  }
  lines.push(
    "cat > /usr/local/bin/cloud-init <<'EOF'",
    "#!/bin/sh",
    "# Test stand-in (see test/e2e/hosts/cloudInitStandIn.ts): the user data was applied by the test.",
    'case "${1:-}" in status) echo "status: done"; exit 0 ;; *) echo "cloud-init stand-in: only status" >&2; exit 1 ;; esac',
    "EOF",
    "chmod 0755 /usr/local/bin/cloud-init",
  );
  return `${lines.join("\n")}\n`;
}
