import { quote } from "shell-quote";
import { CONTAINER_PATHS } from "../../contract/paths.js";
import { projectSeedHelperScript } from "../../fleet/projectSeedHelper.js";

/**
 * Shared projects on Fargate.
 *
 * On a Docker host a project is seeded once by `pulumi up` (fleet/scripts/seed-project.sh): a
 * root-owned bare repository at `<root>/projects/<name>`, bind-mounted at /projects/<name> into
 * the agents assigned to it. On Fargate the repository is the root of the project's EFS access
 * point (`/projects/<name>` on the file system), which starts out empty, and nothing but a task can
 * write it. So, as with agent code (codeSeed.ts):
 *
 * - the image of each agent assigned to a project holds the project's folder under
 *   `PROJECT_SEED_ROOT/<name>` (root-only); no other agent's image holds it;
 * - that agent's `seed-code` init container mounts the project's access point at /projects/<name>
 *   and runs `projectSeedScript`: when the directory is not yet a repository it makes one.
 *
 * Several agents' tasks start at once and may seed the same project concurrently, and any of them
 * may be killed at any instant. Each seeder builds a complete bare repository in a staging dir of
 * its own inside the access point (with the very script Docker hosts use,
 * seed-project-helper.sh), then publishes it into place entry by entry, in an order that keeps
 * the result consistent whoever wins:
 *
 * 1. objects: content-addressed, so one seeder's copy of an object is the same object as another's;
 * 2. the branch ref: created with `ln`, which never replaces, so the first seeder's commit stays
 *    and every seeder's objects are in place before its ref can win;
 * 3. the rest (config, description, info/...) where absent;
 * 4. HEAD, last, again with `ln`: only a directory with HEAD is a repository, to git and to the
 *    runtime (ProjectRepo.problem).
 *
 * A seeder killed before step 4 leaves no HEAD, and the next start publishes again (idempotently);
 * its staging dir is removed once it is an hour old. After seeding, the repository belongs to the
 * runtimes: the script only writes `agent-fleet.remote` into its config on every start (the
 * helper's "kept" path), so a changed `remote` reaches it with the next deployment.
 */
export const PROJECT_SEED_ROOT = "/opt/agent-fleet/seed-projects";

/** Prefix of the staging dirs a seeder builds in, inside the project's access point. */
export const PROJECT_SEED_STAGING = ".agent-fleet-seeding";

/** Minutes after which a dead seeder's staging dir is removed. */
export const PROJECT_SEED_STAGING_MAX_MINUTES = 60;

export interface ProjectSeedInput {
  project: string;
  branch: string;
  remote?: string;
}

export interface ProjectSeedPaths {
  /** Default CONTAINER_PATHS.projects: a repository is `<projectsDir>/<project>`. */
  projectsDir?: string;
  /** Default PROJECT_SEED_ROOT: a folder is `<seedRoot>/<project>`. */
  seedRoot?: string;
}

/**
 * POSIX sh program for the init container: the helper script once (a task definition's container
 * definitions may hold 64 KiB in all), then one subshell per project, so a failing project stops
 * the program without leaving the others' variables behind. Paths are parameters so tests run the
 * very same program against temporary directories. Exits non-zero, so the task does not start, when
 * a directory is not a repository and the image holds no seed, or when the result is not a
 * repository whose HEAD names a commit.
 */
export function projectSeedScript(projects: ReadonlyArray<ProjectSeedInput>, paths: ProjectSeedPaths = {}): string {
  if (projects.length === 0) return "";
  return [
    `af_project_helper=${quote([projectSeedHelperScript()])}`,
    ...projects.map((p) => projectSeedBlock(p, paths)),
  ].join("\n");
}

function projectSeedBlock(o: ProjectSeedInput, paths: ProjectSeedPaths): string {
  const dir = `${paths.projectsDir ?? CONTAINER_PATHS.projects}/${o.project}`;
  const seed = `${paths.seedRoot ?? PROJECT_SEED_ROOT}/${o.project}`;
  return [
    "(",
    "set -eu",
    `dir=${quote([dir])}; seed=${quote([seed])}`,
    `export AF_PROJECT=${quote([o.project])} AF_BRANCH=${quote([o.branch])} AF_REMOTE=${quote([o.remote ?? ""])}`,
    "helper=$af_project_helper",
    "g() { git -c safe.directory='*' -c core.hooksPath=/dev/null \"$@\"; }",
    'if [ ! -f "$dir/HEAD" ]; then',
    '  if [ ! -d "$seed" ]; then echo "seed-project: $dir is not a repository and the image has no seed at $seed" >&2; exit 1; fi',
    `  stage="$dir/${PROJECT_SEED_STAGING}-$(cat /proc/sys/kernel/random/uuid)"`,
    '  AF_FLEET_DIR="$stage" AF_SEED_DIR="$seed" AF_SEED_TAR="$stage.none" sh -c "$helper" >/dev/null',
    '  src="$stage/projects/$AF_PROJECT"',
    '  (cd "$src" && find objects refs -type d) | while IFS= read -r d; do mkdir -p "$dir/$d"; done',
    '  (cd "$src" && find objects -type f) | while IFS= read -r f; do [ -e "$dir/$f" ] || mv -f "$src/$f" "$dir/$f"; done',
    '  ref=$(g --git-dir="$src" symbolic-ref HEAD)',
    '  ln "$src/$ref" "$dir/$ref" 2>/dev/null || true',
    '  for e in "$src"/*; do',
    "    n=${e##*/}",
    '    case "$n" in HEAD | objects | refs) continue ;; esac',
    '    [ -e "$dir/$n" ] || mv -T "$e" "$dir/$n" 2>/dev/null || true',
    "  done",
    '  ln "$src/HEAD" "$dir/HEAD" 2>/dev/null || true',
    '  rm -rf "$stage"',
    '  echo "seed-project: seeded $dir (branch $(g --git-dir="$dir" symbolic-ref --short HEAD))"',
    "fi",
    `find "$dir" -mindepth 1 -maxdepth 1 -name '${PROJECT_SEED_STAGING}-*' -mmin +${PROJECT_SEED_STAGING_MAX_MINUTES} -exec rm -rf {} +`,
    'AF_PROJECT_DIR="$dir" sh -c "$helper" >/dev/null',
    'if ! g --git-dir="$dir" rev-parse --verify -q "HEAD^{commit}" >/dev/null; then',
    '  echo "seed-project: $dir is not a repository whose HEAD names a commit" >&2; exit 1',
    "fi",
    ")",
  ].join("\n");
}
