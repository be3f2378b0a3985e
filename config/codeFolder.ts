import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The one check of an agent's code folder (the config and FargateFleet's own argument check both
 * use it): the folder must exist and be a directory. Returns what is wrong, or undefined.
 * `shown` is how the user wrote the path; the message adds where it was looked for.
 */
export function codeFolderProblem(shown: string, absolute: string): string | undefined {
  const stat = fs.statSync(absolute, { throwIfNoEntry: false });
  const where = path.resolve(absolute) === shown ? "" : ` (looked for ${path.resolve(absolute)})`;
  if (!stat) return `folder "${shown}" does not exist${where}`;
  if (!stat.isDirectory()) return `"${shown}" is not a folder`;
  return undefined;
}
