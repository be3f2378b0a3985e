import * as fs from "node:fs";
import * as path from "node:path";
import { git, gitEnv, gitTry } from "../git.js";
import { randomHex } from "../ids.js";
import type { AgentLogger } from "../log.js";
import type { Proposal } from "../proposals/proposal.js";
import { spaceProblem } from "../repo/appRepo.js";
import { projectApplyMessage, proposalGrep } from "../repo/commitMessages.js";
import { Mutex } from "../repo/mutex.js";
import { DirLock } from "./dirLock.js";

/** How often an apply whose ref update failed (HEAD moved under it, a dead writer's ref lock) is tried again. */
const REF_RACE_TRIES = 8;

/** Where the runtime keeps its own files inside a project's git dir (lock, scratch indexes). */
export const PROJECT_RUNTIME_DIR = "agent-fleet";

/** Leftovers of a holder that died mid-apply are removed once older than this. */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;

export interface ProjectRepoOptions {
  name: string;
  /** The project's bare git repository (`<AGENT_PROJECTS_DIR>/<name>`). */
  dir: string;
  branch: string;
  agent: string;
  /** Lease of the apply lock (AGENT_LEASE_SECONDS): a holder silent for this long is dead. */
  leaseMs: number;
  log: AgentLogger;
}

/**
 * A shared project: a bare git repository several agents (in different containers, possibly on
 * different machines over NFS/EFS) commit to. Applies are serialized per project by `withLock`
 * (an in-process mutex, then a DirLock between processes), and each ends in a compare-and-swap
 * of the branch ref, so a commit is never lost and the repository is consistent at every
 * instant: a patch is applied to a private index (never a working tree), written as a tree and a
 * commit, and only then does the branch move, in one atomic ref update from the HEAD it was
 * built on. A process killed at any point leaves at most unreferenced objects behind.
 */
export class ProjectRepo {
  readonly name: string;
  readonly dir: string;
  readonly branch: string;
  readonly ref: string;
  private readonly mutex = new Mutex();
  private readonly dirLock: DirLock;

  constructor(private readonly o: ProjectRepoOptions) {
    this.name = o.name;
    this.dir = o.dir;
    this.branch = o.branch;
    this.ref = `refs/heads/${o.branch}`;
    this.dirLock = new DirLock({
      dir: path.join(o.dir, PROJECT_RUNTIME_DIR, "apply.lock"),
      agent: o.agent,
      leaseMs: o.leaseMs,
      onBroken: (owner, ageMs) =>
        o.log.warn("project-lock-broken", { project: o.name, owner, age_ms: ageMs, lease_ms: o.leaseMs }),
    });
  }

  /** Objects of the repository (the agent user's clones borrow them read-only). */
  get objectsDir(): string {
    return path.join(this.dir, "objects");
  }

