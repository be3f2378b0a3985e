import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import {
  buildVpsBaseImage,
  docker,
  dockerTry,
  engineDir,
  ensureDockerEngine,
  mustRun,
  run,
  type DockerEngine,
  type RunResult,
} from "../../harness/docker/index.js";
import { plain, type Registered } from "../../unit/program/harness.js";
import { programOf, type StepResult, type StepRunner } from "./steps.js";

/**
 * A throwaway "VPS" for SshHost: a container of its own root file system, users and network
 * namespace, running sshd (key-only, a key made for the test run), with NET_ADMIN for its
 * nftables firewall, reached from the test machine at its address on a bridge.
 *
 * Two engines are involved. The containers suite's engine runs without any network (agent
 * containers need none), so the VPS runs on a second engine with a bridge of its own (named
 * after that engine's folder, never docker0, on a free 172.29.N.0/24, no IP forwarding), so that
 * two runs on one machine (e.g. a CI dry run next to a developer's run) never share a bridge or
 * addresses; the test machine is the bridge's gateway.
 * The VPS's `docker` CLI drives the containers suite's engine through its mounted socket, and the
 * fleet root (and the operator's folder) are mounted at the same path on both sides, so the bind
 * mounts its docker commands ask for resolve on the engine's machine to the same files.
 */

const ENGINE_INSTANCE = "hostprog-vps";

/**
 * The VPS engine's bridge: its name comes from the engine's folder; its network is the one it
 * already has, else a 172.29.N.0/24 that no route of this machine uses yet.
 */
export async function bridgeFor(instanceDir: string): Promise<{ name: string; cidr: string }> {
  const hash = createHash("sha256").update(instanceDir).digest("hex");
  const name = `afhp${hash.slice(0, 8)}`;
  const existing = await run("ip", ["-4", "-o", "address", "show", "dev", name]);
  const current = /\binet (\S+)/.exec(existing.stdout)?.[1];
  if (existing.code === 0 && current) return { name, cidr: current };
  const routes = await mustRun("ip", ["-4", "route", "show"]);
  const start = parseInt(hash.slice(8, 10), 16);
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    if (!routes.includes(`172.29.${n}.`)) return { name, cidr: `172.29.${n}.1/24` };
  }
  throw new Error("no free 172.29.N.0/24 network for the VPS engine's bridge");
}
/** The VPS image: the harness's VPS base (Debian, OpenSSH, sudo, docker.io) plus nftables for SshHost's firewall. */
const MACHINE_LABEL = "agent-fleet.test-machine";
const VPS_IMAGE = { tag: "agent-fleet-test/vps-nft:bookworm", extraPackages: ["nftables"] };

