import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { patchSpecials } from "../../../runtime/operator/specialFiles.js";
import { gitPatch } from "./fixtures.js";

const BYTES = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

describe("patchSpecials: binary files and symlinks read from the patch itself", () => {
  it("finds a new binary file with its size, new and changed symlinks with their targets, quoted paths; text and deletions are not listed", () => {
    const patch = gitPatch({ "old.bin": BYTES, "gone.bin": BYTES, "text.txt": "a\n", moved: "x" }, (d) => {
      fs.writeFileSync(path.join(d, "new.bin"), BYTES);
      fs.writeFileSync(path.join(d, "text.txt"), "a\nb\n");
      fs.rmSync(path.join(d, "gone.bin"));
      fs.symlinkSync("docs/index.md", path.join(d, "latest"));
      fs.symlinkSync("t\x1b[2Karget", path.join(d, "we\tird \u00e9"));
      fs.rmSync(path.join(d, "moved"));
      fs.symlinkSync("text.txt", path.join(d, "moved"));
      const changed = Buffer.from(BYTES);
      changed[10] = 1;
      fs.writeFileSync(path.join(d, "old.bin"), changed);
    });
    const found = patchSpecials(Buffer.from(patch), [{ path: "old.bin", kind: "binary", bytes: 3000 }]);
    expect(found).toEqual(
      expect.arrayContaining([
        { path: "new.bin", kind: "binary", bytes: 3000 },
        { path: "latest", kind: "symlink", target: "docs/index.md", bytes: 13 },
        { path: "we\tird \u00e9", kind: "symlink", target: "t\x1b[2Karget", bytes: 10 },
        { path: "moved", kind: "symlink", target: "text.txt", bytes: 8 },
      ]),
    );
    const old = found.find((f) => f.path === "old.bin")!;
    expect(old.kind).toBe("binary");
    expect(old.bytes).toBe(3000); // a delta or a literal: the size is known either way
    expect(found.map((f) => f.path).sort()).toEqual(["latest", "moved", "new.bin", "old.bin", "we\tird \u00e9"]);
  });

  it("a binary delta without the runtime's record says its size is unknown (never a guess)", () => {
    const big = Buffer.concat([BYTES, BYTES, BYTES, BYTES]);
    const patch = gitPatch({ "b.bin": big }, (d) => {
      const c = Buffer.from(big);
      c[100] = 0;
      fs.writeFileSync(path.join(d, "b.bin"), c);
    });
    const [f] = patchSpecials(patch);
    expect(f!.path).toBe("b.bin");
    expect(patch).toMatch(/^delta \d+$/m); // one changed byte in 12 kB: git writes a delta
    expect(f!.bytes).toBeUndefined();
    expect(f!.deltaBytes).toBeGreaterThan(0);
  });

  it("a text-only patch has none", () => {
    expect(patchSpecials(gitPatch({ "a.txt": "a\n" }, (d) => fs.writeFileSync(path.join(d, "a.txt"), "b\n")))).toEqual(
      [],
    );
  });
});
