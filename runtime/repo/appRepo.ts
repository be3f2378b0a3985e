import * as fs from "node:fs";
import * as path from "node:path";
import { ENV } from "../../contract/env.js";
import { exists, listDir } from "../fsAtomic.js";
import { git, gitEnv, gitTry, pinAttributes, readHead } from "../git.js";
import type { AgentLogger } from "../log.js";
import type { Proposal } from "../proposals/proposal.js";
import {
  applyMessage,
  INITIAL_IMPORT_MESSAGE,
  outsideChangesMessage,
  rollbackMessage,
  proposalGrep,
} from "./commitMessages.js";
import { Mutex } from "./mutex.js";

/** What reverting a commit did: the revert commit, or why it was abandoned (the tree is clean either way). */
export type RevertResult = { ok: true; commit: string } | { ok: false; error: string };

/**
 * The agent's code dir (/app): a git repo whose history is the audit trail. Every git command on
 * it runs as the runtime (root in the container) in a fixed environment (see git.ts); nothing
 * here runs code from the repo. Callers that read or write its history hold `lock`.
 */
export class AppRepo {
  /** Serializes everything that reads or writes the history (clone base, apply, revert). */
  readonly lock = new Mutex();

  constructor(
    readonly dir: string,
    private readonly log: AgentLogger,
  ) {}

  head(): Promise<string> {
    return readHead(this.dir);
  }

  /**
   * Create the repo if missing; repair what a runtime killed mid-apply left behind; commit
   * changes made outside the runtime. `approvedNotApplied`: this agent's proposals recorded as
   * approved (an apply may have been under way for them).
   */
  async ensure(approvedNotApplied: readonly string[]): Promise<void> {
    const app = this.dir;
    if (!exists(path.join(app, ".git"))) {
      await git(app, ["init", "-q"]);
      pinAttributes(path.join(app, ".git"));
      await git(app, ["add", "-A"]);
      await git(app, ["commit", "-q", "--allow-empty", "-m", INITIAL_IMPORT_MESSAGE]);
      this.log.info("repo-created", { app_dir: app });
    }
    // Before any checkout, reset or commit below: attribute files in the tree never count.
    pinAttributes(path.join(app, ".git"));
    // A runtime killed while applying leaves lock files and a half-written working tree: that is
    // not an outside change, it is discarded, and the approved proposal is applied again.
    const leftovers = ["index.lock", "HEAD.lock", "REVERT_HEAD", "MERGE_HEAD"].filter((f) =>
      exists(path.join(app, ".git", f)),
    );
    for (const f of leftovers) if (f.endsWith(".lock")) fs.rmSync(path.join(app, ".git", f), { force: true });
    for (const ref of listDir(path.join(app, ".git", "refs", "heads"))) {
      if (ref.endsWith(".lock")) {
        fs.rmSync(path.join(app, ".git", "refs", "heads", ref), { force: true });
        leftovers.push(ref);
      }
    }
    if (leftovers.length > 0 || approvedNotApplied.length > 0) {
      const dirty = (await git(app, ["status", "--porcelain", "--untracked-files=all"])).trim();
      if (dirty !== "") {
        await git(app, ["reset", "-q", "--hard", "HEAD"]);
        await git(app, ["clean", "-q", "-fd"]);
        this.log.warn("interrupted-apply-discarded", {
          leftovers,
          proposals: [...approvedNotApplied],
          files: dirty.split("\n").length,
        });
      }
    }
    await this.commitOutsideChanges("start");
  }

  /**
   * Changes made to /app outside the runtime (code sync, a hand edit) are committed as they are,
   * so working copies start from the code that is really there and history stays complete.
   */
  async commitOutsideChanges(when: string): Promise<void> {
    const dirty = await git(this.dir, ["status", "--porcelain", "--untracked-files=all"]);
    if (dirty.trim() === "") return;
    await git(this.dir, ["add", "-A"]);
    await git(this.dir, ["commit", "-q", "--allow-empty", "-m", outsideChangesMessage(when)]);
    this.log.info("outside-changes-committed", { files: dirty.trim().split("\n").length });
  }

  /** The commit that applied a proposal, found by its trailer (the record of truth after a crash). */
  async findApplied(proposalId: string): Promise<string | undefined> {
    const found = (await git(this.dir, ["log", "--format=%H", ...proposalGrep(proposalId), "HEAD"]))
      .trim()
      .split("\n")[0];
    return found || undefined;
  }