export interface Vps {
  engine: DockerEngine;
  /** The test machine's address on the VPS's network (where SSH sessions come from). */
  testMachineAddress: string;
  /** The VPS's address on the bridge. */
  address: string;
  privateKey: string;
  publicKey: string;
  /** Runs a command over SSH as `user` (what the command provider's session.Run does). */
  ssh(user: string, command: string, input?: string): Promise<RunResult>;
  /** Copies a file as `user` with scp (SFTP, as the provider's CopyToRemote does). */
  scp(user: string, local: string, remotePath: string): Promise<RunResult>;
  /** Can a machine outside allowedCidrs (a container on the same bridge) open a TCP connection to port 22? */
  outsiderReachesSsh(): Promise<boolean>;
  /** Can the test machine open a TCP connection to port 22? */
  testMachineReachesSsh(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface VpsOptions {
  /** Unix socket of the engine the VPS's docker CLI drives. */
  fleetEngineSocket: string;
  /** Folders mounted at the same path inside the VPS. */
  sharedDirs: string[];
  /** Where the test's key pair goes. */
  work: string;
  name: string;
}

const sshOptions = (keyFile: string) => [
  "-F",
  "/dev/null",
  "-i",
  keyFile,
  "-o",
  "IdentitiesOnly=yes",
  "-o",
  "BatchMode=yes",
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  "-o",
  "ConnectTimeout=15",
];

/**
 * A refused connection is retried, as the command provider retries failed dials (SshHost sets
 * dialErrorLimit 40): sshd re-executes itself when harden-ssh reloads it and refuses connections
 * for that moment. A connection that times out (a firewall dropping us) is not retried, so that
 * such a failure shows at once, and nothing after the connection (authentication, the program's
 * own exit code) ever is.
 */
async function dialing(attempt: () => Promise<RunResult>, dialErrorLimit = 40): Promise<RunResult> {
  for (let failures = 0; ; failures++) {
    const r = await attempt();
    const dialFailed = r.code === 255 && /^ssh: connect to host \S+ port \d+: Connection refused/m.test(r.stderr);
    if (!dialFailed || failures + 1 >= dialErrorLimit) return r;
    await new Promise((res) => setTimeout(res, 500));
  }
}

const TCP_PROBE = (address: string) => `exec 3<>/dev/tcp/${address}/22`;

export async function startVps(o: VpsOptions): Promise<Vps> {
  const bridge = await bridgeFor(engineDir(ENGINE_INSTANCE));
  const engine = await ensureDockerEngine({ instance: ENGINE_INSTANCE, bridge });
  const containers: string[] = [];
  const stop = async () => {
    if (containers.length > 0) await dockerTry(engine, ["rm", "-f", ...containers], { timeoutMs: 120_000 });
    await engine.stop();
  };
  try {
    const image = await buildVpsBaseImage(engine, VPS_IMAGE);
    console.log(`[host-programs] VPS image ${image.tag}: ${image.action} in ${image.seconds.toFixed(1)} s`);

    const keyDir = path.join(o.work, "keys");
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const keyFile = path.join(keyDir, "id_ed25519");
    await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "host-programs-test", "-f", keyFile]);
    chmodSync(keyFile, 0o600);
    const publicKey = readFileSync(`${keyFile}.pub`, "utf8").trim();

    // First boot of the "VPS": root may log in with the test key (what a provider's image does);
    // the docker socket belongs to the docker group, as docker.io's socket unit sets it up.
    const boot = [
      "set -e",
      "install -d -m 0700 /root/.ssh",
      "install -m 0600 /af-keys/id_ed25519.pub /root/.ssh/authorized_keys",
      "chgrp docker /var/run/docker.sock && chmod 0660 /var/run/docker.sock",
      "ssh-keygen -A >/dev/null",
      "mkdir -p /run/sshd",
      "exec /usr/sbin/sshd -D -e",
    ].join("\n");
    // Machines of an interrupted earlier run (this engine runs nothing else).
    const stale = (await docker(engine, ["ps", "-aq", "--filter", `label=${MACHINE_LABEL}`]))
      .split("\n")
      .filter(Boolean);
    if (stale.length > 0) await dockerTry(engine, ["rm", "-f", ...stale], { timeoutMs: 120_000 });
    const vps = `${o.name}-vps`;
    containers.push(vps);
    await docker(engine, [
      "run",
      "--detach",
      "--name",
      vps,
      "--label",
      MACHINE_LABEL,
      "--hostname",
      "vps",
      "--cap-add",
      "NET_ADMIN",
      "--mount",
      `type=bind,source=${o.fleetEngineSocket},target=/var/run/docker.sock`,
      "--mount",
      `type=bind,source=${keyDir},target=/af-keys,readonly`,
      ...o.sharedDirs.flatMap((d) => ["--mount", `type=bind,source=${d},target=${d}`]),
      image.tag,
      "/bin/sh",
      "-c",
      boot,
    ]);
    const outsider = `${o.name}-outsider`;
    containers.push(outsider);
    await docker(engine, [
      "run",
      "--detach",
      "--name",
      outsider,
      "--label",
      MACHINE_LABEL,
      "--hostname",
      "outsider",
      image.tag,
      "sleep",
      "infinity",
    ]);
    const address = (await docker(engine, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", vps])).trim();
    if (!address) throw new Error(`the VPS container ${vps} got no address on ${bridge.name}`);

    const ssh = (user: string, command: string, input = "") =>
      dialing(() =>
        run("ssh", [...sshOptions(keyFile), `${user}@${address}`, command], { input, timeoutMs: 15 * 60_000 }),
      );
    // Wait until sshd lets root in (it may still be generating host keys).
    for (let i = 0; ; i++) {
      const r = await ssh("root", "true");
      if (r.code === 0) break;
      const running = (await docker(engine, ["inspect", "--format", "{{.State.Running}}", vps])).trim() === "true";
      if (!running || i >= 20) {
        const logs = await dockerTry(engine, ["logs", "--tail", "30", vps]);
        throw new Error(
          `the VPS's sshd does not let root in${running ? "" : " (the VPS container stopped)"}: ${r.stderr}\n${logs.stdout}${logs.stderr}`,
        );
      }
      await new Promise((res) => setTimeout(res, 500));
    }

    return {
      engine,
      testMachineAddress: bridge.cidr.split("/")[0]!,
      address,
      privateKey: readFileSync(keyFile, "utf8"),
      publicKey,
      ssh,
      scp: (user, local, remotePath) =>
        dialing(() =>
          run("scp", [...sshOptions(keyFile), "-q", local, `${user}@${address}:${remotePath}`], {
            timeoutMs: 15 * 60_000,
          }),
        ),
      outsiderReachesSsh: async () =>
        (
          await dockerTry(engine, ["exec", outsider, "timeout", "5", "bash", "-c", TCP_PROBE(address)], {
            timeoutMs: 60_000,
          })
        ).code === 0,
      // Up to three tries of 10 s: on a loaded machine one probe can time out before it connects
      // (a dropped SYN would time out every time, so a refusal still shows).
      testMachineReachesSsh: async () => {
        for (let i = 0; i < 3; i++) {
          if ((await run("timeout", ["10", "bash", "-c", TCP_PROBE(address)])).code === 0) return true;
        }
        return false;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs `command:remote:Command` programs and `remote:CopyToRemote` uploads over real SSH, as the
 * command provider does: the command string goes to the login shell of the connection's user
 * (ssh's remote command), with the resource's stdin; a file is copied as that user with SFTP.
 * Host, port and user come from each resource's own `connection` input.
 */
export class SshRunner implements StepRunner {
  readonly types = ["command:remote:Command", "command:remote:CopyToRemote"] as const;
  readonly log: StepResult[] = [];

  constructor(private readonly vps: Vps) {}

  private connection(step: Registered): { host: string; port: number; user: string } {
    const c = plain(step.inputs.connection) as { host: string; port: number; user: string; privateKey: string };
    if (c.host !== this.vps.address || c.port !== 22)
      throw new Error(`${step.name} connects to ${c.host}:${c.port}, not the VPS`);
    if (c.privateKey !== this.vps.privateKey) throw new Error(`${step.name} does not carry the configured private key`);
    return c;
  }

  async exec(step: Registered, program: "create" | "delete"): Promise<StepResult> {
    const { user } = this.connection(step);
    let r: RunResult;
    if (step.type === "command:remote:CopyToRemote") {
      if (program === "delete") throw new Error("CopyToRemote has no delete program");
      const local = await (step.inputs.source as { path: Promise<string> }).path;
      r = await this.vps.scp(user, local, step.inputs.remotePath as string);
    } else {
      const { text, stdin } = programOf(step, program);
      r = await this.vps.ssh(user, text, stdin ?? "");
    }
    const result = {
      name: step.name,
      program: step.type.endsWith("CopyToRemote") ? ("upload" as const) : program,
      ...r,
    };
    this.log.push(result);
    return result;
  }
}
