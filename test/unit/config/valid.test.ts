import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { DEFAULTS, parseMemoryMb } from "../../../config/fleetConfig.js";
import { parseStackConfig as parseFleetConfig, SETTING_NAMES } from "../../../targets/index.js";
import { parseCidr } from "../../../config/cidr.js";
import { isSecretValue } from "../../../config/secretRef.js";
import { rawConfigFromStackFile, StackFileError } from "../../../config/stackFile.js";
import { makeConfigProject, secret, validAws, validLocal, validVps } from "./fixtures.js";
import { removeTempDirs } from "../program/tmp.js";

afterAll(removeTempDirs);

const projectDir = makeConfigProject();
const ctx = { stack: "dev", projectDir };
const repo = path.resolve(__dirname, "../../..");

describe("resolved config", () => {
  it("applies the defaults", () => {
    const c = parseFleetConfig(validLocal(), ctx);
    expect(c.fleetName).toBe("agent-fleet-dev");
    expect(c.approvalRequired).toBe(true);
    expect(c.paused).toBe(false);
    expect(c.purgeOnDestroy).toBe(false);
    expect(c.hostRoot).toBe(path.join(projectDir, ".agent-fleet", "dev"));
    expect(c.agents[0]).toEqual({
      name: "a1",
      codeDir: path.join(projectDir, "agents", "a1"),
      capabilities: [],
      env: {},
      secrets: [],
      resources: { cpus: 1, memoryMb: 1024, pids: 256 },
      approvalRequired: true,
      approvalOverride: false,
      network: { mode: "none" },
      projects: [],
      paused: false,
    });
    expect(c.projects).toEqual([]);
    expect(parseFleetConfig(validVps(), ctx).hostRoot).toBe("/srv/agent-fleet");
  });

  it("network: the agent's own, else the fleet's, else none; lists sorted, JSON strings from Pulumi read", () => {
    const raw = {
      ...validLocal(),
      network: '["b.example.com:443", "a.example.com:80"]',
      agents: [{ name: "a1" }, { name: "a2", network: "full" }],
    };
    const c = parseFleetConfig(raw, ctx);
    expect(c.agents.map((a) => [a.name, a.network])).toEqual([
      [
        "a1",
        {
          mode: "allow",
          allow: [
            { host: "a.example.com", port: 80 },
            { host: "b.example.com", port: 443 },
          ],
        },
      ],
      ["a2", { mode: "full" }],
    ]);
    expect(parseFleetConfig(validLocal(), ctx).network).toEqual({ mode: "none" });
  });

  it("takes the stack's approval switch unless the agent overrides it", () => {
    const raw = {
      ...validLocal(),
      approvalRequired: "false",
      agents: [{ name: "a1" }, { name: "a2", approvalRequired: true }],
    };
    const c = parseFleetConfig(raw, ctx);
    expect(c.approvalRequired).toBe(false);
    expect(c.agents.map((a) => [a.name, a.approvalRequired, a.approvalOverride])).toEqual([
      ["a1", false, false],
      ["a2", true, true],
    ]);
  });

  it("reads memory sizes and stringifies env values", () => {
    expect([
      parseMemoryMb(512),
      parseMemoryMb("512m"),
      parseMemoryMb("2g"),
      parseMemoryMb("1Gi"),
      parseMemoryMb("1.5g"),
    ]).toEqual([512, 512, 2048, 1024, undefined]);
    const c = parseFleetConfig(
      { ...validLocal(), agents: [{ name: "a1", env: { B: 1, A: true }, capabilities: ["z", "a"] }] },
      ctx,
    );
    expect(c.agents[0]!.env).toEqual({ A: "true", B: "1" });
    expect(Object.keys(c.agents[0]!.env)).toEqual(["A", "B"]);
    expect(c.agents[0]!.capabilities).toEqual(["a", "z"]);
  });

  it("resolves secrets to config keys, in this namespace or another", () => {
    const c = parseFleetConfig(
      {
        ...validLocal(),
        agents: [{ name: "a1", secrets: ["OPENAI_KEY", { name: "GH_TOKEN", key: "github:token" }] }],
        OPENAI_KEY: secret(),
      },
      { ...ctx, foreign: { "github:token": secret() } },
    );
    expect(c.agents[0]!.secrets).toEqual([
      { env: "OPENAI_KEY", key: "agent-fleet:OPENAI_KEY" },
      { env: "GH_TOKEN", key: "github:token" },
    ]);
  });

  it("accepts the whole internet only when it is written out", () => {
    const c = parseFleetConfig(
      { ...validVps(), ssh: { privateKey: secret(), allowedCidrs: ["0.0.0.0/0", "::/0"] } },
      ctx,
    );
    expect(c.ssh.allowedCidrs).toEqual(["0.0.0.0/0", "::/0"]);
  });

  it("sizes Fargate tasks: memory defaults to the minimum for the CPU", () => {
    const c = parseFleetConfig(
      {
        ...validAws(),
        agents: [
          { name: "a1", resources: { cpus: 0.5 } },
          { name: "a2", resources: { cpus: 2, memory: "8g" } },
        ],
      },
      ctx,
    );
    expect(c.agents.map((a) => a.resources)).toEqual([
      { cpus: 0.5, memoryMb: 1024, pids: 256 },
      { cpus: 2, memoryMb: 8192, pids: 256 },
    ]);
  });

  it("treats the empty strings Pulumi.yaml uses as defaults as unset", () => {
    const c = parseFleetConfig(
      { ...validLocal(), fleetName: "", hostRoot: "", ssh: {}, vps: {}, image: {}, exoscale: {}, aws: {} },
      ctx,
    );
    expect(c.fleetName).toBe("agent-fleet-dev");
    expect(c.hostRoot).toBe(path.join(projectDir, ".agent-fleet", "dev"));
  });
});

