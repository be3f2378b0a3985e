import { DEFAULT_NETWORK, DEFAULT_RESOURCES } from "../../config/defaults.js";
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { inject } from "vitest";
import { agentctlWrapperScript } from "../../fleet/agentctlWrapper.js";
import { hostLayout, type HostLayout } from "../../hosts/hostLayout.js";
import { containerSpec, dockerRunArgs, type AgentContainerSettings, type ContainerSpec } from "../../fleet/spec.js";
import { docker, dockerEnv, dockerTry, run, type DockerTarget, type RunResult } from "../harness/docker/index.js";
import { REPO_ROOT } from "../harness/docker/agentImage.js";
import { TEST_FLEET_LABEL, TEST_FLEET_PREFIX } from "./constants.js";

/**
 * A fleet on the test's "host": a host root laid out as on a real Docker host (hostLayout), the
 * real host-side `agentctl` wrapper installed in a bin dir, and agent containers started from
 * `containerSpec` + `dockerRunArgs` exactly as the Pulumi layer will start them (argv, no shell).
 */

export { TEST_FLEET_LABEL, TEST_FLEET_PREFIX };

const WORK_ROOT = process.env.AGENT_FLEET_CTEST_DIR ?? "/var/tmp/agent-fleet-ctest";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Thrown by a probe when the awaited state can no longer be reached: waitFor stops at once. */
export class FinalStateError extends Error {}

/**
 * Polls `probe` until it returns a value (not undefined, and not `false`: a probe written as a
 * condition, `… === 200`, means "not yet" by false) or the bound passes; the bound is a failure
 * limit for a hung system, never a speed assertion.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof FinalStateError) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last error: ${(last as Error).message}` : ""}`,
      );
    }
    await sleep(everyMs);
  }
}

export interface AgentOptions {
  approvalRequired?: boolean;
  capabilities?: string[];
  env?: Record<string, string>;
  /** Contents of `<root>/secrets/<name>.env`; the agent gets an --env-file when set. */
  secrets?: string;
}

export interface MemoryFigures {
  /** docker stats MemUsage (on cgroup v1: usage minus page cache). */
  statsMiB: number;
  cgroupUsageMiB?: number;
  cgroupRssMiB?: number;
  /** VmRSS of each process in the container, from the host's /proc. */
  processes: Array<{ args: string; rssMiB: number }>;
}

export class TestFleet {
  readonly target: DockerTarget;
  readonly image: string;
  readonly layout: HostLayout;
  /** Where the operator runs agentctl from (instruction files live here). */
  readonly opsDir: string;
  readonly agentctlPath: string;
  private readonly agents = new Map<string, AgentOptions>();

  private constructor(
    readonly fleet: string,
    readonly root: string,
  ) {
    const ctx = inject("containers");
    this.target = { host: ctx.dockerHost, cli: ctx.dockerCli };
    this.image = ctx.image;
    this.layout = hostLayout(path.join(root, "srv"));
    this.opsDir = path.join(root, "ops");
    const bin = path.join(root, "bin");
    for (const d of [
      this.layout.agentsDir,
      this.layout.sharedDir,
      this.layout.decisionsDir,
      this.layout.secretsDir,
      this.opsDir,
      bin,
    ]) {
      mkdirSync(d, { recursive: true, mode: 0o755 });
    }
    chmodSync(this.layout.secretsDir, 0o700);
    // The real host-side wrapper, talking to the test engine through DOCKER_HOST.
    this.agentctlPath = path.join(bin, "agentctl");
    writeFileSync(
      this.agentctlPath,
      agentctlWrapperScript({ image: this.image, hostRoot: this.layout.root, docker: this.target.cli }),
      { mode: 0o755 },
    );
  }

  static create(name: string): TestFleet {
    mkdirSync(WORK_ROOT, { recursive: true });
    const fleet = `${TEST_FLEET_PREFIX}${name}-${randomBytes(3).toString("hex")}`;
    return new TestFleet(fleet, mkdtempSync(path.join(WORK_ROOT, `${fleet}-`)));
  }

  /** Copies an agent's code folder (from agents/ or a fixture) to `<root>/agents/<name>`. */
  addAgent(name: string, source: string, opts: AgentOptions = {}): void {
    const dest = this.layout.agentCodeDir(name);
    cpSync(path.isAbsolute(source) ? source : path.join(REPO_ROOT, source), dest, { recursive: true });
    if (opts.secrets !== undefined) {
      writeFileSync(this.layout.secretsFile(name), opts.secrets, { mode: 0o600 });
    }
    this.agents.set(name, opts);
  }

  settings(name: string, over: Partial<AgentContainerSettings> = {}): AgentContainerSettings {
    const o = this.agents.get(name);
    if (!o) throw new Error(`agent ${name} was not added to fleet ${this.fleet}`);
    return {
      name,
      fleet: this.fleet,
      image: this.image,
      hostRoot: this.layout.root,
      approvalRequired: o.approvalRequired ?? true,
      capabilities: o.capabilities ?? [],
      // Quicker polling than production defaults keeps the suite short; semantics are the same.
      env: { AGENT_POLL_MS: "300", ...(o.env ?? {}) },
      hasSecrets: o.secrets !== undefined,
      resources: { ...DEFAULT_RESOURCES, memoryMb: 512 },
      network: DEFAULT_NETWORK,
      ...over,
    };
  }

