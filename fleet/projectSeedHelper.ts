import { readScript } from "../hosts/shell.js";

/**
 * The script that turns a project's folder into its bare repository (`scripts/seed-project-helper.sh`):
 * run in a helper container on Docker hosts (seed-project.sh) and in each Fargate task's seed
 * container (targets/aws/projectSeed.ts), so a project's first commit is made the same way everywhere.
 */
export function projectSeedHelperScript(): string {
  return readScript(__dirname, "seed-project-helper.sh");
}
