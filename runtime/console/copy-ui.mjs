// Copies the console's static UI files next to the compiled server (tsc copies only what it
// compiles): `node runtime/console/copy-ui.mjs DIST` after `tsc`, in `npm run build`, the agent
// image's build stage and the runtime tests' setup. The server refuses to start without them.
import { cpSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = process.argv[2];
if (!dist) {
  console.error("usage: node runtime/console/copy-ui.mjs DIST_DIR");
  process.exit(2);
}
const from = join(dirname(fileURLToPath(import.meta.url)), "ui");
const to = join(dist, "runtime", "console", "ui");
cpSync(from, to, { recursive: true });
for (const f of ["index.html", "app.js", "app.css"]) {
  if (!existsSync(join(to, f))) {
    console.error(`copy-ui: ${join(to, f)} is missing after the copy`);
    process.exit(1);
  }
}
