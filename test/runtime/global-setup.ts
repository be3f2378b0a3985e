import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Builds the runtime alone (runtime/tsconfig.json: Node built-ins only) into dist/runtime, the
 * very files the tests spawn: `agent-runtime` and `agentctl` as real processes (with the
 * console's UI files copied next to `agentctl serve`'s server).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "runtime", "tsconfig.json")], {
    cwd: root,
    stdio: "inherit",
  });
  execFileSync(process.execPath, [path.join(root, "runtime", "console", "copy-ui.mjs"), path.join(root, "dist")], {
    cwd: root,
    stdio: "inherit",
  });
  for (const bin of ["agent-runtime", "agentctl"]) {
    const f = path.join(root, "dist", "runtime", "bin", `${bin}.js`);
    if (!fs.existsSync(f)) throw new Error(`runtime build did not produce ${f}`);
    fs.chmodSync(f, 0o755);
  }
}