  spec(name: string, over: Partial<AgentContainerSettings> = {}): ContainerSpec {
    return containerSpec(this.settings(name, over));
  }

  /** `docker run` with the spec's argv; returns the spec and the time the run was issued. */
  async start(
    name: string,
    over: Partial<AgentContainerSettings> = {},
  ): Promise<{ spec: ContainerSpec; issuedAt: number }> {
    const spec = this.spec(name, over);
    const issuedAt = Date.now();
    await docker(this.target, dockerRunArgs(spec), { timeoutMs: 120_000 });
    return { spec, issuedAt };
  }

  containerName(name: string): string {
    return `${this.fleet}-${name}`;
  }

  async inspect(name: string): Promise<any> {
    const out = await docker(this.target, ["inspect", this.containerName(name)]);
    return JSON.parse(out)[0];
  }

  async health(name: string): Promise<string> {
    return (
      await docker(this.target, [
        "inspect",
        "--format",
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
        this.containerName(name),
      ])
    ).trim();
  }

  /** Waits for Docker's health status `healthy`; returns when it was seen. */
  async waitHealthy(name: string, timeoutMs = 180_000): Promise<number> {
    return waitFor(
      `${this.containerName(name)} to be healthy`,
      async () => {
        const h = await this.health(name);
        if (h === "unhealthy") {
          const logs = await dockerTry(this.target, ["logs", "--tail", "40", this.containerName(name)]);
          throw new Error(`${this.containerName(name)} is unhealthy:\n${logs.stdout}${logs.stderr}`);
        }
        return h === "healthy" ? Date.now() : undefined;
      },
      timeoutMs,
      250,
    );
  }

  /**
   * Create-to-healthy figures from Docker's own records: the container's creation time and the
   * end of its first passing health check (independent of how often the test polls).
   */
  async startFigures(name: string): Promise<{ createdToHealthyMs: number; firstCheckMs: number | undefined }> {
    const c = await this.inspect(name);
    const created = Date.parse(c.Created);
    const started = Date.parse(c.State.StartedAt);
    const log: Array<{ Start: string; End: string; ExitCode: number }> = c.State.Health?.Log ?? [];
    const ok = log.find((l) => l.ExitCode === 0 && Date.parse(l.Start) >= started);
    if (!ok) throw new Error(`${this.containerName(name)} has no passing health check in its log`);
    return { createdToHealthyMs: Date.parse(ok.End) - created, firstCheckMs: Date.parse(log[0]!.End) - created };
  }

