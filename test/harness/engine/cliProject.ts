/**
 * The path a user takes, for the real-CLI scenarios: a copy of the project (the whole repository
 * tree minus node_modules/.git/dist and local state, node_modules linked package by package), a stack created with
 * `pulumi stack init`, its generated config merged into stacks/Pulumi.<stack>.yaml, secrets set with
 * `pulumi config set --secret`, and plain `pulumi up` / `preview` / `refresh` / `destroy` processes
 * (the CLI starts the Node.js language host, which runs index.ts, which drives the command
 * provider). Nothing in between: no Automation API, no mocks.
 *
 * Results come from the CLI's own machine-readable answers: `pulumi stack history --json` (the
 * resource changes of the last update), `pulumi preview --json` (each step's operation and URN) and
 * `pulumi stack output --json`.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { REPO_ROOT, type EngineContext } from "./engineContext.js";

/** Top-level entries of the repository never copied: dependencies (linked instead), VCS, build output, local state. */
const NOT_COPIED = new Set(["node_modules", ".git", "dist", ".agent-fleet", ".pulumi-state", ".test-tmp", ".ci"]);

/**
 * Copies the repository tree to `dest` (a folder that must not exist yet) and links its
 * node_modules. A copy, so that the scenarios' stack files, state and host roots never touch the
 * working tree, and edits made there during a run cannot change the program mid-scenario.
 */
export function copyProject(dest: string): string {
  mkdirSync(dest, { recursive: true });
  cpSync(REPO_ROOT, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(REPO_ROOT, src);
      return rel === "" || !NOT_COPIED.has(rel.split(path.sep)[0]!);
    },
  });
  linkNodeModules(dest);
  return dest;
}

/**
 * `<dest>/node_modules`: a folder of links to the repository's packages, except the packages the
 * agent image's build context takes (`!node_modules/...` lines of .dockerignore: the build stage
 * compiles the runtime with them), which are copied, because a build context carries a link as a
 * link, not the folder it points to.
 */
