import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../../cli/check.js";
import { rawConfigFromStackFile } from "../../../config/stackFile.js";
import { FARGATE_NAME_LIMIT } from "../../../contract/names.js";
import { parseStackConfig } from "../../../targets/index.js";
import { makeConfigProject } from "./fixtures.js";
import { removeTempDirs } from "../program/tmp.js";

afterAll(removeTempDirs);

const repo = path.resolve(__dirname, "../../..");

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A project with Pulumi.yaml, stacks/ and agents/a1. */
function project(stacks: Record<string, string>): string {
  const dir = makeConfigProject();
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: agent-fleet\nruntime: nodejs\nstackConfigDir: stacks\n");
  fs.mkdirSync(path.join(dir, "stacks"));
  for (const [name, text] of Object.entries(stacks))
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), text);
  return dir;
}

const good = "config:\n  agent-fleet:target: local\n  agent-fleet:agents:\n    - name: a1\n";
const bad = "config:\n  agent-fleet:target: vps\n  agent-fleet:agents:\n    - name: a1\n    - name: A1\n";

describe("agent-fleet check", () => {
  it("passes a valid stack by name (exit 0)", async () => {
    const r = await run("check", "--stack", "local", "-C", repo);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Pulumi\.local\.yaml: ok \(target local, 2 agents\)/);
  });

  it("prints the program's messages with key paths and exits 1", async () => {
    const dir = project({ bad });
    const r = await run("check", "--stack", "bad", "-C", dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("agent-fleet:agents[1].name: must be a lowercase DNS label");
    expect(r.err).toContain("agent-fleet:vps.host: is required for target vps");
    expect(r.err).toContain("agent-fleet:ssh.allowedCidrs: is required for target vps");
    expect(r.err).toContain("agent-fleet:ssh.privateKey: is required for target vps");
  });

  it("rejects an aws agent name over Fargate's limit, as `pulumi up` does, with its key path", async () => {
    const name = "a".repeat(FARGATE_NAME_LIMIT.max + 1);
    const aws = [
      "config:",
      "  agent-fleet:target: aws",
      "  agent-fleet:aws:",
      "    region: eu-central-1",
      "  agent-fleet:agents:",
      `    - name: ${name}`,
      "      code: agents/a1",
      "",
    ].join("\n");
    const dir = project({ aws });
    const r = await run("check", "--stack", "aws", "-C", dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `agent-fleet:agents[0].name: "${name}" is ${name.length} characters; target aws allows at most ${FARGATE_NAME_LIMIT.max}`,
    );
    // The program validates through the very same function: same problem, same key path.
    const raw = rawConfigFromStackFile(path.join(dir, "stacks", "Pulumi.aws.yaml"));
    expect(() => parseStackConfig(raw.ns, { stack: "aws", projectDir: dir, foreign: raw.foreign })).toThrow(
      /agent-fleet:agents\[0\]\.name: .* at most 32/,
    );
    // A name at the limit passes.
    const ok = project({ aws: aws.replace(name, "a".repeat(FARGATE_NAME_LIMIT.max)) });
    expect((await run("check", "--stack", "aws", "-C", ok)).code).toBe(0);
  });

  it("network: a bad entry is an error at its key; on aws a host name passes with a warning at its key", async () => {
    const aws = (network: string) =>
      [
        "config:",
        "  agent-fleet:target: aws",
        "  agent-fleet:aws:",
        "    region: eu-central-1",
        "  agent-fleet:agents:",
        "    - name: a1",
        "      code: agents/a1",
        `      network: ${network}`,
        "",
      ].join("\n");
    const bad = await run(
      "check",
      "--stack",
      "aws",
      "-C",
      project({ aws: aws(`["203.0.113.7:443", "api.example.com"]`) }),
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('agent-fleet:agents[0].network[1]: "api.example.com" is not host:port');
    const named = await run(
      "check",
      "--stack",
      "aws",
      "-C",
      project({ aws: aws(`["203.0.113.7:443", "api.example.com:443"]`) }),
    );
    expect(named.code).toBe(0);
    expect(named.err).toContain(
      'warning: agent-fleet:agents[0].network[1]: "api.example.com:443" names a host: on target aws a security group cannot filter by name, so this admits TCP 443 to any address',
    );
    expect(named.err).not.toContain("network[0]");
    // The same list on a Docker host is enforced by name (the egress proxy): no warning.
    const local = aws(`["203.0.113.7:443", "api.example.com:443"]`)
      .replace("target: aws", "target: local")
      .replace(/ {2}agent-fleet:aws:\n {4}region: eu-central-1\n/, "");
    const onLocal = await run("check", "--stack", "local", "-C", project({ local }));
    expect(onLocal.code, onLocal.err).toBe(0);
    expect(onLocal.err).toBe("");
  });

  it("checks a file given by path, and every stack when given nothing", async () => {
    const dir = project({ good, bad });
    const one = await run("check", path.join(dir, "stacks", "Pulumi.good.yaml"), "-C", dir);
    expect(one.code).toBe(0);
    const all = await run("check", "-C", dir);
    expect(all.code).toBe(1);
    expect(all.err).toMatch(/Pulumi\.bad\.yaml: Invalid stack config: 4 problems/);
    expect(all.out).toMatch(/Pulumi\.good\.yaml: ok/);
  });

  it("prints a JSON report with --json", async () => {
    const dir = project({ bad });
    const r = await run("check", "--json", "-C", dir);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as Array<{ ok: boolean; problems: Array<{ key: string }> }>;
    expect(report[0]!.ok).toBe(false);
    expect(report[0]!.problems.map((p) => p.key)).toContain("agent-fleet:agents[1].name");
  });

  it("says clearly what is wrong with its own input", async () => {
    const dir = project({ good });
    expect((await run("check", "--stack", "nope", "-C", dir)).err).toMatch(
      /stack "nope": .*Pulumi\.nope\.yaml does not exist/,
    );
    expect((await run("check", "--stack", "good", "x.yaml", "-C", dir)).code).toBe(2);
    expect((await run("check", path.join(dir, "missing.yaml"))).err).toMatch(/missing\.yaml: no such file/);
    expect((await run("check", "-C", projectDirWithout())).err).toMatch(/no Pulumi\.yaml/);
    expect((await run("check", "--frobnicate")).code).toBe(2);
    const notStack = path.join(dir, "config.yaml");
    fs.writeFileSync(notStack, good);
    expect((await run("check", notStack, "-C", dir)).err).toMatch(/a stack file is named Pulumi\.<stack>\.yaml/);
  });
});

function projectDirWithout(): string {
  return makeConfigProject();
}
