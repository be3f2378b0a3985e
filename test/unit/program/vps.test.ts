import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { changedResources, makeProject, plain, programOf, runProgram } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/** The vps target under mocks: SshHost's bootstrap steps, uploads, and the fleet on top. */

const dir = makeProject(["a1", "a2"]);
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n";
const PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMuZ8Qj8pS6b7W4yXlM0CqR3vT2mN9dK1eH5aF7sB0Lx ops@test";

function vps(ssh: Record<string, unknown> = {}, over: Record<string, unknown> = {}) {
  return {
    config: {
      target: "vps",
      vps: { host: "192.0.2.10" },
      ssh: { allowedCidrs: ["198.51.100.7/32", "2001:db8::/48"], privateKey: KEY, ...ssh },
      agents: [{ name: "a1" }, { name: "a2" }],
      ...over,
    },
    secretKeys: ["agent-fleet:ssh"],
  };
}

describe("vps target", () => {
  it("bootstraps the machine in order, each step a remote command run as root through sudo", async () => {
    const run = await runProgram(dir, vps({ bootstrapUser: "root", publicKey: PUB }));
    expect(run.ofType("agent-fleet:hosts:SshHost").map((r) => r.name)).toEqual(["host"]);
    const steps = [
      "host-wait-ready",
      "host-ensure-user",
      "host-docker",
      "host-host-dirs",
      "host-firewall",
      "host-harden-ssh",
    ];
    for (const s of steps) expect(run.byName(s).type).toBe("command:remote:Command");
    const conn = (name: string) => plain(run.byName(name).inputs.connection);
    // The bootstrap account is used for the first steps only; root runs them without sudo.
    expect(conn("host-wait-ready").user).toBe("root");
    expect(conn("host-ensure-user").user).toBe("root");
    expect(run.byName("host-ensure-user").inputs.create).toMatch(/^sh -c /);
    for (const s of steps.slice(2)) {
      expect(conn(s).user, s).toBe("ops");
      expect(run.byName(s).inputs.create, s).toMatch(
        s === "host-firewall" ? /^sudo -n env "AF_SSH_CLIENT=\$\{SSH_CLIENT:-\}" sh -c / : /^sudo -n sh -c /,
      );
    }
    expect(conn("host-docker")).toMatchObject({ host: "192.0.2.10", port: 22, dialErrorLimit: 40 });
    expect(run.byName("host-ensure-user").inputs.create).toContain("export AF_USER=ops");
    const firewall = programOf(run.byName("host-firewall").inputs.create);
    expect(firewall).toContain("export AF_ALLOWED_CIDRS='198.51.100.7/32 2001:db8::/48'\n");
    expect(firewall).toContain("AF_SSH_PORT=22");
    expect(run.byName("host-harden-ssh").inputs.create).toContain("PermitRootLogin no");
  });

  it("without bootstrapUser connects as the ops user from the start", async () => {
    const run = await runProgram(dir, vps({ port: 2222 }));
    expect(run.resources.some((r) => r.name === "host-ensure-user")).toBe(false);
    expect(plain(run.byName("host-wait-ready").inputs.connection)).toMatchObject({ user: "ops", port: 2222 });
    expect(run.outputs.sshCommand).toBe("ssh -p 2222 ops@192.0.2.10");
  });

  it("uploads the image's build context and each agent's code as archives, then builds and seeds on the host", async () => {
    const run = await runProgram(dir, vps());
    const copies = run.ofType("command:remote:CopyToRemote");
    expect(copies.map((c) => c.name).sort()).toEqual([
      "fleet-a1-code-upload",
      "fleet-a2-code-upload",
      "fleet-image-context",
    ]);
    const image = run.outputs.image as string;
    const short = image.split(":")[1]!;
    const context = run.byName("fleet-image-context").inputs;
    expect(context.remotePath).toBe(`/srv/agent-fleet/upload/image-${short}.tar`);
    const archive = await (context.source as { path: Promise<string> }).path;
    expect(fs.existsSync(archive)).toBe(true);
    expect(archive.startsWith(path.join(dir, ".agent-fleet", ".build"))).toBe(true);
    const build = programOf(run.byName("fleet-image").inputs.create);
    expect(build).toContain(`AF_ARCHIVE=/srv/agent-fleet/upload/image-${short}.tar`);
    expect(build).toContain(`AF_CONTEXT=/srv/agent-fleet/image/${short}`);
    const seed = programOf(run.byName("fleet-a1-code").inputs.create);
    expect(seed).toContain("AF_SOURCE=/srv/agent-fleet/upload/code-a1.tar");
    // The operator may `git log` the root-owned folder: exactly it goes into /etc/gitconfig.
    expect(seed).toMatch(/^export AF_TRUST=/m);
    expect(seed).toContain('AF_DIR="$AF_ROOT/agents/$AF_AGENT" AF_GITCONFIG=/etc/gitconfig sh -c "$AF_TRUST"');
    expect(run.byName("fleet-a1-code-upload").inputs.remotePath).toBe("/srv/agent-fleet/upload/code-a1.tar");
  });

  it("re-uploads changed code without re-running the seed step (code is seeded once)", async () => {
    const before = await runProgram(dir, vps());
    fs.writeFileSync(path.join(dir, "agents", "a1", "agent.js"), "console.log('v2');\n");
    const after = await runProgram(dir, vps());
    // The archive is rewritten in place; its asset hash is what the engine diffs.
    expect(changedResources(before, after)).toEqual([]);
  });

  it("exports the host address, the SSH command and agentctl commands that run over SSH", async () => {
    const run = await runProgram(dir, vps());
    expect(run.outputs.target).toBe("vps");
    expect(run.outputs.hostAddress).toBe("192.0.2.10");
    expect(run.outputs.sshCommand).toBe("ssh ops@192.0.2.10");
    const ctl = run.outputs.agentctl as Record<string, string>;
    expect(ctl.proposals).toBe("ssh ops@192.0.2.10 agentctl proposals --state pending");
    expect(ctl.approve).toBe("ssh ops@192.0.2.10 agentctl approve <proposal-id>");
    expect(run.byName("fleet-agentctl").inputs.create).toContain("export AF_PATH=/usr/local/bin/agentctl");
  });

  it("changing allowedCidrs re-runs only the firewall step", async () => {
    const before = await runProgram(dir, vps());
    const after = await runProgram(dir, vps({ allowedCidrs: ["0.0.0.0/0"] }));
    expect(changedResources(before, after)).toEqual(["host-firewall"]);
  });
});
