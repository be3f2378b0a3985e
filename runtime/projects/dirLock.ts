import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { errnoCode, fsyncDir, readJsonFile } from "../fsAtomic.js";
import { randomHex } from "../ids.js";

/** Who holds a DirLock: written before the lock exists, so a held lock always names its owner. */
export interface LockOwner {
  token: string;
  agent: string;
  host: string;
  pid: number;
  acquired_at: string;
}

export interface DirLockOptions {
  /** The lock's directory (`<dir>/owner.json` names the holder); its parent must exist. */
  dir: string;
  agent: string;
  /** A holder whose owner file was not renewed for this long is dead; its lock is broken. */
  leaseMs: number;
  /** Pause between tries while another holds the lock. */
  pollMs?: number;
  /** A stale lock was broken (for the log). */
  onBroken?: (owner: LockOwner | undefined, ageMs: number) => void;
}

/**
 * A lock between processes on different machines sharing a network file system (NFS, EFS), with
 * no flock/fcntl (NFS lock managers lose locks when a client restarts, and EFS's are advisory per
 * client). Acquiring is one rename of a staged directory holding `owner.json` onto the lock's name:
 * a rename onto an existing non-empty directory fails on every POSIX file system, so exactly one
 * contender wins, and a rename the NFS client replayed after it succeeded is recognised by the
 * owner token inside. The holder renews a lease (the owner file's mtime) while it holds the lock;
 * a lock whose lease ran out (its holder was SIGKILLed, its machine died) is broken by renaming it
 * away, which again only one contender can do.
 *
 * The lock serializes; it is not what keeps a commit from being lost: project applies end in a
 * compare-and-swap of the branch ref (see projectRepo.ts), so even a lock broken under a holder
 * that was merely slow cannot make two commits overwrite each other.
 */
export class DirLock {
  private readonly staging: string;

  constructor(private readonly o: DirLockOptions) {
    this.staging = path.join(path.dirname(o.dir), ".lock-staging");
  }

  /** Run `fn` holding the lock; the lease is renewed while it runs. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const token = await this.acquire(signal);
    const renew = setInterval(() => this.renew(token), Math.max(50, Math.floor(this.o.leaseMs / 4)));
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      this.release(token);
    }
  }

  /** Take the lock, waiting while another live holder has it; returns this holding's token. */
  async acquire(signal?: AbortSignal): Promise<string> {
    const pollMs = this.o.pollMs ?? 50;
    for (;;) {
      if (signal?.aborted) throw new Error(`gave up waiting for the lock ${this.o.dir}: stopping`);
      const token = this.tryAcquire();
      if (token) return token;
      this.breakIfStale();
      await new Promise((r) => setTimeout(r, pollMs + Math.floor(Math.random() * pollMs)));
    }
  }

  /** One try: the token when the lock is now ours, else undefined. */
  tryAcquire(): string | undefined {
    const token = `${this.o.agent}-${process.pid}-${randomHex(12)}`;
    const staged = path.join(this.staging, token);
    fs.mkdirSync(this.staging, { recursive: true, mode: 0o755 });
    fs.mkdirSync(staged, { mode: 0o755 });
    const owner: LockOwner = {
      token,
      agent: this.o.agent,
      host: os.hostname(),
      pid: process.pid,
      acquired_at: new Date().toISOString(),
    };
    const fd = fs.openSync(path.join(staged, "owner.json"), "wx", 0o644);
    try {
      fs.writeSync(fd, JSON.stringify(owner) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(staged, this.o.dir);
      fsyncDir(path.dirname(this.o.dir));
      return token;
    } catch (err) {
      const code = errnoCode(err);
      // ENOENT: NFS replayed a rename that had succeeded; the lock is ours if it holds our token.
      if (code === "ENOENT" && this.owner()?.token === token) return token;
      removeTree(staged);
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** The current holder (undefined: free, or being taken or broken right now). */
  owner(): LockOwner | undefined {
    try {
      return readJsonFile(path.join(this.o.dir, "owner.json")) as LockOwner;
    } catch {
      return undefined;
    }
  }

  /** How long ago the holder last renewed its lease (undefined: not held). */
  ageMs(): number | undefined {
    try {
      return Date.now() - fs.statSync(path.join(this.o.dir, "owner.json")).mtimeMs;
    } catch {
      return undefined;
    }
  }

  private renew(token: string): void {
    try {
      if (this.owner()?.token !== token) return; // broken under us: the ref's compare-and-swap still protects
      const now = new Date();
      fs.utimesSync(path.join(this.o.dir, "owner.json"), now, now);
    } catch {
      /* renewed on the next tick; a lease is several ticks long */
    }
  }

  /** Break the lock when its holder stopped renewing it: rename it away (one breaker wins), then remove it. */
  private breakIfStale(): void {
    const age = this.ageMs();
    if (age === undefined) {
      // A lock dir without an owner file: a breaker or releaser died halfway. An empty dir is
      // replaced by the next rename onto it, so only a non-empty leftover needs removing.
      return;
    }
    if (age <= this.o.leaseMs) return;
    const owner = this.owner();
    const aside = `${this.o.dir}.broken-${randomHex(12)}`;
    try {
      fs.renameSync(this.o.dir, aside);
    } catch {
      return; // someone else broke or released it first
    }
    // A holder that renewed between the check and the rename lost its lock: give it back if so.
    const moved = readOwner(aside);
    if (moved && owner && moved.token !== owner.token) {
      try {
        fs.renameSync(aside, this.o.dir);
        return;
      } catch {
        /* the lock was taken meanwhile; the moved holder's ref update is still compare-and-swap */
      }
    }
    removeTree(aside);
    this.o.onBroken?.(owner, age);
  }

  /** Give the lock up, if it is still ours. */
  release(token: string): void {
    if (this.owner()?.token !== token) return;
    const aside = `${this.o.dir}.released-${randomHex(12)}`;
    try {
      fs.renameSync(this.o.dir, aside);
    } catch {
      return;
    }
    removeTree(aside);
  }
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    return readJsonFile(path.join(dir, "owner.json")) as LockOwner;
  } catch {
    return undefined;
  }
}

/** Remove a lock dir (the runtime's own: it holds only owner.json). */
function removeTree(dir: string): void {
  try {
    fs.rmSync(path.join(dir, "owner.json"), { force: true });
    fs.rmdirSync(dir);
  } catch {
    /* left for the next sweep; a non-empty dir under another name is harmless */
  }
}
