// Manual check of the vps target without a Pulumi engine (not a vitest file; needs root, dockerd,
// and a "VPS" image: the e2e suite's buildVpsBaseImage with nftables added). Runs the program under
// mocks for target vps, then runs every host program it registered, in dependency order, inside a
// container that plays the VPS (its own network namespace with NET_ADMIN for the firewall, the
// Docker socket of the private engine mounted, the fleet root at the same path on both sides).
// `docker exec -u <login user>` stands in for the SSH session; `docker cp` for SFTP.
//   npx tsx test/unit/program/manual-vps-run.ts up|again|destroy   (again: up on the same machine)
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { dockerEnv, ensureDockerEngine } from "../../harness/docker/index.js";
import { plain, runProgram, type ProgramRun } from "./harness.js";

const repo = path.resolve(__dirname, "../../..");
const root = "/srv/af-vps-sim";
const vps = "af-vps-sim";
const image = "agent-fleet-test/vps-nft:bookworm";
const PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMuZ8Qj8pS6b7W4yXlM0CqR3vT2mN9dK1eH5aF7sB0Lx ops@sim";

function order(run: ProgramRun): string[] {
  const rank = (n: string) =>
    ["host-wait-ready", "host-ensure-user", "host-docker", "host-host-dirs", "host-firewall", "host-harden-ssh"].includes(n)
      ? ["host-wait-ready", "host-ensure-user", "host-docker", "host-host-dirs", "host-firewall", "host-harden-ssh"].indexOf(n)
      : n === "fleet-image-context" || n.endsWith("-code-upload") ? 10 : n === "fleet-image" ? 11 : n === "fleet-dirs" ? 12 :
      n === "fleet-agentctl" ? 13 : n.endsWith("-code") ? 14 : n.endsWith("-secrets") ? 15 : n.endsWith("-container") ? 16 :
      n.endsWith("-run") ? 17 : 18;
  return run.resources.filter((r) => r.type.startsWith("command:remote:")).map((r) => r.name).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function sh(env: NodeJS.ProcessEnv, args: string[], input = "") {
  return spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8", env, maxBuffer: 64 << 20 });
}

async function main() {
  const engine = await ensureDockerEngine({ instance: "program-sim" });
  const env = dockerEnv(engine);
  const phase = process.argv[2] ?? "up";
  const base = "agent-fleet-test/base:bookworm";
  if (phase === "up") {
    sh(env, ["docker", "rm", "-f", vps]);
    fs.mkdirSync(root, { recursive: true });
    const r = sh(env, [
      "docker", "run", "-d", "--name", vps, "--hostname", "vps", "--network", "none", "--cap-add", "NET_ADMIN",
      "--mount", `type=bind,source=${engine.socket},target=/var/run/docker.sock`,
      "--mount", `type=bind,source=${root},target=${root}`, image,
    ]);
    if (r.status !== 0) throw new Error(r.stderr);
  }
  const run = await runProgram(repo, {
    config: {
      target: "vps", fleetName: "vsim", hostRoot: root,
      vps: { host: "192.0.2.10" },
      ssh: { user: "ops", bootstrapUser: "root", publicKey: PUB, allowedCidrs: ["192.0.2.0/24"], privateKey: "unused" },
      image: { baseImage: base },
      agents: [{ name: "one", code: "agents/agent-1" }, { name: "two", code: "agents/agent-1", approvalRequired: false }],
    },
    secretKeys: ["agent-fleet:ssh"],
  }, { stackName: "vsim" });
  const names = order(run);
  for (const name of phase === "destroy" ? [...names].reverse() : names) {
    const r = run.byName(name);
    const conn = plain(r.inputs.connection) as { user: string };
    const t0 = Date.now();
    let res;
    if (r.type === "command:remote:CopyToRemote") {
      if (phase === "destroy") continue;
      const local = await (r.inputs.source as { path: Promise<string> }).path;
      res = sh(env, ["docker", "cp", local, `${vps}:${r.inputs.remotePath}`]);
      sh(env, ["docker", "exec", vps, "chown", conn.user, r.inputs.remotePath]);
    } else {
      const program = phase === "destroy" ? r.inputs.delete : r.inputs.create;
      if (!program) continue;
      res = sh(env, ["docker", "exec", "-i", "-u", conn.user, vps, "bash", "-c", program], plain(r.inputs.stdin) ?? "");
    }
    console.log(`--- ${name} (${conn.user}): exit ${res.status} in ${Date.now() - t0} ms\n${(res.stdout + res.stderr).trim().slice(-1200)}`);
    if (res.status !== 0) throw new Error(`${name} failed`);
  }
  console.log(JSON.stringify(run.outputs.agentctl, null, 1));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
