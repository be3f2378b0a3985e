import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseShell } from "shell-quote";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT } from "../../../config/fleetConfig.js";
import { rawConfigFromPulumi } from "../../../config/pulumiConfig.js";
import { parseStackConfig } from "../../../targets/index.js";
import { removeTempDirs } from "../program/tmp.js";
import { makeConfigProject, PUBLIC_KEY } from "./fixtures.js";

afterAll(removeTempDirs);

/**
 * Every `config set` command the README and docs show, run against the real schema: the value is
 * stored the way the Pulumi CLI stores it (pulumi/sdk go/common/resource/config/object.go:
 * top-level values are strings; `--path` values "true"/"false" become booleans and base-10 digits
 * without a leading zero integers), handed to the program as Pulumi does (objects as JSON text,
 * secrets flagged) and parsed by rawConfigFromPulumi + parseStackConfig.
 */

const repo = path.resolve(__dirname, "../../..");
const projectDir = makeConfigProject();

/** Placeholders in prose, not runnable commands; each must still be in the docs. */
const PLACEHOLDERS = ["pulumi config set agent-fleet:KEY …", "pulumi config set --secret"];

/** Shell substitutions in the documented commands, with what they print. */
const SUBSTITUTIONS: Record<string, string> = {
  '"$(cat ~/.ssh/id_ed25519.pub)"': JSON.stringify(PUBLIC_KEY),
  "$(curl -s https://ifconfig.me)": "198.51.100.7",
  '"$(openssl rand -hex 24)"': "0123456789abcdef0123456789abcdef0123456789abcdef",
};

interface Documented {
  where: string;
  command: string;
}

