import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, plain, type Registered, type StackConfig } from "./harness.js";
import { MARKER } from "./programUnderMocks.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

const repo = path.resolve(__dirname, "../../..");

/** The program under mocks in a tsx process (see programUnderMocks.ts). */
async function runProgramInProcess(projectDir: string, stack: StackConfig) {
  const { stdout } = await promisify(execFile)(
    path.join(repo, "node_modules/.bin/tsx"),
    [path.join(__dirname, "programUnderMocks.ts"), projectDir, JSON.stringify(stack)],
    { cwd: repo, encoding: "utf8", maxBuffer: 64 << 20 },
  );
  const r = JSON.parse(stdout.slice(stdout.indexOf(MARKER) + MARKER.length)) as {
    resources: Array<Registered & { providerBytes?: number }>;
    outputs: Record<string, unknown>;
  };
  const byName = (name: string) => {
    const found = r.resources.find((x) => x.name === name);
    if (!found) throw new Error(`no resource ${name}; have ${r.resources.map((x) => x.name).join(", ")}`);
    return found;
  };
  return { ...r, byName, ofType: (t: string) => r.resources.filter((x) => x.type === t) };
}

/**
 * The exoscale target as wired by the program (ExoscaleVps itself is tested in test/unit/exoscale/):
 * the new machine's address feeds the same SshHost and fleet as the vps target, after its
 * readiness check.
 */
const dir = makeProject(["a1"]);
const PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMuZ8Qj8pS6b7W4yXlM0CqR3vT2mN9dK1eH5aF7sB0Lx ops@test";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nexo-test-key\n-----END OPENSSH PRIVATE KEY-----\n";

describe("exoscale target", () => {
  it("creates the VPS from config, then bootstraps it and runs the fleet on it", async () => {
    const run = await runProgramInProcess(dir, {
      config: {
        target: "exoscale",
        exoscale: { zone: "de-fra-1", instanceType: "standard.medium", diskSizeGb: 100, elasticIp: false },
        ssh: { allowedCidrs: ["198.51.100.7/32"], publicKey: PUB, privateKey: KEY },
        agents: [{ name: "a1" }],
      },
      secretKeys: ["agent-fleet:ssh"],
    });
    expect(run.ofType("agent-fleet:exoscale:ExoscaleVps").map((r) => r.name)).toEqual(["vps"]);
    const instance = plain(run.byName("vps-instance").inputs);
    expect(instance).toMatchObject({
      zone: "de-fra-1",
      instanceType: "standard.medium",
      diskSizeGb: 100,
      templateName: "Linux Ubuntu 24.04 LTS 64-bit",
    });
    expect(plain(run.byName("vps-sg").inputs).allowedCidrs).toEqual(["198.51.100.7/32"]);
    // The SSH host connects to the instance's address as ops, after cloud-init has finished.
    expect(plain(run.byName("host-wait-ready").inputs.connection)).toMatchObject({ host: "203.0.113.77", user: "ops" });
    expect(run.ofType("command:remote:Command").some((r) => r.name === "fleet-a1-container")).toBe(true);
    expect(run.outputs.sshCommand).toBe("ssh ops@203.0.113.77");
    expect(run.outputs.hostAddress).toBe("203.0.113.77");
    expect(run.outputs.details).toMatchObject({ zone: "de-fra-1", hostRoot: "/srv/agent-fleet" });
    expect(typeof (run.outputs.details as { costBasis: string }).costBasis).toBe("string");
    // Destroy deletes the machine and its disk: the output must not promise that data stays.
    const onDestroy = (run.outputs.details as { onDestroy: string }).onDestroy;
    expect(onDestroy).toMatch(/DELETES the Exoscale machine and its disk/);
    expect(onDestroy).not.toMatch(/keeps/);
    expect(JSON.stringify(run.outputs)).not.toContain("exo-test-key");
    // The Exoscale resources are dynamic-provider resources, serialized as in \`pulumi up\`.
    expect(run.byName("vps-instance").providerBytes).toBeGreaterThan(1000);
  }, 120_000);
});
