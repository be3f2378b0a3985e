import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Temporary folders for these tests, all under one folder per module instance (each test file,
 * each helper process), removed by `removeTempDirs()` (test files call it in `afterAll`) or when
 * the process exits, so test runs leave nothing behind in the system's temp folder.
 */
let base: string | undefined;

export function tempDir(prefix: string): string {
  if (base === undefined) {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "af-unit-"));
    const dir = base;
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return fs.mkdtempSync(path.join(base, prefix));
}

export function removeTempDirs(): void {
  if (base !== undefined) fs.rmSync(base, { recursive: true, force: true });
  base = undefined;
}