function documentedCommands(): Documented[] {
  const files = [
    "README.md",
    ...fs
      .readdirSync(path.join(repo, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const found: Documented[] = [];
  for (const file of files) {
    fs.readFileSync(path.join(repo, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        // Up to the end of an inline code span, a comment or the next command.
        for (const m of line.matchAll(/(?:npm run pulumi --|pulumi) config set(?= )([^`#&]*)/g)) {
          const command = `pulumi config set${m[1]!.trimEnd()}`;
          found.push({ where: `${file}:${i + 1}`, command });
        }
      });
  }
  return found;
}

interface ConfigSet {
  stack?: string;
  secret: boolean;
  path: boolean;
  key: string;
  value: string;
}

function parseCommand(command: string): ConfigSet {
  let text = command;
  for (const [from, to] of Object.entries(SUBSTITUTIONS)) text = text.split(from).join(to);
  if (text.includes("$(")) throw new Error(`unknown shell substitution in: ${command}`);
  let stdin: string | undefined;
  text = text.replace(/\s<\s*(\S+)\s*$/, () => {
    stdin = "-----BEGIN OPENSSH PRIVATE KEY-----\nexample\n-----END OPENSSH PRIVATE KEY-----";
    return "";
  });
  const words = parseShell(text).map((w) => {
    if (typeof w !== "string") throw new Error(`shell operator in: ${command}`);
    return w;
  });
  expect(words.slice(0, 3)).toEqual(["pulumi", "config", "set"]);
  const out: ConfigSet = { secret: false, path: false, key: "", value: "" };
  const positional: string[] = [];
  for (let i = 3; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--stack") out.stack = words[++i];
    else if (w === "--secret") out.secret = true;
    else if (w === "--path") out.path = true;
    else if (w.startsWith("-")) throw new Error(`unknown flag ${w} in: ${command}`);
    else positional.push(w);
  }
  const value = positional[1] ?? stdin;
  if (positional.length < 1 || value === undefined) throw new Error(`expected KEY VALUE in: ${command}`);
  return { ...out, key: positional[0]!, value };
}

/** The CLI's `coerce` for --path values. */
function coerce(v: string): unknown {
  if (v === "true") return true;
  if (v === "false") return false;
  if (v.length > 1 && v.startsWith("0")) return v;
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

/** `agents[0].resources.cpus` → ["agents", 0, "resources", "cpus"]. */
function pathSegments(p: string): Array<string | number> {
  return p.split(/\.|(?=\[)/).map((s) => (s.startsWith("[") ? Number(s.slice(1, -1)) : s));
}

/** A valid stack of the target the docs' --stack names (plain values, as in a stack file). */
function baseStack(stack: string | undefined): { config: Record<string, unknown>; secretKeys: Set<string> } {
  const ssh = {
    privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nbase\n-----END OPENSSH PRIVATE KEY-----",
    publicKey: PUBLIC_KEY,
    allowedCidrs: ["198.51.100.7/32"],
  };
  const agents = [{ name: "a1" }, { name: "a2" }];
  const byStack: Record<string, Record<string, unknown>> = {
    vps: { target: "vps", vps: { host: "192.0.2.10" }, ssh, agents },
    exoscale: { target: "exoscale", exoscale: { zone: "ch-gva-2" }, ssh, agents },
    aws: { target: "aws", aws: { region: "eu-central-1" }, agents },
  };
  const config = structuredClone(byStack[stack ?? ""] ?? { target: "local", agents });
  return { config, secretKeys: new Set(config.ssh ? [`${PROJECT}:ssh`] : []) };
}

/** Applies one `config set` as the CLI would, then parses the config as the program does. */
function applyAndParse(set: ConfigSet) {
  const { config, secretKeys } = baseStack(set.stack);
  const foreign: Record<string, string> = {};
  if (set.path) {
    const [top, ...rest] = pathSegments(set.key);
    const stored = set.secret ? set.value : coerce(set.value);
    if (rest.length === 0) config[top as string] = stored;
    else {
      let node = (config[top as string] ??= typeof rest[0] === "number" ? [] : {}) as Record<string | number, unknown>;
      rest.slice(0, -1).forEach((seg, i) => {
        node = (node[seg] ??= typeof rest[i + 1] === "number" ? [] : {}) as Record<string | number, unknown>;
      });
      node[rest[rest.length - 1]!] = stored;
    }
    if (set.secret) secretKeys.add(`${PROJECT}:${top}`);
  } else if (set.key.includes(":") && !set.key.startsWith(`${PROJECT}:`)) {
    foreign[set.key] = set.value;
    if (set.secret) secretKeys.add(set.key);
  } else {
    const key = set.key.replace(`${PROJECT}:`, "");
    config[key] = set.value; // top level: always a string
    if (set.secret) secretKeys.add(`${PROJECT}:${key}`);
  }
  const flat: Record<string, string> = { ...foreign };
  for (const [k, v] of Object.entries(config)) flat[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat, [...secretKeys]);
  const raw = rawConfigFromPulumi();
  return parseStackConfig(raw.ns, { stack: set.stack ?? "dev", projectDir, foreign: raw.foreign });
}

describe("every documented `config set` command", () => {
  const all = documentedCommands();
  const commands = all.filter((c) => !PLACEHOLDERS.includes(c.command));

  it("finds the documented commands, and every placeholder it skips is still there", () => {
    expect(commands.length).toBeGreaterThanOrEqual(15);
    for (const p of PLACEHOLDERS) expect(all.map((c) => c.command)).toContain(p);
  });

  it.each(commands.map((c) => [`${c.where}: ${c.command}`, c] as const))("%s", (_title, c) => {
    const cfg = applyAndParse(parseCommand(c.command));
    expect(cfg.target).toBeTruthy();
  });

  it("takes the values as the CLI types them", () => {
    const revision = applyAndParse(parseCommand("pulumi config set --path 'agents[0].codeRevision' 2"));
    expect(revision.agents[0]!.codeRevision).toBe("2");
    expect(revision.agents[1]!.codeRevision).toBeUndefined();
    const cpus = applyAndParse(parseCommand("pulumi config set --path 'agents[0].resources.cpus' 0.5"));
    expect(cpus.agents[0]!.resources.cpus).toBe(0.5);
    const override = applyAndParse(parseCommand("pulumi config set --path 'agents[1].approvalRequired' false"));
    expect(override.agents.map((a) => a.approvalRequired)).toEqual([true, false]);
    const timeout = applyAndParse(parseCommand("pulumi config set --path 'agents[0].taskTimeoutSeconds' 0600"));
    expect(timeout.agents[0]!.taskTimeoutSeconds).toBe(600);
    const binary = applyAndParse(parseCommand("pulumi config set --path 'agents[1].allowBinary' true"));
    expect(binary.agents.map((a) => a.allowBinary)).toEqual([undefined, true]);
    const coord = applyAndParse(parseCommand("pulumi config set --path 'agents[1].canCreateTasks' true"));
    expect(coord.agents.map((a) => a.canCreateTasks)).toEqual([undefined, true]);
    const one = applyAndParse(parseCommand("pulumi config set --path 'agents[1].paused' true"));
    expect(one.agents.map((a) => a.paused)).toEqual([false, true]);
    const paused = applyAndParse(parseCommand("pulumi config set paused true"));
    expect(paused.paused).toBe(true);
    const port = applyAndParse(parseCommand("pulumi config set --stack vps --path ssh.port 2222"));
    expect(port.target === "vps" && port.ssh.port).toBe(2222);
    const buildArg = applyAndParse(parseCommand("pulumi config set --path image.buildArgs.WITH_CLI 1"));
    expect(buildArg.image.buildArgs).toEqual({ WITH_CLI: "1" });
  });

  it("still refuses what is wrong, naming the key", () => {
    expect(() => applyAndParse(parseCommand("pulumi config set --path 'agents[0].resources.cpus' lots"))).toThrow(
      /agents\[0\]\.resources\.cpus/,
    );
    expect(() => applyAndParse(parseCommand("pulumi config set --path 'agents[0].approvalRequired' yes"))).toThrow(
      /agents\[0\]\.approvalRequired/,
    );
    expect(() => applyAndParse(parseCommand("pulumi config set paused 1"))).toThrow(/paused/);
  });
});
