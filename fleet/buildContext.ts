import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";
import * as tar from "tar";

/**
 * Build contexts and code archives, computed from the files themselves: the agent image's context
 * (the repository root filtered by its `.dockerignore` allow-list, exactly what `docker build`
 * sends) and each agent's code folder. Content hashes name image tags and archives, so a change of
 * runtime code gives a new tag (and new containers) while an unchanged tree changes nothing.
 */

export interface FileSet {
  /** Folder the paths are relative to. */
  baseDir: string;
  /** Relative POSIX paths of regular files, sorted. */
  files: string[];
}

/** Files of a Docker build context, filtered like `docker build` does with `<context>/.dockerignore`. */
export function dockerContextFiles(contextDir: string): FileSet {
  const ignoreFile = path.join(contextDir, ".dockerignore");
  const patterns = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8").split(/\r?\n/) : [];
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  // Exception patterns ("!runtime/") can re-include files below an excluded folder, so a folder is
  // skipped only when no exception could reach into it (this keeps node_modules cheap to walk).
  const exceptions = patterns
    .map((p) => p.trim())
    .filter((p) => p.startsWith("!"))
    .map((p) => p.slice(1).replace(/^\/+/, "").replace(/\/+$/, "").split(/[*?[]/)[0]!);
  const mayContainException = (dir: string) =>
    exceptions.some((lit) => lit === "" || lit === dir || lit.startsWith(`${dir}/`) || dir.startsWith(lit));

  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = rel ? path.join(contextDir, rel) : contextDir;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!ig.ignores(p) || mayContainException(p)) walk(p);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !ig.ignores(p)) {
        files.push(p);
      }
    }
  };
  walk("");
  files.sort();
  return { baseDir: contextDir, files };
}

/** Every file of a folder except version-control metadata, sorted. */
export function codeFiles(dir: string): FileSet {
  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = rel ? path.join(dir, rel) : dir;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      if (entry.name === ".git") continue;
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(p);
    }
  };
  walk("");
  files.sort();
  return { baseDir: dir, files };
}

/** SHA-256 over paths, executable bits and contents (plus any extra strings, e.g. build args). */
export function hashFileSet(set: FileSet, extra: string[] = []): string {
  const h = crypto.createHash("sha256");
  for (const e of extra) h.update(`extra\0${e}\0`);
  for (const f of set.files) {
    const abs = path.join(set.baseDir, f);
    const st = fs.lstatSync(abs);
    h.update(`file\0${f}\0${st.mode & 0o111 ? "x" : "-"}\0`);
    h.update(st.isSymbolicLink() ? `link:${fs.readlinkSync(abs)}` : fs.readFileSync(abs));
    h.update("\0");
  }
  return h.digest("hex");
}

/**
 * Writes a reproducible tar of the set (fixed timestamps, no owners) unless an archive with this
 * content hash already exists; returns its path. Equal content gives byte-equal archives, so the
 * upload's asset hash only changes with the content.
 */
export function writeArchive(set: FileSet, outDir: string, baseName: string, hash: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${baseName}.tar`);
  const stamp = `${file}.sha256`;
  if (fs.existsSync(file) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === hash) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  tar.create(
    { sync: true, file: tmp, cwd: set.baseDir, portable: true, mtime: new Date(0), noDirRecurse: true },
    set.files,
  );
  fs.renameSync(tmp, file);
  fs.writeFileSync(stamp, hash);
  return file;
}
