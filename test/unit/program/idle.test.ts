import { afterAll, describe, expect, it } from "vitest";
import { changedResources, makeProject, runProgram, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * Idle scale-down under mocks: `idle.afterMinutes` (fleet-wide, an agent's own overrides it)
 * reaches only the runtime's environment of the agents it concerns, and the fleet gets one
 * host-side waker step that knows the agents that should run (paused ones left out); on SSH
 * hosts it is a systemd service run by root.
 */

const dir = makeProject(["a1", "a2", "a3"]);
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nidle-test-only-key\n-----END OPENSSH PRIVATE KEY-----\n";

function local(over: Record<string, unknown> = {}, agents?: unknown[]): StackConfig {
  return {
    config: {
      target: "local",
      agents: agents ?? [{ name: "a1", capabilities: ["edit"] }, { name: "a2" }, { name: "a3" }],
      ...over,
    },
  };
}

describe("idle scale-down", () => {
  it("sets AGENT_IDLE_AFTER_SECONDS from whole minutes, the agent's own over the fleet's, and changes only those agents", async () => {
    const before = await runProgram(dir, local());
    expect(before.ofType("command:local:Command").filter((r) => r.name.endsWith("-idle-waker"))).toEqual([]);
    const after = await runProgram(
      dir,
      local({ idle: { afterMinutes: 10 } }, [
        { name: "a1", capabilities: ["edit"] },
        { name: "a2", idle: { afterMinutes: 3 } },
        { name: "a3", paused: true },
      ]),
    );
    const env = (name: string) => after.byName(`fleet-${name}-container`).inputs.triggers[0].env;
    expect([env("a1").AGENT_IDLE_AFTER_SECONDS, env("a2").AGENT_IDLE_AFTER_SECONDS]).toEqual(["600", "180"]);
    const waker = after.byName("fleet-idle-waker").inputs;
    // The local target installs the program only (no unit); paused a3 is not among the agents.
    expect(waker.create).toMatch(/export AF_UNIT=''/);
    expect(waker.stdin).toMatch(/export AF_AGENTS='a1:agent-fleet-test-a1:edit a2:agent-fleet-test-a2:'\n/);
    expect(waker.delete).toMatch(/\nset -- remove\n/);

    const one = await runProgram(
      dir,
      local({}, [{ name: "a1", capabilities: ["edit"], idle: { afterMinutes: 10 } }, { name: "a2" }, { name: "a3" }]),
    );
    expect(changedResources(before, one).filter((r) => !r.endsWith("-run"))).toEqual([
      "fleet-a1-container",
      "fleet-idle-waker",
    ]);
  });

  it("on an SSH host the waker is a root systemd service that starts at boot", async () => {
    const run = await runProgram(dir, {
      config: {
        target: "vps",
        vps: { host: "192.0.2.10" },
        ssh: { allowedCidrs: ["198.51.100.7/32"], privateKey: PRIVATE_KEY },
        agents: [{ name: "a1", idle: { afterMinutes: 10 } }],
      },
      secretKeys: ["agent-fleet:ssh"],
    });
    const waker = run.byName("fleet-idle-waker").inputs;
    expect(waker.create).toMatch(/^sudo -n /);
    expect(waker.create).toMatch(/AF_UNIT=agent-fleet-agent-fleet-test-idle-waker\n/);
    expect(waker.create).toContain("ExecStart=/bin/sh /srv/agent-fleet/bin/idle-waker loop");
    expect(waker.stdin).toContain("export AF_STATE=/srv/agent-fleet/run/idle");
  });
});