function linkNodeModules(dest: string): void {
  const from = path.join(REPO_ROOT, "node_modules");
  const to = path.join(dest, "node_modules");
  const inContext = new Set(
    readFileSync(path.join(REPO_ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("!node_modules/"))
      .map((l) => l.slice("!node_modules/".length).replace(/\/+$/, "")),
  );
  const place = (rel: string) => {
    if (inContext.has(rel)) cpSync(path.join(from, rel), path.join(to, rel), { recursive: true, dereference: true });
    else symlinkSync(path.join(from, rel), path.join(to, rel));
  };
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    const scoped = entry.startsWith("@") && [...inContext].some((p) => p.startsWith(`${entry}/`));
    if (!scoped) {
      place(entry);
      continue;
    }
    mkdirSync(path.join(to, entry));
    for (const sub of readdirSync(path.join(from, entry))) place(`${entry}/${sub}`);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A step of `pulumi preview --json`. */
export interface PreviewStep {
  op: string;
  urn: string;
}

export interface CliStackOptions {
  engine: EngineContext;
  /** The project copy (copyProject). */
  projectDir: string;
  stackName: string;
  /** Extra environment for the CLI, and through it the language host and the providers (DOCKER_HOST, ...). */
  env?: Record<string, string>;
  /** Upper bound for one CLI run; it is killed past it. Default 20 minutes. */
  timeoutMs?: number;
}

export class CliOperationError extends Error {
  constructor(
    readonly args: string[],
    readonly result: CliResult,
  ) {
    super(`pulumi ${args.join(" ")} exited ${result.code}:\n${tail(result.stdout + result.stderr, 6000)}`);
    this.name = "CliOperationError";
  }
}

function tail(s: string, n: number): string {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

export class CliStack {
  /** Wall time of each CLI run (figures for reports, never asserted). */
  readonly timings: { op: string; ms: number }[] = [];

  constructor(private readonly o: CliStackOptions) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(o.stackName))
      throw new Error(`stack name must be a lowercase DNS label, got '${o.stackName}'`);
  }

  get name(): string {
    return this.o.stackName;
  }

  get stackFile(): string {
    return path.join(this.o.projectDir, "stacks", `Pulumi.${this.o.stackName}.yaml`);
  }

  /** Runs `pulumi <args>` in the project copy; never throws on the exit code. */
  run(args: string[], input = ""): Promise<CliResult> {
    const started = Date.now();
    const timeoutMs = this.o.timeoutMs ?? 20 * 60_000;
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", args, {
        cwd: this.o.projectDir,
        env: { ...process.env, ...this.o.engine.env, ...this.o.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        stderr += `\n[harness] pulumi ${args.join(" ")} killed after ${timeoutMs} ms\n`;
        child.kill("SIGKILL");
      }, timeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
      });
      child.stdin.end(input);
    });
  }

  /** Like `run`, but throws `CliOperationError` unless the CLI succeeded; records the wall time. */
  async ok(args: string[], input = ""): Promise<CliResult> {
    const r = await this.run(args, input);
    this.timings.push({
      op: args[0] === "config" || args[0] === "stack" ? `${args[0]} ${args[1]}` : args[0]!,
      ms: r.ms,
    });
    if (r.code !== 0) throw new CliOperationError(args, r);
    return r;
  }

  /**
   * `pulumi stack init`, then the generated config (keys without a namespace get the project's;
   * values may be structured, as a stack file holds them) merged into the stack file the CLI wrote,
   * then each secret with `pulumi config set --secret [--path] KEY` reading the value from stdin.
   */
  async init(config: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<void> {
    await this.ok(["stack", "init", this.name, "--secrets-provider", "passphrase", "--non-interactive"]);
    const file = parse(readFileSync(this.stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
    const doc = { ...(file ?? {}), config: { ...(file?.config ?? {}) } };
    for (const [k, v] of Object.entries(config)) doc.config[k.includes(":") ? k : `agent-fleet:${k}`] = v;
    writeFileSync(this.stackFile, stringify(doc));
    for (const [key, value] of Object.entries(secrets)) {
      await this.ok(
        ["config", "set", "--secret", ...(key.includes(".") ? ["--path"] : []), key, "--stack", this.name],
        value,
      );
    }
  }

  /** `pulumi config set KEY VALUE` as a user types it (the CLI decides how to store the value). */
  async configSet(key: string, value: string, opts: { path?: boolean } = {}): Promise<void> {
    await this.ok(["config", "set", ...(opts.path ? ["--path"] : []), key, value, "--stack", this.name]);
  }

  private common(): string[] {
    return ["--stack", this.name, "--non-interactive", "--color", "never"];
  }

  /** `pulumi up --yes --skip-preview`; returns the update's resource changes. */
  async up(opts: { expectNoChanges?: boolean } = {}): Promise<Record<string, number>> {
    await this.ok([
      "up",
      "--yes",
      "--skip-preview",
      ...(opts.expectNoChanges ? ["--expect-no-changes"] : []),
      ...this.common(),
    ]);
    return this.lastChanges();
  }

  /** `pulumi up` that must fail; returns what the CLI printed. */
  async upFailing(): Promise<CliResult> {
    const r = await this.run(["up", "--yes", "--skip-preview", ...this.common()]);
    this.timings.push({ op: "up (failing)", ms: r.ms });
    if (r.code === 0)
      throw new Error(`pulumi up on ${this.name} succeeded, a failure was expected:\n${tail(r.stdout, 3000)}`);
    return r;
  }

  /** `pulumi preview --json`: each step's operation and URN. */
  async preview(): Promise<PreviewStep[]> {
    const r = await this.ok(["preview", "--json", ...this.common()]);
    const doc = JSON.parse(r.stdout) as { steps?: { op: string; urn: string }[] };
    return (doc.steps ?? []).map(({ op, urn }) => ({ op, urn }));
  }

  /** `pulumi refresh --yes --skip-preview`; returns the refresh's resource changes. */
  async refresh(): Promise<Record<string, number>> {
    await this.ok(["refresh", "--yes", "--skip-preview", ...this.common()]);
    return this.lastChanges();
  }

  /** `pulumi destroy --yes --skip-preview`; returns the resource changes. */
  async destroy(): Promise<Record<string, number>> {
    await this.ok(["destroy", "--yes", "--skip-preview", ...this.common()]);
    return this.lastChanges();
  }

  /** `pulumi stack output --json --show-secrets`. */
  async outputs(): Promise<Record<string, any>> {
    const r = await this.ok(["stack", "output", "--json", "--show-secrets", "--stack", this.name]);
    return JSON.parse(r.stdout) as Record<string, any>;
  }

  /** The resource changes of the stack's last update, refresh or destroy (`pulumi stack history --json`). */
  async lastChanges(): Promise<Record<string, number>> {
    const r = await this.run(["stack", "history", "--json", "--stack", this.name]);
    if (r.code !== 0) throw new CliOperationError(["stack", "history"], r);
    const history = JSON.parse(r.stdout) as { resourceChanges?: Record<string, number> }[];
    return history[0]?.resourceChanges ?? {};
  }

  /** Every resource URN and type in the state (`pulumi stack export`). */
  async resources(): Promise<{ urn: string; type: string }[]> {
    const r = await this.run(["stack", "export", "--stack", this.name]);
    if (r.code !== 0) throw new CliOperationError(["stack", "export"], r);
    const doc = JSON.parse(r.stdout) as { deployment?: { resources?: { urn: string; type: string }[] } };
    return (doc.deployment?.resources ?? []).map(({ urn, type }) => ({ urn, type }));
  }

  /** Destroys (when anything is left) and removes the stack and its stack file; for `finally` blocks. */
  async remove(): Promise<void> {
    try {
      if ((await this.resources()).some((r) => r.type !== "pulumi:pulumi:Stack")) await this.destroy();
    } finally {
      await this.run(["stack", "rm", "--yes", "--force", "--stack", this.name]);
      rmSync(this.stackFile, { force: true });
      const line = this.timings.map((t) => `${t.op} ${(t.ms / 1000).toFixed(1)}s`).join(", ");
      process.stderr.write(`[e2e-hosts] stack ${this.name}: ${line}\n`);
    }
  }
}
