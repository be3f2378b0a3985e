import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExoscaleSimulator } from "../../../harness/exoscale/simulator.js";

/**
 * `pulumi up` stores each dynamic provider as serialized JavaScript and later runs that text in a
 * separate Node.js process (the dynamic-provider host: `require-from-string`, then `.handler()`).
 * This test does the same: serialize in a tsx process (as a Pulumi TypeScript program runs),
 * load the text in a plain `node`, configure it with the stack config (or the environment), and
 * create + delete real resources on the simulator.
 */
const repo = resolve(__dirname, "../../../..");
const tsx = join(repo, "node_modules/.bin/tsx");
const requireFromString = createRequire(join(repo, "node_modules/@pulumi/pulumi/package.json")).resolve(
  "require-from-string",
);

const SECRET_MARKER = "marker-secret-that-must-not-be-serialized";
let sim: ExoscaleSimulator;
let texts: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "af-exo-ser-"));

beforeAll(async () => {
  sim = await ExoscaleSimulator.start({ pendingPolls: 1 });
  // A marker secret in the serializing process's environment must not end up in the stored text.
  const env = { ...process.env, EXOSCALE_API_KEY: "EXOmarkerkey", EXOSCALE_API_SECRET: SECRET_MARKER };
  const out = execFileSync(tsx, [join(repo, "test/harness/exoscale/serializeProviders.ts")], {
    cwd: repo,
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  texts = JSON.parse(out) as Record<string, string>;
}, 120_000);

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `steps` (JS source using `p` = the deserialized provider) in a fresh node process.
 * Asynchronously: the simulator serves from this very process.
 */
async function runSerialized(
  name: string,
  steps: string,
  opts: { config?: Record<string, string>; env?: Record<string, string> },
): Promise<unknown> {
  const providerFile = join(dir, `${name}.txt`);
  writeFileSync(providerFile, texts[name]!);
  const driver = join(dir, `drive-${name}-${Math.random().toString(36).slice(2)}.cjs`);
  writeFileSync(
    driver,
    `const fs = require("fs");
const requireFromString = require(${JSON.stringify(requireFromString)});
(async () => {
  const p = requireFromString(fs.readFileSync(${JSON.stringify(providerFile)}, "utf8")).handler();
  const cfg = ${JSON.stringify(opts.config ?? null)};
  if (cfg) await p.configure({ config: { get: (k) => cfg[k], require: (k) => cfg[k] } });
  const result = await (async () => { ${steps} })();
  process.stdout.write(JSON.stringify(result));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`,
  );
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...(opts.env ?? {}) };
  const { stdout } = await promisify(execFile)(process.execPath, [driver], { env, encoding: "utf8" });
  return JSON.parse(stdout) as unknown;
}

describe("serialized dynamic providers", () => {
  it("capture only Node built-ins by require (no zod, yaml, Pulumi SDK)", () => {
    for (const [name, text] of Object.entries(texts)) {
      const requires = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      expect(requires, name).toEqual(requires.filter((r) => r === "crypto"));
      expect(text.length, name).toBeLessThan(200_000);
      expect(text, name).not.toContain(SECRET_MARKER);
      expect(text, name).not.toContain("EXOmarkerkey");
    }
  });

  it("SSH key + security group: create and delete from the stored text, credentials from the stack config", async () => {
    const config = {
      "exoscale:key": sim.credentials.apiKey,
      "exoscale:secret": sim.credentials.apiSecret,
      "exoscale:endpoint": sim.url,
    };
    const key = (await runSerialized(
      "sshKey",
      `const r = await p.create({ zone: "ch-gva-2", name: "ser-key", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yYWdlbnRmbGVldHRlc3RzMDAwMDAw x" });
       return r;`,
      { config },
    )) as { id: string; outs: { fingerprint: string } };
    expect(key.id).toBe("ser-key");
    expect(sim.inventory.sshKeys.map((k) => k.name)).toContain("ser-key");
    const sg = (await runSerialized(
      "securityGroup",
      `const r = await p.create({ zone: "ch-gva-2", name: "ser-sg", description: "", allowedCidrs: ["203.0.113.9/32"], port: 22 });
       const d = await p.diff(r.id, r.outs, { ...r.outs, allowedCidrs: ["203.0.113.10/32"] });
       await p.delete(r.id, r.outs);
       return { r, d };`,
      { config },
    )) as { r: { id: string; outs: { rules: unknown[] } }; d: { replaces: string[] } };
    expect(sg.r.outs.rules).toHaveLength(1);
    expect(sg.d.replaces).toEqual([]);
    expect(sim.inventory.securityGroups.find((g) => g.id === sg.r.id)).toBeUndefined();
    // Twice: the second delete meets a 404, which must count as success in the serialized copy too.
    await runSerialized(
      "sshKey",
      `await p.delete("ser-key", { zone: "ch-gva-2" }); await p.delete("ser-key", { zone: "ch-gva-2" }); return null;`,
      { config },
    );
    expect(sim.inventory.sshKeys.map((k) => k.name)).not.toContain("ser-key");
  });

  it("instance: credentials from the environment when the stack config has none", async () => {
    const env = {
      EXOSCALE_API_KEY: sim.credentials.apiKey,
      EXOSCALE_API_SECRET: sim.credentials.apiSecret,
      EXOSCALE_API_ENDPOINT: sim.url,
    };
    sim.setNextPublicIp("127.0.0.1");
    const r = (await runSerialized(
      "instance",
      `return await p.create({ zone: "ch-gva-2", name: "ser-vm", instanceType: "standard.small", diskSizeGb: 10,
         templateName: "Linux Ubuntu 24.04 LTS 64-bit", userData: "#cloud-config\\n", securityGroupIds: [], sshKeyName: "none", labels: {} })
         .catch((e) => ({ error: String(e.message) }));`,
      { env },
    )) as { error?: string };
    // The SSH key "none" does not exist: the API refusal comes back with status and message.
    expect(r.error).toMatch(/HTTP 400: Invalid request: SSH key "none" not found/);
    sim.setNextPublicIp(undefined);
  });

  it("without any credentials, says which settings are missing", async () => {
    await expect(runSerialized("elasticIp", `return await p.delete("x", { zone: "ch-gva-2" });`, {})).rejects.toThrow(
      /exoscale:key \(or EXOSCALE_API_KEY\)/,
    );
  });
});