  /** Memory of one container: `docker stats` and the cgroup's own figures (v1 or v2). */
  async memoryFigures(name: string): Promise<MemoryFigures> {
    const stats = JSON.parse(
      await docker(this.target, ["stats", "--no-stream", "--format", "{{json .}}", this.containerName(name)]),
    );
    const used = String(stats.MemUsage).split("/")[0]!.trim();
    const m = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(used);
    if (!m) throw new Error(`cannot read docker stats MemUsage "${stats.MemUsage}"`);
    const unit: Record<string, number> = {
      B: 1 / 1048576,
      KiB: 1 / 1024,
      KB: 1 / 1024,
      MiB: 1,
      MB: 1,
      GiB: 1024,
      GB: 1024,
    };
    const processes = (await this.processes(name)).map((p) => {
      const status = readFileSync(`/proc/${p.pid}/status`, "utf8");
      return { args: p.args, rssMiB: Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024 };
    });
    const out: MemoryFigures = { statsMiB: Number(m[1]) * unit[m[2]!]!, processes };
    const id = (await this.inspect(name)).Id as string;
    const MiB = (bytes: string | undefined) => (bytes === undefined ? undefined : Number(bytes) / 1048576);
    const read = (f: string) => {
      try {
        return readFileSync(f, "utf8");
      } catch {
        return undefined;
      }
    };
    const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
    const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope`;
    const usage =
      read(`${v1}/memory.usage_in_bytes`) ??
      read(`${v2}/memory.current`) ??
      read(`/sys/fs/cgroup/docker/${id}/memory.current`);
    const stat =
      read(`${v1}/memory.stat`) ?? read(`${v2}/memory.stat`) ?? read(`/sys/fs/cgroup/docker/${id}/memory.stat`);
    const usageMiB = MiB(usage?.trim());
    if (usageMiB !== undefined) out.cgroupUsageMiB = usageMiB;
    const rss = stat ? /^(?:total_rss|anon) (\d+)$/m.exec(stat)?.[1] : undefined;
    const rssMiB = MiB(rss);
    if (rssMiB !== undefined) out.cgroupRssMiB = rssMiB;
    return out;
  }

  /** Host pids of the container's processes with their command lines (docker top). */
  async processes(name: string): Promise<Array<{ pid: number; user: string; args: string }>> {
    const out = await docker(this.target, ["top", this.containerName(name), "-eo", "pid,user,args"]);
    return out
      .split("\n")
      .slice(1)
      .filter((l) => l.trim() !== "")
      .map((l) => {
        const [, pid, user, args] = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l)!;
        return { pid: Number(pid), user: user!, args: args! };
      });
  }

  /** Any docker command against the fleet's engine. */
  docker(args: string[]): Promise<string> {
    return docker(this.target, args, { timeoutMs: 180_000 });
  }

  async remove(name: string): Promise<void> {
    await docker(this.target, ["rm", "-f", this.containerName(name)], { timeoutMs: 120_000 });
  }

  /** Runs the host-side agentctl wrapper from the ops dir. */
  agentctl(args: string[], input?: string): Promise<RunResult> {
    return run(this.agentctlPath, args, {
      cwd: this.opsDir,
      env: dockerEnv(this.target),
      timeoutMs: 120_000,
      ...(input !== undefined ? { input } : {}),
    });
  }

  async agentctlOk(args: string[], input?: string): Promise<string> {
    const r = await this.agentctl(args, input);
    if (r.code !== 0)
      throw new Error(`agentctl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async agentctlJson<T = any>(args: string[]): Promise<T> {
    return JSON.parse(await this.agentctlOk([...args, "--json"])) as T;
  }

  /** Queues a task for one agent whose instructions are `instructions` (written to the ops dir). */
  async addTask(
    title: string,
    instructions: string,
    target: { agent?: string; capability?: string } = {},
  ): Promise<string> {
    const file = `task-${randomBytes(4).toString("hex")}.md`;
    writeFileSync(path.join(this.opsDir, file), instructions);
    const args = ["task", "add", "--title", title, "--instructions", `./${file}`];
    if (target.agent) args.push("--agent", target.agent);
    if (target.capability) args.push("--capability", target.capability);
    const id = (await this.agentctlOk(args)).trim();
    if (!/^t-/.test(id)) throw new Error(`agentctl task add printed "${id}", not a task id`);
    return id;
  }

  async task(id: string): Promise<any> {
    return this.agentctlJson(["task", "show", id]);
  }

  async proposals(agent?: string): Promise<any[]> {
    return this.agentctlJson(["proposals", ...(agent ? ["--agent", agent] : [])]);
  }

  /** Waits for the proposal made for task `taskId` to be in one of `states`. */
  async waitProposal(taskId: string, states: string[], timeoutMs = 180_000): Promise<any> {
    return waitFor(
      `a proposal for ${taskId} in state ${states.join("|")}`,
      async () => {
        const p = (await this.proposals()).find((x) => x.task_id === taskId);
        if (p && !states.includes(p.state) && ["rejected", "conflict", "rolled-back"].includes(p.state)) {
          throw new FinalStateError(`proposal ${p.id} for ${taskId} ended ${p.state}: ${p.reason}`);
        }
        if (!p) {
          // A task that failed will never make a proposal: say why at once.
          const t = await this.task(taskId);
          if (t.status === "failed")
            throw new FinalStateError(
              `task ${taskId} failed instead of making a proposal: ${JSON.stringify(t.result ?? t.last_error)}`,
            );
        }
        return p && states.includes(p.state) ? p : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  async waitTask(taskId: string, statuses: string[], timeoutMs = 180_000): Promise<any> {
    return waitFor(
      `task ${taskId} to be ${statuses.join("|")}`,
      async () => {
        const t = await this.task(taskId);
        return statuses.includes(t.status) ? t : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  /** The runtime's log of one agent as parsed JSON lines (from the shared dir, via agentctl). */
  async logs(agent: string): Promise<any[]> {
    const out = await this.agentctlOk(["logs", "--agent", agent, "--json"]);
    return out
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l));
  }

  /** git in an agent's code folder on the host. */
  async git(agent: string, args: string[]): Promise<string> {
    const r = await run("git", ["-c", "safe.directory=*", ...args], {
      cwd: this.layout.agentCodeDir(agent),
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} in ${agent}'s code folder failed: ${r.stderr}`);
    return r.stdout;
  }

  readAgentFile(agent: string, rel: string): string {
    return readFileSync(path.join(this.layout.agentCodeDir(agent), rel), "utf8");
  }

  /** Removes every container of this fleet and (unless AGENT_FLEET_KEEP_CTEST=1) its files. */
  async destroy(): Promise<void> {
    const ids = (await docker(this.target, ["ps", "-aq", "--filter", `label=${TEST_FLEET_LABEL}=${this.fleet}`]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await dockerTry(this.target, ["rm", "-f", ...ids], { timeoutMs: 120_000 });
    if (process.env.AGENT_FLEET_KEEP_CTEST !== "1") {
      await run("rm", ["-rf", "--one-file-system", this.root]);
    }
  }
}

/** A fenced edit block for agents/agent-1 (see its agent.mjs): the instructions of a task. */
export function agent1Instructions(edits: unknown[]): string {
  return `Edit files as below.\n\n\`\`\`json\n${JSON.stringify({ edits }, null, 2)}\n\`\`\`\n`;
}
