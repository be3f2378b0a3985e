import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../config/fleetConfig.js";
import { checkStackConfig as checkFleetConfig, parseStackConfig as parseFleetConfig } from "../../../targets/index.js";
import { makeConfigProject, PUBLIC_KEY, secret, validAws, validExoscale, validLocal, validVps } from "./fixtures.js";
import { removeTempDirs } from "../program/tmp.js";

afterAll(removeTempDirs);

/**
 * A corpus of invalid stack configs. Each must be rejected with the expected key path(s) in the
 * message (and, where it matters, words that tell the user what to do).
 */
const projectDir = makeConfigProject();
const ctx = { stack: "dev", projectDir };

type Case = [title: string, config: Record<string, unknown>, keys: string[], words?: RegExp];

const withAgents = (agents: unknown[], base = validLocal()) => ({ ...base, agents });
const withSsh = (ssh: Record<string, unknown>, base = validVps()) => ({
  ...base,
  ssh: { ...(base.ssh as object), ...ssh },
});

const corpus: Case[] = [
  ["no target, no agents", {}, ["agent-fleet:target", "agent-fleet:agents"], /is required/],
  [
    "unknown target",
    { ...validLocal(), target: "kubernetes" },
    ["agent-fleet:target"],
    /one of local, vps, exoscale, aws/,
  ],
  ["agents is not a list", { ...validLocal(), agents: "a1" }, ["agent-fleet:agents"], /list of agents/],
  ["empty agent list", withAgents([]), ["agent-fleet:agents"], /at least one agent/],
  ["agent is not a mapping", withAgents(["a1"]), ["agent-fleet:agents[0]"], /mapping/],
  [
    "agent without name",
    withAgents([{ name: "a1" }, { code: "agents/a2" }]),
    ["agent-fleet:agents[1].name"],
    /required/,
  ],
  [
    "uppercase agent name",
    withAgents([{ name: "a1" }, { name: "Agent_2" }]),
    ["agent-fleet:agents[1].name"],
    /lowercase DNS label/,
  ],
  ["name ending in a hyphen", withAgents([{ name: "a1-" }]), ["agent-fleet:agents[0].name"], /DNS label/],
  [
    "duplicate agent names",
    withAgents([{ name: "a1" }, { name: "a1" }]),
    ["agent-fleet:agents[1].name"],
    /already used by agents\[0\]/,
  ],
  [
    "code folder missing",
    withAgents([{ name: "a1" }, { name: "ghost" }]),
    ["agent-fleet:agents[1].code"],
    /does not exist/,
  ],
  ["code is a file", withAgents([{ name: "a1", code: "agents/file" }]), ["agent-fleet:agents[0].code"], /not a folder/],
  [
    "typo in an agent key",
    withAgents([{ name: "a1", capabilites: ["x"] }]),
    ["agent-fleet:agents[0].capabilites"],
    /did you mean "capabilities"/,
  ],
  [
    "capabilities not a list",
    withAgents([{ name: "a1", capabilities: "edit" }]),
    ["agent-fleet:agents[0].capabilities"],
  ],
  [
    "capability with a comma",
    withAgents([{ name: "a1", capabilities: ["edit,code"] }]),
    ["agent-fleet:agents[0].capabilities[0]"],
  ],
  // The runtime refuses these at start (AGENT_CAPABILITIES), so check and up refuse them too.
  [
    "capability with a dot",
    withAgents([{ name: "a1", capabilities: ["code.review"] }]),
    ["agent-fleet:agents[0].capabilities[0]"],
    /lowercase letters, digits and dashes/,
  ],
  [
    "capability with an underscore",
    withAgents([{ name: "a1", capabilities: ["code_review"] }]),
    ["agent-fleet:agents[0].capabilities[0]"],
  ],
  [
    "capability twice",
    withAgents([{ name: "a1", capabilities: ["edit", "edit"] }]),
    ["agent-fleet:agents[0].capabilities"],
    /twice/,
  ],
  [
    "env shadows the approval switch",
    withAgents([{ name: "a1", env: { APPROVAL_REQUIRED: "false" } }]),
    ["agent-fleet:agents[0].env.APPROVAL_REQUIRED"],
    /set by agent-fleet/,
  ],
  [
    "env name invalid",
    withAgents([{ name: "a1", env: { "MY-VAR": "1" } }]),
    ["agent-fleet:agents[0].env.MY-VAR"],
    /environment variable name/,
  ],
  ["env value is an object", withAgents([{ name: "a1", env: { X: { nested: 1 } } }]), ["agent-fleet:agents[0].env.X"]],
  [
    "secret not set",
    withAgents([{ name: "a1", secrets: ["OPENAI_KEY"] }]),
    ["agent-fleet:agents[0].secrets[0]"],
    /not set; set it with `pulumi config set --secret OPENAI_KEY/,
  ],
  [
    "secret stored in plain text",
    { ...withAgents([{ name: "a1", secrets: ["OPENAI_KEY"] }]), OPENAI_KEY: "sk-plain" },
    ["agent-fleet:agents[0].secrets[0]"],
    /plain text/,
  ],
  [
    "secret also in env",
    { ...withAgents([{ name: "a1", env: { TOKEN: "x" }, secrets: ["TOKEN"] }]), TOKEN: secret() },
    ["agent-fleet:agents[0].secrets[0]"],
    /either plain or secret/,
  ],
  ["secret with a bad name", withAgents([{ name: "a1", secrets: ["api-key"] }]), ["agent-fleet:agents[0].secrets[0]"]],
  [
    "foreign secret missing",
    withAgents([{ name: "a1", secrets: [{ name: "KEY", key: "vendor:apiKey" }] }]),
    ["agent-fleet:agents[0].secrets[0]"],
    /vendor:apiKey is not set/,
  ],
  [
    "cpus zero",
    withAgents([{ name: "a1", resources: { cpus: 0 } }]),
    ["agent-fleet:agents[0].resources.cpus"],
    /greater than 0/,
  ],
  [
    "memory unreadable",
    withAgents([{ name: "a1", resources: { memory: "lots" } }]),
    ["agent-fleet:agents[0].resources.memory"],
    /size in MiB/,
  ],
  [
    "memory too small",
    withAgents([{ name: "a1", resources: { memory: "32m" } }]),
    ["agent-fleet:agents[0].resources.memory"],
    /at least 64/,
  ],
  [
    "pids fractional",
    withAgents([{ name: "a1", resources: { pids: 10.5 } }]),
    ["agent-fleet:agents[0].resources.pids"],
    /whole number/,
  ],
  [
    "typo in resources",
    withAgents([{ name: "a1", resources: { cpu: 2 } }]),
    ["agent-fleet:agents[0].resources.cpu"],
    /did you mean "cpus"/,
  ],
  [
    "task timeout negative",
    withAgents([{ name: "a1", taskTimeoutSeconds: -5 }]),
    ["agent-fleet:agents[0].taskTimeoutSeconds"],
    /at least 1/,
  ],
  [
    "approval override not boolean",
    withAgents([{ name: "a1", approvalRequired: "maybe" }]),
    ["agent-fleet:agents[0].approvalRequired"],
    /true or false/,
  ],
  [
    "network not a mode",
    withAgents([{ name: "a1", network: "some" }]),
    ["agent-fleet:agents[0].network"],
    /"none", "full" or a list/,
  ],
  [
    "network entry without a port",
    withAgents([{ name: "a1", network: ["api.example.com:443", "api.example.com"] }]),
    ["agent-fleet:agents[0].network[1]"],
    /host:port/,
  ],
  [
    "network entry with a scheme",
    withAgents([{ name: "a1", network: ["https://api.example.com:443"] }]),
    ["agent-fleet:agents[0].network[0]"],
    /host:port/,
  ],
  [
    "network entry twice",
    withAgents([{ name: "a1", network: ["a.example.com:443", "A.example.com:443"] }]),
    ["agent-fleet:agents[0].network[1]"],
    /twice/,
  ],
  [
    "network port out of range",
    { ...validLocal(), network: ["a.example.com:70000"] },
    ["agent-fleet:network[0]"],
    /1-65535/,
  ],
  [
    "env sets a proxy",
    withAgents([{ name: "a1", env: { HTTPS_PROXY: "http://evil:1" } }]),
    ["agent-fleet:agents[0].env.HTTPS_PROXY"],
    /set by agent-fleet/,
  ],
  [
    "stack approval not boolean",
    { ...validLocal(), approvalRequired: "yes" },
    ["agent-fleet:approvalRequired"],
    /true or false/,
  ],
  ["paused not boolean", { ...validLocal(), paused: 1 }, ["agent-fleet:paused"], /true or false/],
  [
    "agent budget not a number",
    withAgents([{ name: "a1", budget: { usdPerDay: "lots" } }]),
    ["agent-fleet:agents[0].budget.usdPerDay"],
    /amount in US dollars/,
  ],
  [
    "fleet budget negative",
    { ...validLocal(), budget: { usdPerTask: -1 } },
    ["agent-fleet:budget.usdPerTask"],
    /greater than 0/,
  ],
  [
    "budget key misspelt",
    withAgents([{ name: "a1", budget: { usdPerDya: 5 } }]),
    ["agent-fleet:agents[0].budget.usdPerDya"],
    /did you mean "usdPerDay"/,
  ],
  [
    "review approvals zero",
    { ...validLocal(), review: { approvals: 0 } },
    ["agent-fleet:review.approvals"],
    /at least 1/,
  ],
  [
    "agent review approvals over the limit",
    withAgents([{ name: "a1", review: { approvals: 11 } }]),
    ["agent-fleet:agents[0].review.approvals"],
    /at most 10/,
  ],
  [
    "reviewer agent unknown",
    { ...validLocal(), review: { reviewers: ["a2", "nobody"] } },
    ["agent-fleet:review.reviewers[1]"],
    /no agent is named "nobody" \(agents: a1, a2\)/,
  ],
  [
    "reviewer agent reviewing itself",
    withAgents([{ name: "a1", review: { reviewers: ["a1", "a2"] } }, { name: "a2" }]),
    ["agent-fleet:agents[0].review.reviewers[0]"],
    /a1 cannot review its own proposals/,
  ],
  [
    "reviewer listed twice",
    withAgents([{ name: "a1", review: { reviewers: ["a2", "a2"] } }, { name: "a2" }]),
    ["agent-fleet:agents[0].review.reviewers[1]"],
    /"a2" is listed twice/,
  ],
  [
    "review quorum above the reviewers an agent has (never itself)",
    { ...validLocal(), review: { reviewers: ["a1", "a2"], quorum: 2 } },
    ["agent-fleet:review.quorum"],
    /2 is more than the 1 reviewer\(s\) agent a1 has \(a2; an agent never reviews its own proposals\)/,
  ],
  [
    "review quorum without reviewers",
    { ...validLocal(), review: { quorum: 1 } },
    ["agent-fleet:review.quorum"],
    /name the reviewer agents/,
  ],
  [
    "review reviewers not a list",
    { ...validLocal(), review: { reviewers: "a2" } },
    ["agent-fleet:review.reviewers"],
    /list of agent names/,
  ],
  [
    "idle afterMinutes zero",
    { ...validLocal(), idle: { afterMinutes: 0 } },
    ["agent-fleet:idle.afterMinutes"],
    /at least 1/,
  ],
  [
    "agent idle afterMinutes not whole",
    withAgents([{ name: "a1", idle: { afterMinutes: 2.5 } }]),
    ["agent-fleet:agents[0].idle.afterMinutes"],
    /whole number/,
  ],
  [
    "agent idle afterMinutes over a week",
    withAgents([{ name: "a1", idle: { afterMinutes: 10081 } }]),
    ["agent-fleet:agents[0].idle.afterMinutes"],
    /at most 10080/,
  ],
  [
    "idle key misspelt",
    withAgents([{ name: "a1", idle: { afterMinute: 10 } }]),
    ["agent-fleet:agents[0].idle.afterMinute"],
    /did you mean "afterMinutes"/,
  ],
  ["idle not a mapping", { ...validLocal(), idle: 10 }, ["agent-fleet:idle"], /afterMinutes/],
  [
    "idle on Fargate (nothing there would wake the agent)",
    { ...validAws(), idle: { afterMinutes: 10 } },
    ["agent-fleet:idle"],
    /not supported on target aws/,
  ],
  [
    "agent paused not boolean",
    withAgents([{ name: "a1", paused: "yes" }]),
    ["agent-fleet:agents[0].paused"],
    /true or false/,
  ],
  [
    "unknown top-level setting",
    { ...validLocal(), approvalRequird: false },
    ["agent-fleet:approvalRequird"],
    /did you mean "approvalRequired"/,
  ],
  ["fleet name invalid", { ...validLocal(), fleetName: "My Fleet" }, ["agent-fleet:fleetName"], /DNS label/],
  ["default fleet name from a bad stack name", validLocal(), ["agent-fleet:fleetName"], /set fleetName explicitly/],
  ["host root relative", { ...validLocal(), hostRoot: "srv/agents" }, ["agent-fleet:hostRoot"], /absolute/],
  [
    "host root with a space",
    { ...validLocal(), hostRoot: "/srv/my agents" },
    ["agent-fleet:hostRoot"],
    /without spaces/,
  ],
  ["vps without host", { ...validVps(), vps: {} }, ["agent-fleet:vps.host"], /required for target vps/],
  [
    "vps without allowedCidrs",
    withSsh({ allowedCidrs: undefined }),
    ["agent-fleet:ssh.allowedCidrs"],
    /required for target vps.*0\.0\.0\.0\/0/,
  ],
  ["vps with empty allowedCidrs", withSsh({ allowedCidrs: [] }), ["agent-fleet:ssh.allowedCidrs"], /required/],
  [
    "CIDR without prefix",
    withSsh({ allowedCidrs: ["198.51.100.7"] }),
    ["agent-fleet:ssh.allowedCidrs[0]"],
    /prefix length/,
  ],
  [
    "CIDR with host bits",
    withSsh({ allowedCidrs: ["10.1.2.3/8"] }),
    ["agent-fleet:ssh.allowedCidrs[0]"],
    /did you mean "10.0.0.0\/8"/,
  ],
  [
    "CIDR not an address",
    withSsh({ allowedCidrs: ["198.51.100.0/24", "office/32"] }),
    ["agent-fleet:ssh.allowedCidrs[1]"],
    /not an IPv4 or IPv6 address/,
  ],
  [
    "IPv6 prefix too long",
    withSsh({ allowedCidrs: ["2001:db8::/129"] }),
    ["agent-fleet:ssh.allowedCidrs[0]"],
    /at most 128/,
  ],
  [
    "vps without private key",
    withSsh({ privateKey: undefined }),
    ["agent-fleet:ssh.privateKey"],
    /pulumi config set --secret --path ssh.privateKey/,
  ],
  [
    "private key in plain text",
    withSsh({ privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }),
    ["agent-fleet:ssh.privateKey"],
    /plain text/,
  ],
  ["ssh as root", withSsh({ user: "root" }), ["agent-fleet:ssh.user"], /bootstrapUser/],
  ["ssh port out of range", withSsh({ port: 70000 }), ["agent-fleet:ssh.port"], /at most 65535/],
  [
    "bootstrap user without public key",
    withSsh({ bootstrapUser: "root" }),
    ["agent-fleet:ssh.publicKey"],
    /bootstrapUser/,
  ],
  ["public key malformed", withSsh({ publicKey: "AAAAC3Nza" }), ["agent-fleet:ssh.publicKey"], /OpenSSH public key/],
  [
    "exoscale without zone",
    { ...validExoscale(), exoscale: {} },
    ["agent-fleet:exoscale.zone"],
    /required for target exoscale/,
  ],
  [
    "exoscale unknown zone",
    { ...validExoscale(), exoscale: { zone: "us-east-1" } },
    ["agent-fleet:exoscale.zone"],
    /ch-gva-2/,
  ],
  [
    "exoscale bad instance type",
    { ...validExoscale(), exoscale: { zone: "de-fra-1", instanceType: "small" } },
    ["agent-fleet:exoscale.instanceType"],
    /family\.size/,
  ],
  [
    "exoscale disk too small",
    { ...validExoscale(), exoscale: { zone: "de-fra-1", diskSizeGb: 5 } },
    ["agent-fleet:exoscale.diskSizeGb"],
    /at least 10/,
  ],
  [
    "exoscale without public key",
    { ...validExoscale(), ssh: { privateKey: secret(), allowedCidrs: ["198.51.100.7/32"] } },
    ["agent-fleet:ssh.publicKey"],
    /exoscale/,
  ],
  [
    "exoscale with a bootstrap user",
    {
      ...validExoscale(),
      ssh: { privateKey: secret(), publicKey: PUBLIC_KEY, allowedCidrs: ["198.51.100.7/32"], bootstrapUser: "root" },
    },
    ["agent-fleet:ssh.bootstrapUser"],
    /cloud-init creates/,
  ],
  [
    "exoscale without allowedCidrs",
    { ...validExoscale(), ssh: { privateKey: secret(), publicKey: PUBLIC_KEY } },
    ["agent-fleet:ssh.allowedCidrs"],
  ],
  ["aws without region", { ...validAws(), aws: {} }, ["agent-fleet:aws.region"], /required for target aws/],
  [
    "aws vpcId without subnets",
    { ...validAws(), aws: { region: "eu-central-1", vpcId: "vpc-0abc12345" } },
    ["agent-fleet:aws.subnetIds"],
    /both vpcId and subnetIds/,
  ],
  [
    "aws bad retention",
    { ...validAws(), aws: { region: "eu-central-1", logRetentionDays: 10 } },
    ["agent-fleet:aws.logRetentionDays"],
  ],
  [
    "aws cpu Fargate does not offer",
    withAgents([{ name: "a1", resources: { cpus: 3 } }], validAws()),
    ["agent-fleet:agents[0].resources.cpus"],
    /Fargate offers/,
  ],
  [
    "aws memory outside the size",
    withAgents([{ name: "a1", resources: { cpus: 1, memory: "1g" } }], validAws()),
    ["agent-fleet:agents[0].resources.memory"],
    /2048-8192/,
  ],
  [
    "aws memory Fargate skips in a range",
    withAgents([{ name: "a1", resources: { cpus: 0.25, memory: "1536m" } }], validAws()),
    ["agent-fleet:agents[0].resources.memory"],
    /1536 MiB is not a Fargate size for 0.25 vCPU/,
  ],
  [
    "image ref and baseImage together",
    { ...validLocal(), image: { ref: "registry.example.com/agent:1", baseImage: "debian:12" } },
    ["agent-fleet:image.ref"],
    /remove baseImage/,
  ],
  [
    "typo in image",
    { ...validLocal(), image: { baseimage: "debian:12" } },
    ["agent-fleet:image.baseimage"],
    /did you mean "baseImage"/,
  ],
  ["ssh is not a mapping", { ...validVps(), ssh: "ops@host" }, ["agent-fleet:ssh"]],
];

describe("invalid stack configs", () => {
  it("has a corpus of at least 30 cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it.each(corpus)("%s", (title, config, keys, words) => {
    // The fleet-name case needs a stack name that is not a DNS label.
    const c = title.startsWith("default fleet name") ? { ...ctx, stack: "Dev_Stack" } : ctx;
    let error: unknown;
    try {
      parseFleetConfig(config, c);
    } catch (e) {
      error = e;
    }
    expect(error, "config must be rejected").toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const key of keys) expect(message).toContain(`${key}: `);
    if (words) expect(message).toMatch(words);
    // One error, every line a problem with its key path.
    const lines = message.split("\n");
    expect(lines[0]).toMatch(/^Invalid stack config: \d+ problems? \(nothing was created\)$/);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}agent-fleet:[^:]+: .+/);
    expect((error as ConfigError).problems.length).toBe(lines.length - 1);
  });
});

describe("every problem at once", () => {
  it("reports problems of different sections together, sorted by key", () => {
    const r = checkFleetConfig(
      {
        target: "vps",
        approvalRequird: true,
        agents: [{ name: "A" }, { name: "a2", env: { APPROVAL_REQUIRED: "x" } }, { name: "a2" }],
        ssh: { user: "root", allowedCidrs: ["10.0.0.1/8"], privateKey: "plain" },
        vps: {},
      },
      ctx,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.key)).toEqual([
      "agent-fleet:agents[0].name",
      "agent-fleet:agents[1].env.APPROVAL_REQUIRED",
      "agent-fleet:agents[2].name",
      "agent-fleet:approvalRequird",
      "agent-fleet:ssh.allowedCidrs[0]",
      "agent-fleet:ssh.privateKey",
      "agent-fleet:ssh.user",
      "agent-fleet:vps.host",
    ]);
  });

  it("accepts valid configs of every target", () => {
    for (const c of [validLocal(), validVps(), validExoscale(), validAws()]) {
      const r = checkFleetConfig(c, ctx);
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });

  it("never echoes a secret's value, not even one stored in plain text by mistake", () => {
    const value = "sk-do-not-print-4f1c";
    const config = { ...withAgents([{ name: "a1", secrets: ["OPENAI_KEY"] }]), OPENAI_KEY: value };
    const r = checkFleetConfig(config, ctx);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(value);
    let message = "";
    try {
      parseFleetConfig(config, ctx);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/OPENAI_KEY is stored in plain text/);
    expect(message).not.toContain(value);
  });
});
