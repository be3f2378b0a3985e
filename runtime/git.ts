import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The attributes every path gets in every repository the runtime's git works on (/app, and the
 * private git dir a change is extracted with), above anything in the tree (`$GIT_DIR/info/attributes`
 * has the highest precedence): no filter, no end-of-line or encoding conversion, no `$Id$`
 * expansion, `diff` unspecified (git decides text or binary from the bytes alone: a tracked
 * `.gitattributes` saying `binary` or `-diff` cannot turn a text change into an opaque delta), and
 * `merge` unspecified (a 3-way apply uses git's own text merge, never `union` or a named driver).
 * So a patch is built, shown and applied byte for byte, whatever attribute files it adds.
 */
export const FIXED_ATTRIBUTES = "* !diff -text !eol -filter -ident !working-tree-encoding !merge";

/**
 * Configuration every runtime git command gets (as command-line scope, above any repository's
 * own config): nothing external runs (no fsmonitor, hooks) and no user attribute
 * file or end-of-line conversion changes bytes. `attributes` below says which attributes count.
 */
const FIXED_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ["safe.directory", "*"],
  ["init.defaultBranch", "main"],
  ["core.hooksPath", "/dev/null"],
  ["commit.gpgSign", "false"],
  // gc --auto must not outlive the command that started it (clones of /app run under a lock).
  ["gc.autoDetach", "false"],
  ["core.fsmonitor", "false"],
  ["core.attributesFile", "/dev/null"],
  ["core.autocrlf", "false"],
  ["core.safecrlf", "false"],
  ["core.symlinks", "true"],
];

/**
 * Make FIXED_ATTRIBUTES the attributes of the repository whose git dir is `gitDir` (written only
 * when different). For a git dir only the runtime can write (/app's).
 */
export function pinAttributes(gitDir: string): void {
  const file = path.join(gitDir, "info", "attributes");
  const want = FIXED_ATTRIBUTES + "\n";
  try {
    if (fs.readFileSync(file, "utf8") === want) return;
  } catch {
    // missing: written below
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, want);
}

/**
 * git, run with a fixed environment (FIXED_CONFIG): no system or global config (a read-only root has no
 * writable ~, and a developer's ~/.gitconfig must not change what the runtime does), every
 * directory trusted (the runtime, as root, works on repos owned by another uid on dev machines;
 * the agent user clones /app, owned by root), identity from the environment.
 */
export function gitEnv(extra: Record<string, string> = {}, home?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home ?? "/nonexistent",
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ATTR_NOSYSTEM: "1",
    GIT_CONFIG_COUNT: String(FIXED_CONFIG.length),
    ...Object.fromEntries(
      FIXED_CONFIG.flatMap(([k, v], i) => [
        [`GIT_CONFIG_KEY_${i}`, k],
        [`GIT_CONFIG_VALUE_${i}`, v],
      ]),
    ),
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "agent-fleet",
    GIT_AUTHOR_EMAIL: "runtime@agent-fleet.invalid",
    GIT_COMMITTER_NAME: "agent-fleet runtime",
    GIT_COMMITTER_EMAIL: "runtime@agent-fleet.invalid",
    ...extra,
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout as bytes (for output that need not be UTF-8). */
  stdoutBytes: Buffer;
  stderr: string;
  /** True when stdout passed maxStdout and was cut. */
  truncated: boolean;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  uid?: number;
  gid?: number;
  maxStdout?: number;
}

/** Run a short command to completion, capturing output (stdout bounded). */
export function run(cmd: string, args: string[], o: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? gitEnv(),
      stdio: ["pipe", "pipe", "pipe"],
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.gid !== undefined ? { gid: o.gid } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let truncated = false;
    const max = o.maxStdout ?? 64 * 1024 * 1024;
    child.stdout.on("data", (b: Buffer) => {
      if (outLen + b.length > max) {
        truncated = true;
        child.kill("SIGKILL");
        return;
      }
      out.push(b);
      outLen += b.length;
    });
    child.stderr.on("data", (b: Buffer) => {
      if (err.length < 256) err.push(b);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const bytes = Buffer.concat(out);
      resolve({
        code,
        signal,
        stdout: bytes.toString("utf8"),
        stdoutBytes: bytes,
        stderr: Buffer.concat(err).toString("utf8"),
        truncated,
      });
    });
    child.stdin.on("error", () => {
      /* the command may exit before reading its input */
    });
    child.stdin.end(o.input ?? "");
  });
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** git in `cwd`; throws GitError on a non-zero exit. */
export async function git(cwd: string, args: string[], o: Partial<RunOptions> = {}): Promise<string> {
  const r = await run("git", args, { cwd, env: gitEnv(), ...o });
  if (r.code !== 0) throw new GitError(args, r);
  return r.stdout;
}

export async function gitTry(cwd: string, args: string[], o: Partial<RunOptions> = {}): Promise<RunResult> {
  return run("git", args, { cwd, env: gitEnv(), ...o });
}

/**
 * HEAD's commit, read from the files (no process: this runs once or twice per task). Falls back
 * to `git rev-parse` for anything unusual (packed refs only, worktrees, a .git file).
 */
export async function readHead(repo: string): Promise<string> {
  const gitDir = path.join(repo, ".git");
  try {
    const head = fs.readFileSync(path.join(gitDir, "HEAD"), "utf8").trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const m = /^ref: (refs\/[^\s]+)$/.exec(head);
    if (m) {
      const sha = fs.readFileSync(path.join(gitDir, m[1]!), "utf8").trim();
      if (/^[0-9a-f]{40}$/.test(sha)) return sha;
    }
  } catch {
    // fall through
  }
  return (await git(repo, ["rev-parse", "HEAD"])).trim();
}
