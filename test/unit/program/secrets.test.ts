import { afterAll, describe, expect, it, vi } from "vitest";
import { rawConfigFromPulumi } from "../../../config/pulumiConfig.js";
import { isSecretValue } from "../../../config/secretRef.js";
import { makeProject, runProgram, strings, type ProgramRun } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * Secrets are Pulumi secrets end to end: read with requireSecret, carried only in secret inputs
 * (the env-file command's stdin, the SSH connection's private key), never in a command string, a
 * plain input, an output, or the command's logs.
 */

const OPENAI = "sk-test-Zq81hX0vPL3mN7wR2eT5";
const GITHUB = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ng";
const PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUtest-only-key\n-----END OPENSSH PRIVATE KEY-----\n";
const dir = makeProject(["a1", "a2"]);

const PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMuZ8Qj8pS6b7W4yXlM0CqR3vT2mN9dK1eH5aF7sB0Lx ops@test";

function vpsWithSecrets(ssh: Record<string, unknown> = {}) {
  return {
    config: {
      target: "vps",
      vps: { host: "192.0.2.10" },
      ssh: { allowedCidrs: ["198.51.100.7/32"], privateKey: PRIVATE_KEY, ...ssh },
      agents: [{ name: "a1", secrets: ["OPENAI_KEY", { name: "GH_TOKEN", key: "github:token" }] }, { name: "a2" }],
      OPENAI_KEY: OPENAI,
    },
    foreign: { "github:token": GITHUB },
    secretKeys: ["agent-fleet:ssh", "agent-fleet:OPENAI_KEY", "github:token"],
  };
}

function assertNoPlaintext(run: ProgramRun, values: string[]) {
  const places: string[] = [];
  for (const r of run.resources) {
    for (const s of strings(r.inputs)) {
      for (const v of values) if (s.text.includes(v) && !s.secret) places.push(`${r.name}${s.path}`);
    }
  }
  for (const s of strings(run.outputs)) {
    for (const v of values) if (s.text.includes(v) && !s.secret) places.push(`output${s.path}`);
  }
  expect(places, "secret values outside secret envelopes").toEqual([]);
}

describe("secrets", () => {
  it("never appear in a plain input, a command string, an output or a log line", async () => {
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      }),
    );
    let run: ProgramRun;
    try {
      run = await runProgram(dir, vpsWithSecrets({ bootstrapUser: "root", publicKey: PUB }), { preview: true });
      const previewLines = logged.length;
      // `pulumi up` runs the program again for the update: the warning is not repeated there.
      await runProgram(dir, vpsWithSecrets({ bootstrapUser: "root", publicKey: PUB }));
      expect(logged.slice(previewLines).join("\n")).not.toContain("ssh.bootstrapUser");
    } finally {
      for (const s of spies) s.mockRestore();
    }
    // The program does log (the bootstrapUser warning), and no line carries a secret.
    expect(logged.filter((l) => l.includes("ssh.bootstrapUser (root) is set"))).toHaveLength(1);
    for (const v of [OPENAI, GITHUB, "test-only-key"]) expect(logged.join("\n")).not.toContain(v);
    assertNoPlaintext(run, [OPENAI, GITHUB, PRIVATE_KEY.split("\n")[1]!]);
    // Outputs carry no secret at all, not even wrapped.
    for (const s of strings(run.outputs)) expect(s.secret, s.path).toBe(false);
  });

  it("reach the host only on the stdin of a write step that logs nothing, into a 0600 env-file", async () => {
    const run = await runProgram(dir, vpsWithSecrets());
    const step = run.byName("fleet-a1-secrets").inputs;
    expect(step.logging).toBe("none");
    const stdin = strings(step.stdin);
    expect(stdin).toHaveLength(1);
    expect(stdin[0]!.secret).toBe(true);
    expect(stdin[0]!.text).toBe(`OPENAI_KEY=${OPENAI}\nGH_TOKEN=${GITHUB}\n`);
    expect(step.create).toMatch(/^sudo -n sh -c /);
    expect(step.create).toContain("export AF_MODE=0600");
    expect(step.create).toContain("export AF_PATH=/srv/agent-fleet/secrets/a1.env");
    expect(step.create).toContain("umask 077");
    expect(step.delete).toContain("rm -f /srv/agent-fleet/secrets/a1.env");
    // The container gets the file with --env-file and is recreated when the file is.
    const container = run.byName("fleet-a1-container").inputs;
    expect(container.triggers[0].envFile).toBe("/srv/agent-fleet/secrets/a1.env");
    expect(container.triggers[1]).toBe("fleet-a1-secrets-id");
    expect(container.create).toContain("--env-file /srv/agent-fleet/secrets/a1.env");
    // An agent without secrets has no env-file and no secrets step.
    expect(run.resources.some((r) => r.name === "fleet-a2-secrets")).toBe(false);
    expect(run.byName("fleet-a2-container").inputs.triggers[0].envFile).toBeUndefined();
  });

  it("protect the SSH private key in every connection", async () => {
    const run = await runProgram(dir, vpsWithSecrets());
    const remote = run.resources.filter((r) => r.type.startsWith("command:remote:"));
    expect(remote.length).toBeGreaterThan(5);
    for (const r of remote) {
      const key = strings(r.inputs.connection).filter((s) => s.path === ".privateKey");
      expect(key, r.name).toHaveLength(1);
      expect(key[0]!.secret, r.name).toBe(true);
    }
  });

  it("are read as secret markers by the config layer, never as values", async () => {
    await runProgram(dir, vpsWithSecrets());
    const raw = rawConfigFromPulumi();
    expect(isSecretValue(raw.ns.OPENAI_KEY)).toBe(true);
    expect(isSecretValue((raw.ns.ssh as Record<string, unknown>).privateKey)).toBe(true);
    expect(isSecretValue(raw.foreign["github:token"])).toBe(true);
    expect(JSON.stringify(raw)).not.toContain(OPENAI);
  });

  it("stored in plain text stop the program before anything is registered", async () => {
    const cfg = vpsWithSecrets();
    cfg.secretKeys = ["agent-fleet:ssh"];
    await expect(runProgram(dir, cfg)).rejects.toThrow(
      /agent-fleet:agents\[0\]\.secrets\[0\]: config key agent-fleet:OPENAI_KEY is stored in plain text[\s\S]*agent-fleet:agents\[0\]\.secrets\[1\]: config key github:token is stored in plain text/,
    );
    const plainKey = vpsWithSecrets();
    plainKey.secretKeys = ["agent-fleet:OPENAI_KEY", "github:token"];
    await expect(runProgram(dir, plainKey)).rejects.toThrow(/agent-fleet:ssh\.privateKey: must be stored as a secret/);
  });
});
