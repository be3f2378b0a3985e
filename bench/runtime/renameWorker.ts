/**
 * One process of the parallel raw-rename reference: waits for "go", renames its own n files
 * from a/ to b/ (no races), prints the end time.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const [dir, n, k] = process.argv.slice(2) as [string, string, string];
process.stdout.write("ready\n");
process.stdin.once("data", () => {
  const a = path.join(dir, "a");
  const b = path.join(dir, "b");
  for (let i = 0; i < Number(n); i++) fs.renameSync(path.join(a, `f${k}-${i}`), path.join(b, `f${k}-${i}`));
  process.stdout.write(JSON.stringify({ end: Date.now() }) + "\n");
  process.exit(0);
});