  /**
   * Apply a proposal's patch (`patch`: the exact bytes whose sha256 the caller checked; git reads
   * them from stdin, so the file cannot change in between) and commit it with its trailers (call
   * with `lock` held). When its base is no longer HEAD the apply is 3-way, and a failed one is
   * reset: the result is then `conflict` (`stale-base`) with git's reason. `recovering`: the
   * proposal may already be committed (never twice). `minFreeBytes`: free space that must remain
   * on /app's file system; an apply that could leave less is refused (`no-space`).
   */
  async apply(p: Proposal, patch: Buffer, recovering: boolean, minFreeBytes = 0): Promise<Partial<Proposal>> {
    const app = this.dir;
    const now = new Date().toISOString();
    if (recovering) {
      // Never twice: the commit's trailer is the record of truth (the state file may lag after a crash).
      const found = await this.findApplied(p.id);
      if (found) return { state: "applied", commit: found, applied_at: p.applied_at ?? now, reason_code: null };
    }
    // The bytes applied are the patch's: the tree's attribute files (which an approved patch may
    // add) and drivers do not count (also set at start; a hand edit of .git is undone here).
    pinAttributes(path.join(app, ".git"));
    const space = this.spaceProblem(patch.length, minFreeBytes);
    if (space) return { state: "refused", reason_code: "no-space", reason: space };
    let head = await this.head();
    const threeWay = head !== p.base_commit;
    if (threeWay) {
      // A failed 3-way apply leaves conflict state that is reset below: anything made outside the
      // runtime is committed first so that the reset cannot lose it. (A plain apply is atomic.)
      await this.commitOutsideChanges(`apply of ${p.id}`);
      head = await this.head();
    }
    const args = ["apply", "--index", "--whitespace=nowarn"];
    if (threeWay) args.push("--3way");
    const ap = await gitTry(app, [...args, "-"], { input: patch });
    if (ap.code !== 0) {
      if (threeWay) await gitTry(app, ["reset", "-q", "--hard", "HEAD"]);
      if (head !== p.base_commit) {
        return {
          state: "conflict",
          reason_code: "stale-base",
          reason: `its base ${p.base_commit.slice(0, 12)} is no longer HEAD (${head.slice(0, 12)}) and a 3-way apply failed: ${ap.stderr.trim()}`,
        };
      }
      return { state: "conflict", reason_code: "apply-failed", reason: `git apply failed: ${ap.stderr.trim()}` };
    }
    await git(app, ["commit", "-q", "--allow-empty", "--no-verify", "-F", "-"], {
      input: applyMessage(p, head),
      env: gitEnv({ GIT_AUTHOR_NAME: p.agent, GIT_AUTHOR_EMAIL: `${p.agent}@agent-fleet.invalid` }),
    });
    const commit = await this.head();
    return { state: "applied", commit, applied_at: new Date().toISOString(), reason: null, reason_code: null };
  }

  /**
   * Why /app's file system cannot take a patch of `patchBytes`, or undefined. An apply writes the
   * new files and git's objects for them: twice the patch's size is the estimate (a patch that
   * inflates far beyond its size is refused when it is proposed), plus `minFreeBytes` that must
   * stay free for everyone sharing the disk.
   */
  spaceProblem(patchBytes: number, minFreeBytes: number): string | undefined {
    return spaceProblem(this.dir, patchBytes, minFreeBytes);
  }

  /** Revert an applied proposal's commit with its reason (call with `lock` held). */
  async revert(p: Proposal & { commit: string }, reason: string): Promise<RevertResult> {
    const app = this.dir;
    pinAttributes(path.join(app, ".git"));
    const rv = await gitTry(app, ["revert", "--no-commit", p.commit]);
    if (rv.code !== 0) {
      await gitTry(app, ["revert", "--abort"]);
      await gitTry(app, ["reset", "-q", "--hard", "HEAD"]);
      return { ok: false, error: rv.stderr.trim() };
    }
    await git(app, ["commit", "-q", "--allow-empty", "--no-verify", "-F", "-"], { input: rollbackMessage(p, reason) });
    return { ok: true, commit: (await git(app, ["rev-parse", "HEAD"])).trim() };
  }
}

/**
 * Why `dir`'s file system cannot take a patch of `patchBytes`, or undefined. An apply writes the
 * new files and git's objects for them: twice the patch's size is the estimate (a patch that
 * inflates far beyond its size is refused when it is proposed), plus `minFreeBytes` that must
 * stay free for everyone sharing the disk.
 */
export function spaceProblem(dir: string, patchBytes: number, minFreeBytes: number): string | undefined {
  let free: number;
  try {
    const st = fs.statfsSync(dir);
    free = st.bavail * st.bsize;
  } catch {
    return undefined; // no statfs (some network file systems): git's own errors still stop a full disk
  }
  const need = 2 * patchBytes + minFreeBytes;
  if (free >= need) return undefined;
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return `not enough free space on ${dir}'s file system: ${mib(free)} free, the apply needs ${mib(2 * patchBytes)} and ${mib(minFreeBytes)} must stay free (${ENV.minFreeBytes})`;
}