describe("CIDR blocks", () => {
  it.each([
    ["203.0.113.4/32", 4],
    ["10.0.0.0/8", 4],
    ["0.0.0.0/0", 4],
    ["2001:db8::/32", 6],
    ["::/0", 6],
    ["::ffff:192.0.2.0/120", 6],
  ])("accepts %s", (text, family) => {
    expect(parseCidr(text)).toMatchObject({ family });
  });
  it.each(["203.0.113.4", "10.0.0.1/8", "300.1.1.1/32", "10.0.0.0/33", "2001:db8::1/32", "x/1", ""])(
    "rejects %s",
    (text) => {
      expect(parseCidr(text)).toHaveProperty("error");
    },
  );
});

describe("stack files", () => {
  it("reads namespaced and bare keys, marks secure values at any depth, keeps other namespaces apart", () => {
    const file = path.join(projectDir, "Pulumi.x.yaml");
    fs.writeFileSync(
      file,
      [
        "encryptionsalt: v1:abc",
        "config:",
        "  agent-fleet:target: vps",
        "  approvalRequired: false",
        "  agent-fleet:ssh:",
        "    user: ops",
        "    privateKey:",
        "      secure: v1:xyz",
        "  agent-fleet:TOKEN:",
        "    secure: v1:tok",
        "  aws:region: eu-west-1",
      ].join("\n"),
    );
    const raw = rawConfigFromStackFile(file);
    expect(raw.ns.target).toBe("vps");
    expect(raw.ns.approvalRequired).toBe(false);
    expect(isSecretValue((raw.ns.ssh as Record<string, unknown>).privateKey)).toBe(true);
    expect(isSecretValue(raw.ns.TOKEN)).toBe(true);
    expect(raw.foreign).toEqual({ "aws:region": "eu-west-1" });
    expect(JSON.stringify(raw)).not.toContain("v1:xyz");
  });

  it("names the file when it is not YAML or has no config mapping", () => {
    const bad = path.join(projectDir, "Pulumi.bad.yaml");
    fs.writeFileSync(bad, "config: [unclosed\n");
    expect(() => rawConfigFromStackFile(bad)).toThrow(StackFileError);
    expect(() => rawConfigFromStackFile(bad)).toThrow(/Pulumi\.bad\.yaml is not valid YAML/);
    fs.writeFileSync(bad, "config: 3\n");
    expect(() => rawConfigFromStackFile(bad)).toThrow(/"config" must be a mapping/);
    expect(() => rawConfigFromStackFile(path.join(projectDir, "missing.yaml"))).toThrow(/cannot read stack file/);
  });
});

