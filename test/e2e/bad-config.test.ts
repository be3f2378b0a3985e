/**
 * Bad config through the real engine: `pulumi up` of the project's own program (the repository root,
 * Pulumi.yaml + index.ts) with an invalid stack config fails before registering a single resource, and
 * the engine's error names the offending key path.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../harness/engine/engineContext.js";
import { withEphemeralStack } from "../harness/engine/ephemeralStack.js";

const engine = inject("engine");

describe("bad config through the real engine", () => {
  it("up fails before creating anything, naming agent-fleet:agents[1].name", async () => {
    await withEphemeralStack(
      {
        engine,
        workDir: REPO_ROOT,
        namePrefix: "bad-config",
        config: {
          "agent-fleet:target": "local",
          "agent-fleet:agents": { object: [{ name: "agent-1" }, { name: "Agent_2" }] },
        },
      },
      async (stack) => {
        const up = await stack.runRaw("up");
        expect(up.ok).toBe(false);
        const said = `${up.error ?? ""}\n${up.engineOutput}`;
        expect(said).toContain("agent-fleet:agents[1].name");
        expect(said).toMatch(/lowercase DNS label/);

        // Nothing but the stack itself was registered: no provider, no component, no command.
        const types = (await stack.resources()).map((r) => r.type);
        expect(types.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
        // And nothing was written for the local target's host root.
        expect(existsSync(path.join(REPO_ROOT, ".agent-fleet", stack.name))).toBe(false);
      },
    );
  });
});
