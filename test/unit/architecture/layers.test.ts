import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { edgesOf, importSpecifiers, sourceFiles, violation } from "./layers.js";

const repo = path.resolve(__dirname, "../../..");

describe("layering (docs/architecture.md)", () => {
  const files = sourceFiles(repo);

  it("sees every layer of the tree", () => {
    for (const dir of [
      "contract/",
      "runtime/",
      "config/",
      "hosts/",
      "fleet/",
      "targets/aws/",
      "targets/local/",
      "cli/",
    ]) {
      expect(
        files.some((f) => f.startsWith(dir)),
        dir,
      ).toBe(true);
    }
    expect(files).toContain("program.ts");
  });

  it("imports only run downward", () => {
    const problems = files.flatMap((f) =>
      edgesOf(f, fs.readFileSync(path.join(repo, f), "utf8")).flatMap((e) => {
        const why = violation(e);
        return why ? [`${f}: ${why}`] : [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it("reads every form of import", () => {
    const src = [
      'import * as fs from "node:fs";',
      'import type { A } from "./a.js";',
      'import { b,\n  c } from "../b.js";',
      'export { d } from "./d.js";',
      'export * from "./e.js";',
      'import "./side.js";',
      'const m = await import("./lazy.js");',
    ].join("\n");
    expect(importSpecifiers(src)).toEqual([
      "node:fs",
      "./a.js",
      "../b.js",
      "./d.js",
      "./e.js",
      "./side.js",
      "./lazy.js",
    ]);
  });

  it("fails on deliberate violations", () => {
    const bad: Array<[string, string]> = [
      ["contract/env.ts", 'import { z } from "zod";'],
      ["contract/env.ts", 'import { x } from "../runtime/ids.js";'],
      ["runtime/settings.ts", 'import { DEFAULTS } from "../config/defaults.js";'],
      ["runtime/settings.ts", 'import { z } from "zod";'],
      ["config/fleetConfig.ts", 'import { FARGATE_SIZES } from "../targets/aws/fargateSizing.js";'],
      ["fleet/spec.ts", 'import { awsTarget } from "../targets/aws/index.js";'],
      ["hosts/sshHost.ts", 'import { stackProgram } from "../program.js";'],
      ["targets/exoscale/cloudInit.ts", 'import { deployVps } from "../vps/deploy.js";'],
      ["targets/aws/deploy.ts", 'import { stackProgram } from "../../program.js";'],
    ];
    for (const [file, src] of bad) {
      const edges = edgesOf(file, src);
      expect(edges.map(violation).filter(Boolean), `${file}: ${src}`).toHaveLength(1);
    }
    expect(edgesOf("targets/aws/deploy.ts", 'import { x } from "../../fleet/onDockerHost.js";').map(violation)).toEqual(
      [undefined],
    );
  });
});