  /** Why this is not a usable project repository, or undefined. */
  static problem(dir: string): string | undefined {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st) return `${dir} does not exist`;
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (!fs.existsSync(path.join(dir, "HEAD")) || !fs.existsSync(path.join(dir, "objects")))
      return `${dir} is not a bare git repository`;
    return undefined;
  }

  /**
   * The branch a project's agents commit to: the one its bare repository's HEAD names (the host
   * seeds it so from the config's `branch`), so the repository itself is the one place that says.
   */
  static async branchOf(dir: string): Promise<string> {
    const ref = (await git(dir, ["symbolic-ref", "-q", "HEAD"])).trim();
    if (!ref.startsWith("refs/heads/")) throw new Error(`${dir}: HEAD is not a branch (${ref})`);
    return ref.slice("refs/heads/".length);
  }

  /** Create the runtime's dir in the repository (the lock lives there). */
  prepare(): void {
    fs.mkdirSync(path.join(this.dir, PROJECT_RUNTIME_DIR), { recursive: true, mode: 0o755 });
  }

  /** The branch's commit now. */
  async head(): Promise<string> {
    return (await git(this.dir, ["rev-parse", "--verify", "-q", `${this.ref}^{commit}`])).trim();
  }

  /**
   * Run `fn` holding the project's apply lock (this process's mutex, then the lock shared by every
   * agent on the project). Not re-entrant: code that already holds it says so (ChangeApplier's `lockHeld`).
   */
  withLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.mutex.run(() =>
      this.dirLock.run(async () => {
        this.removeLeftovers();
        return fn();
      }, signal),
    );
  }

  /**
   * A file of the branch's HEAD (a coordinator names it as a task's context): `rel` must be a
   * regular file's path in the tree, read from git's objects, never from a file system, so no
   * link is ever followed (a symlink or submodule entry is refused, and git does not descend
   * into either), at most `maxBytes` bytes.
   */
  async fileAtHead(rel: string, maxBytes: number): Promise<{ data: Buffer } | { problem: string; tooLarge?: true }> {
    const env = gitEnv({ GIT_LITERAL_PATHSPECS: "1" });
    const ls = await gitTry(this.dir, ["ls-tree", "-z", "--long", this.ref, "--", rel], { env });
    if (ls.code !== 0) return { problem: `cannot be looked up in project ${this.name}: ${ls.stderr.trim()}` };
    const entry = ls.stdout
      .split("\0")
      .map((l) => /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t(.*)$/s.exec(l))
      .find((m) => m !== null && m[5] === rel);
    if (!entry) return { problem: `no such file in project ${this.name} (${this.branch})` };
    const [, mode, type, oid, size] = entry;
    if (mode === "120000") return { problem: "a symbolic link (links are never followed)" };
    if (type !== "blob" || (mode !== "100644" && mode !== "100755")) return { problem: `not a regular file (${type})` };
    if (Number(size) > maxBytes) return { problem: `${size} bytes, over the ${maxBytes} allowed`, tooLarge: true };
    const cat = await gitTry(this.dir, ["cat-file", "blob", oid!], { env, maxStdout: maxBytes });
    if (cat.code !== 0 || cat.truncated) return { problem: `cannot be read: ${cat.stderr.trim() || "too large"}` };
    return { data: cat.stdoutBytes };
  }

  /** The commit that applied a proposal, found by its trailer (the record of truth after a crash). */
  async findApplied(proposalId: string): Promise<string | undefined> {
    const out = await git(this.dir, ["log", "--format=%H", ...proposalGrep(proposalId), this.ref]);
    return out.trim().split("\n")[0] || undefined;
  }

  /**
   * Apply a proposal's patch (the exact bytes whose hash the caller checked) as one commit on the
   * branch, with the project's trailers (call holding the lock). When its base is no longer the
   * branch's HEAD the apply is 3-way; when that fails the result is `conflict` (`stale-base`).
   */
  async apply(p: Proposal, patch: Buffer, minFreeBytes = 0): Promise<Partial<Proposal>> {
    const space = spaceProblem(this.dir, patch.length, minFreeBytes);
    if (space) return { state: "refused", reason_code: "no-space", reason: space };
    for (let attempt = 1; ; attempt++) {
      const head = await this.head();
      const r = await this.commitOnto(p, patch, head);
      if ("conflict" in r) return r.conflict;
      // The compare-and-swap: the branch moves only from the HEAD the commit was built on.
      const upd = await gitTry(this.dir, ["update-ref", "-m", `agent-fleet: ${p.id}`, this.ref, r.commit, head]);
      if (upd.code === 0)
        return {
          state: "applied",
          commit: r.commit,
          applied_at: new Date().toISOString(),
          reason: null,
          reason_code: null,
        };
      this.o.log.warn("project-ref-race", { project: this.name, proposal: p.id, attempt, error: upd.stderr.trim() });
      if (attempt >= REF_RACE_TRIES) throw new Error(`the ${this.ref} ref could not be updated: ${upd.stderr.trim()}`);
      // A ref lock left by a writer killed mid-update goes once it is older than the lease.
      await new Promise((r) => setTimeout(r, Math.ceil(this.o.leaseMs / 4)));
      this.removeLeftovers();
    }
  }

  /** The commit of `p` on top of `head`, built on a private index, or the conflict. */
  private async commitOnto(
    p: Proposal,
    patch: Buffer,
    head: string,
  ): Promise<{ commit: string } | { conflict: Partial<Proposal> }> {
    const index = path.join(this.dir, PROJECT_RUNTIME_DIR, `index-${p.agent}-${process.pid}-${randomHex(8)}`);
    const env = gitEnv({ GIT_INDEX_FILE: index });
    try {
      await git(this.dir, ["read-tree", head], { env });
      const threeWay = head !== p.base_commit;
      const args = ["apply", "--cached", "--whitespace=nowarn", ...(threeWay ? ["--3way"] : []), "-"];
      const ap = await gitTry(this.dir, args, { env, input: patch });
      if (ap.code !== 0) {
        const why = (ap.stderr.trim() || ap.stdout.trim()).split("\n").slice(0, 20).join("\n");
        return {
          conflict: threeWay
            ? {
                state: "conflict",
                reason_code: "stale-base",
                reason: `its base ${p.base_commit.slice(0, 12)} is no longer ${this.branch} (${head.slice(0, 12)}) of project ${this.name} and a 3-way apply failed: ${why}`,
              }
            : { state: "conflict", reason_code: "apply-failed", reason: `git apply failed: ${why}` },
        };
      }
      const tree = (await git(this.dir, ["write-tree"], { env })).trim();
      const commit = (
        await git(this.dir, ["commit-tree", tree, "-p", head, "-F", "-"], {
          input: projectApplyMessage(p, head),
          env: gitEnv({ GIT_AUTHOR_NAME: p.agent, GIT_AUTHOR_EMAIL: `${p.agent}@agent-fleet.invalid` }),
        })
      ).trim();
      return { commit };
    } finally {
      fs.rmSync(index, { force: true });
      fs.rmSync(`${index}.lock`, { force: true });
    }
  }

  /**
   * What a holder killed mid-apply left (call holding the lock): git's ref lock files (which
   * would block every later update) and private indexes. Only old ones: another writer (an
   * operator's push) may hold a fresh ref lock.
   */
  private removeLeftovers(): void {
    const now = Date.now();
    const candidates = [
      path.join(this.dir, `${this.ref}.lock`),
      path.join(this.dir, "packed-refs.lock"),
      path.join(this.dir, "HEAD.lock"),
    ];
    const own = path.join(this.dir, PROJECT_RUNTIME_DIR);
    for (const n of fs.readdirSync(own)) if (n.startsWith("index-")) candidates.push(path.join(own, n));
    for (const f of candidates) {
      const st = fs.statSync(f, { throwIfNoEntry: false });
      if (!st) continue;
      const age = now - st.mtimeMs;
      const isRefLock = f.endsWith(".lock") && !path.basename(f).startsWith("index-");
      if (age > (isRefLock ? this.o.leaseMs : LEFTOVER_AGE_MS)) {
        fs.rmSync(f, { force: true });
        this.o.log.warn("project-leftover-removed", { project: this.name, file: path.relative(this.dir, f) });
      }
    }
  }
}
