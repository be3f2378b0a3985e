import * as fs from "node:fs";
import * as path from "node:path";
import { randomHex } from "./ids.js";

/**
 * Every state file is written tmp + fsync + rename (+ fsync of the directory), so a reader sees
 * either the old or the new content, never half of it, and SIGKILL at any instant leaves no torn
 * file. Temporary names start with `.tmp-` and are ignored by every reader.
 */
export function tmpName(dir: string, base: string): string {
  return path.join(dir, `.tmp-${base}-${process.pid}-${randomHex(8)}`);
}

export function isTmpName(name: string): boolean {
  return name.startsWith(".tmp-");
}

function writeAndSync(file: string, data: string | Buffer, mode: number): void {
  const fd = fs.openSync(file, "wx", mode);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some file systems (and some NFS setups) refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Atomically replace `file` with `data`. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const dir = path.dirname(file);
  const tmp = tmpName(dir, path.basename(file));
  try {
    writeAndSync(tmp, data, mode);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
  fsyncDir(dir);
}

export function writeJsonAtomic(file: string, value: unknown, mode = 0o644): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n", mode);
}

/**
 * Atomically create `file` only if it does not exist yet (link(2) is atomic and exclusive, on NFS
 * too). Returns false when it already existed.
 */
export function createFileExclusive(file: string, data: string | Buffer, mode = 0o644): boolean {
  const dir = path.dirname(file);
  const tmp = tmpName(dir, path.basename(file));
  writeAndSync(tmp, data, mode);
  try {
    fs.linkSync(tmp, file);
    fsyncDir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
  }
}

export function readJsonFile(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** readdir that returns [] for a missing directory and skips temporary files. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !isTmpName(n));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw err;
  }
}
