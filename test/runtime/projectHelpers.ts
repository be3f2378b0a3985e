import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { World } from "./helpers.js";

/** Where the runtime tests keep shared projects (AGENT_PROJECTS_DIR). */
export function projectsDir(w: World): string {
  return path.join(w.dir, "projects");
}

function sh(cwd: string, args: string[]): string {
  const r = spawnSync("git", ["-c", "safe.directory=*", "-c", "init.defaultBranch=main", ...args], {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: "/nonexistent",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "operator",
      GIT_AUTHOR_EMAIL: "operator@example.invalid",
      GIT_COMMITTER_NAME: "operator",
      GIT_COMMITTER_EMAIL: "operator@example.invalid",
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A shared project as the host seeds it: a bare repository at `<projects>/<name>` whose HEAD
 * names `branch`, holding one commit with `files` and symbolic `links` (path -> target).
 */
export function makeProject(
  w: World,
  name: string,
  files: Record<string, string>,
  branch = "main",
  links: Record<string, string> = {},
): string {
  const repo = path.join(projectsDir(w), name);
  const seed = path.join(w.dir, `seed-${name}`);
  fs.mkdirSync(seed, { recursive: true });
  for (const [f, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(seed, f)), { recursive: true });
    fs.writeFileSync(path.join(seed, f), c);
  }
  for (const [f, target] of Object.entries(links)) fs.symlinkSync(target, path.join(seed, f));
  fs.mkdirSync(repo, { recursive: true, mode: 0o755 });
  sh(repo, ["init", "-q", "--bare"]);
  sh(repo, ["symbolic-ref", "HEAD", `refs/heads/${branch}`]);
  sh(seed, ["init", "-q"]);
  sh(seed, ["add", "-A"]);
  sh(seed, ["commit", "-q", "-m", "Initial import of the project"]);
  sh(seed, ["push", "-q", repo, `HEAD:refs/heads/${branch}`]);
  fs.rmSync(seed, { recursive: true, force: true });
  return repo;
}

/** A file of the project's branch as committed. */
export function projectFile(repo: string, file: string, branch = "main"): string {
  return sh(repo, ["show", `refs/heads/${branch}:${file}`]);
}

/** Values of one trailer over the branch's history, newest first. */
export function projectTrailers(repo: string, key: string, branch = "main"): string[] {
  return sh(repo, ["log", `--format=%(trailers:key=${key},valueonly)`, `refs/heads/${branch}`])
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** The branch's commits' full messages, newest first. */
export function projectLog(repo: string, branch = "main"): string {
  return sh(repo, ["log", "--format=%H%n%B%n--", `refs/heads/${branch}`]);
}

/** `git fsck` of the repository (throws when it is not consistent). */
export function fsck(repo: string): void {
  sh(repo, ["fsck", "--no-progress", "--no-dangling"]);
}

/** An agent program that appends its task id to one file of the project (every task collides). */
export const APPEND_AGENT = {
  command: ["sh", "-c", 'printf "%s\\n" "$TASK_ID" >> log.txt'],
  timeoutSeconds: 30,
};
