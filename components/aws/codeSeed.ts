import { quote } from "shell-quote";
import { CONTAINER_PATHS } from "../hostLayout.js";

/**
 * Code seeding on Fargate.
 *
 * On a Docker host, agent code is synced to `<root>/agents/<name>` and bind-mounted at /app. On
 * Fargate, /app is an EFS access point that starts out empty, and the runtime (not Pulumi) owns it
 * afterwards: every applied proposal is a commit there. So the code is copied in exactly once:
 *
 * - The fleet image is the agent image plus every agent's code under `SEED_ROOT/<name>`
 *   (root-only, mode 0700, so agent programs cannot read other agents' seeds). `seed.Dockerfile`
 *   builds it from the repository's `agents/` folder.
 * - Each task starts with a `seed-code` init container (essential: false) that mounts only the
 *   agent's code access point at /app and runs `seedScript`: when /app is empty it copies the seed
 *   in; when /app already has content it leaves it alone, so redeploying never overwrites the
 *   runtime's commits. The runtime container starts only after it exits 0 (`condition: SUCCESS`).
 *
 * The copy is crash-safe: it goes to a staging dir inside /app first, a marker file records that
 * the copy is complete, and only then are the entries renamed into place (renames on one file
 * system). A task killed mid-copy starts over; one killed mid-rename finishes the renames.
 */
export const SEED_ROOT = "/opt/agent-fleet/seed";

/** Name of the staging dir the seed script uses inside /app. */
export const SEED_STAGING = ".agent-fleet-seeding";

/** The Dockerfile (in this folder) that adds agent code to the agent image. */
export const SEED_DOCKERFILE = "components/aws/seed.Dockerfile";

/**
 * POSIX sh script for the init container. Paths are parameters so tests can run the very same
 * script against temporary directories. Exits non-zero (the task then does not start) when /app is
 * empty and the image has no seed for this agent: running an agent without code is never right.
 */
export function seedScript(o: { agent: string; appDir?: string; seedRoot?: string }): string {
  const app = o.appDir ?? CONTAINER_PATHS.app;
  const seed = `${o.seedRoot ?? SEED_ROOT}/${o.agent}`;
  const stage = `${app}/${SEED_STAGING}`;
  return [
    "set -eu",
    `app=${quote([app])}; seed=${quote([seed])}; stage=${quote([stage])}`,
    // Move every staged entry (dotfiles too) into /app, then drop the staging dir.
    'finish() { find "$stage" -mindepth 1 -maxdepth 1 ! -name .copied -exec mv -f -t "$app" {} +; rm -f "$stage/.copied"; rmdir "$stage"; }',
    'if [ -f "$stage/.copied" ]; then echo "seed-code: finishing an interrupted seed of $app"; finish; exit 0; fi',
    `if [ -n "$(find "$app" -mindepth 1 -maxdepth 1 ! -name ${quote([SEED_STAGING])} -print -quit)" ]; then echo "seed-code: $app already has code, leaving it as it is"; exit 0; fi`,
    'if [ ! -d "$seed" ]; then echo "seed-code: $app is empty and the image has no seed at $seed" >&2; exit 1; fi',
    'rm -rf "$stage"; mkdir "$stage"',
    'cp -R "$seed/." "$stage/"',
    // Root owns the code (the runtime writes it), everyone may read it (agent programs run it).
    'chmod -R u+rwX,go+rX,go-w "$stage"',
    'touch "$stage/.copied"',
    "finish",
    'echo "seed-code: seeded $app from $seed"',
  ].join("\n");
}
