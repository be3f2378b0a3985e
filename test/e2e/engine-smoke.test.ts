/**
 * Proves the locally built engine end to end before any scenario relies on it: the CLI is the one
 * built from pulumi's Go module at the SDK's version, and a real `up` / `up` / `refresh` / `destroy`
 * cycle converges through the file backend without touching the network.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { commandPluginDirName } from "../harness/engine/hostPieces.js";
import { withEphemeralStack } from "../harness/engine/ephemeralStack.js";

const engine = inject("engine");
const fixture = path.join(import.meta.dirname, "fixtures", "smoke");

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "engine-smoke-"));
}

describe("engine smoke", () => {
  it("runs the pulumi CLI built from github.com/pulumi/pulumi/pkg/v3 at the @pulumi/pulumi version", () => {
    const out = execFileSync("pulumi", ["version"], {
      env: { ...process.env, ...engine.env },
      encoding: "utf8",
    }).trim();
    expect(out).toBe(`v${engine.manifest.pulumiVersion}`);
    const which = execFileSync("bash", ["-c", "command -v pulumi"], {
      env: { ...process.env, ...engine.env },
      encoding: "utf8",
    }).trim();
    expect(path.dirname(which)).toBe(engine.manifest.binDir);
  });

  it("dynamic provider: up creates, a second up changes nothing, refresh sees no drift (and sees real drift), destroy deletes", async () => {
    const dir = tempDir();
    const marker = path.join(dir, "marker.txt");
    try {
      await withEphemeralStack(
        { engine, workDir: fixture, namePrefix: "smoke-dyn", config: { markerDir: dir, markerContent: "first" } },
        async (stack) => {
          const up = await stack.up();
          expect(up.result).toBe("succeeded");
          expect(up.resourceChanges).toEqual({ create: 2 }); // the stack + the marker
          expect(up.outputs).toEqual({ markerPath: marker, content: "first" });
          expect(readFileSync(marker, "utf8")).toBe("first");

          const again = await stack.up({ expectNoChanges: true });
          expect(again.resourceChanges).toEqual({ same: 2 });

          const preview = await stack.preview();
          expect(preview.resourceChanges).toEqual({ same: 2 });

          const refresh = await stack.refresh();
          expect(refresh.result).toBe("succeeded");
          expect(refresh.resourceChanges).toEqual({ same: 2 });

          // Real drift: the provider's read() reports the changed file, and the next up puts it back.
          writeFileSync(marker, "changed behind pulumi's back");
          const drifted = await stack.refresh();
          expect(drifted.resourceChanges).toEqual({ same: 1, update: 1 });
          const repaired = await stack.up();
          expect(repaired.resourceChanges).toEqual({ same: 1, update: 1 });
          expect(readFileSync(marker, "utf8")).toBe("first");

          const destroyed = await stack.destroy();
          expect(destroyed.result).toBe("succeeded");
          expect(destroyed.resourceChanges).toEqual({ delete: 2 });
          expect(existsSync(marker)).toBe(false);
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The command provider (pulumi-resource-command) is not built here (docs/engine.md); the machine
  // may have it (test/harness/engine/hostPieces.ts). Either way this test asserts something real:
  // with the plugin, a local.Command converges like any resource; without it, the engine refuses the
  // program with a clear error naming the plugin, and never tries to download it.
  if (engine.hostPieces.commandProvider) {
    it("command provider: a local.Command runs on up, is stable on a second up and refresh, and its delete runs on destroy", async () => {
      const dir = tempDir();
      const file = path.join(dir, "command.txt");
      try {
        await withEphemeralStack(
          {
            engine,
            workDir: fixture,
            namePrefix: "smoke-cmd",
            config: { markerDir: dir, markerContent: "via command", withCommand: "true" },
          },
          async (stack) => {
            const up = await stack.up();
            expect(up.resourceChanges).toEqual({ create: 3 });
            expect(up.outputs?.["commandStdout"]).toBe("via command");
            expect(readFileSync(file, "utf8")).toBe("via command");
            expect((await stack.up({ expectNoChanges: true })).resourceChanges).toEqual({ same: 3 });
            expect((await stack.refresh()).resourceChanges).toEqual({ same: 3 });
            expect((await stack.destroy()).resourceChanges).toEqual({ delete: 3 });
            expect(existsSync(file)).toBe(false);
          },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  } else {
    it("command provider missing on this machine: up of a local.Command fails naming the missing plugin, creates nothing, downloads nothing", async () => {
      const dir = tempDir();
      try {
        await withEphemeralStack(
          { engine, workDir: fixture, namePrefix: "smoke-nocmd", config: { markerDir: dir, withCommand: "true" } },
          async (stack) => {
            const up = await stack.runRaw("up");
            expect(up.ok).toBe(false);
            expect(`${up.error}\n${up.engineOutput}`).toMatch(/pulumi-resource-command|resource plugin command/);
            expect(`${up.error}\n${up.engineOutput}`).not.toMatch(/Downloading provider|downloading plugin/i);
            expect(existsSync(path.join(dir, "command.txt"))).toBe(false);
            expect(
              existsSync(
                path.join(
                  engine.env["PULUMI_HOME"] ?? "",
                  "plugins",
                  commandPluginDirName(engine.hostPieces.commandVersion),
                ),
              ),
            ).toBe(false);
          },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