describe("Pulumi.yaml", () => {
  const project = parseYaml(fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8")) as {
    name: string;
    runtime: { name: string; options: { typescript: boolean; nodeargs: string } };
    stackConfigDir: string;
    config: Record<string, { type: string; description: string; default?: unknown; items?: { type: string } }>;
  };

  it("is the agent-fleet project on Node.js with TypeScript (run through tsx), stacks in stacks/", () => {
    expect(project.name).toBe("agent-fleet");
    expect(project.runtime.name).toBe("nodejs");
    // Pulumi's bundled ts-node cannot resolve the program's `.js` import paths; tsx can.
    expect(project.runtime.options.typescript).toBe(false);
    expect(project.runtime.options.nodeargs).toBe("--import tsx");
    expect(project.stackConfigDir).toBe("stacks");
  });

  it("declares exactly the schema's settings, each with a type Pulumi knows and a description", () => {
    expect(Object.keys(project.config).sort()).toEqual([...SETTING_NAMES].sort());
    for (const [key, decl] of Object.entries(project.config)) {
      expect(["string", "integer", "boolean", "array", "object"], key).toContain(decl.type);
      expect(decl.description.length, key).toBeGreaterThan(20);
      if (decl.type === "array") expect(decl.items, key).toBeDefined();
    }
    // Only target and agents are required; everything else has a default.
    expect(
      Object.entries(project.config)
        .filter(([, d]) => d.default === undefined)
        .map(([k]) => k)
        .sort(),
    ).toEqual(["agents", "target"]);
  });

  it("has the schema's defaults, so a stack without them means the same to Pulumi and to `check`", () => {
    expect(project.config.approvalRequired!.default).toBe(DEFAULTS.approvalRequired);
    expect(project.config.paused!.default).toBe(DEFAULTS.paused);
    expect(project.config.purgeOnDestroy!.default).toBe(DEFAULTS.purgeOnDestroy);
    const defaults = Object.fromEntries(
      Object.entries(project.config)
        .filter(([, d]) => d.default !== undefined)
        .map(([k, d]) => [k, d.default]),
    );
    const withDefaults = parseFleetConfig({ ...defaults, ...validLocal() }, ctx);
    expect(withDefaults).toEqual(parseFleetConfig(validLocal(), ctx));
  });
});

describe("example stacks", () => {
  it("local passes the check as shipped", () => {
    const raw = rawConfigFromStackFile(path.join(repo, "stacks", "Pulumi.local.yaml"));
    const c = parseFleetConfig(raw.ns, { stack: "local", projectDir: repo, foreign: raw.foreign });
    expect(c.target).toBe("local");
    expect(c.agents.map((a) => a.name)).toEqual(["agent-1", "agent-2"]);
  });

  it("vps only lacks the private key, which must be set as a secret", () => {
    const raw = rawConfigFromStackFile(path.join(repo, "stacks", "Pulumi.vps.yaml"));
    expect(() => parseFleetConfig(raw.ns, { stack: "vps", projectDir: repo, foreign: raw.foreign })).toThrow(
      /^Invalid stack config: 1 problem .*\n {2}agent-fleet:ssh\.privateKey: is required for target vps/,
    );
    (raw.ns.ssh as Record<string, unknown>).privateKey = secret();
    expect(parseFleetConfig(raw.ns, { stack: "vps", projectDir: repo, foreign: raw.foreign }).ssh.allowedCidrs).toEqual(
      ["198.51.100.7/32"],
    );
  });
});
