import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseShell } from "shell-quote";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, programOf, runProgram, strings, type ProgramRun, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * The review console on Docker hosts under mocks: its own container with the port published on the
 * host's 127.0.0.1 only, tokens that travel only as secrets (stdin of a step that logs nothing),
 * the host agentctl pointed at its operator socket, and the tunnel command as a stack output.
 */

const ALICE = "alice-token-Zq81hX0vPL3mN7wR2eT5";
const BOB = "bob-token-R4nd0mT0k3nV4lu3F0rT3st";
const dir = makeProject(["a1"]);
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nconsole-test-only-key\n-----END OPENSSH PRIVATE KEY-----\n";

function vps(console: unknown, secret = true): StackConfig {
  return {
    config: {
      target: "vps",
      vps: { host: "192.0.2.10" },
      ssh: { allowedCidrs: ["198.51.100.7/32"], privateKey: PRIVATE_KEY, port: 2222 },
      agents: [{ name: "a1" }],
      console,
    },
    secretKeys: ["agent-fleet:ssh", ...(secret ? ["agent-fleet:console"] : [])],
  };
}

function local(console: unknown): StackConfig {
  return {
    config: { target: "local", agents: [{ name: "a1" }], console },
    secretKeys: ["agent-fleet:console"],
  };
}

/** Runs a command line with sh and a stand-in `aws` on PATH; returns the argv of each aws call. */
function runWithFakeAws(command: string): string[][] {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-"));
  const log = path.join(bin, "calls");
  fs.writeFileSync(
    path.join(bin, "aws"),
    [
      "#!/bin/sh",
      'for a in "$@"; do printf "%s\\0" "$a" >>"$AWS_LOG"; done; printf "\\n\\0" >>"$AWS_LOG"',
      'case "$1 $2" in',
      '  "ecs list-tasks") echo arn:aws:ecs:eu-central-1:123456789012:task/agent-fleet-test/0f1e2d3c4b5a ;;',
      '  "ecs describe-tasks") echo 0f1e2d3c4b5a-1234567890 ;;',
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
  try {
    execFileSync("sh", ["-c", command], { env: { PATH: `${bin}:/usr/bin:/bin`, AWS_LOG: log }, stdio: "pipe" });
    return fs
      .readFileSync(log, "utf8")
      .split("\n\0")
      .filter((c) => c !== "")
      .map((c) => c.split("\0").filter((w) => w !== ""));
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

function plainTokenPlaces(run: ProgramRun, values: string[]): string[] {
  const places: string[] = [];
  for (const r of run.resources)
    for (const s of strings(r.inputs))
      for (const v of values) if (s.text.includes(v) && !s.secret) places.push(`${r.name}${s.path}`);
  for (const s of strings(run.outputs)) for (const v of values) if (s.text.includes(v)) places.push(`output${s.path}`);
  return places;
}

/** The docker create words of the console's create program. */
function createWords(run: ProgramRun): string[] {
  const program = programOf(run.byName("fleet-console").inputs.create as string);
  const line = program.split("\n").find((l) => l.startsWith("docker create "));
  expect(line).toBeDefined();
  return parseShell(line!) as string[];
}

describe("console on a Docker host", () => {
  it("publishes its port on the host's 127.0.0.1 only, on a network of its own", async () => {
    const run = await runProgram(dir, vps({ port: 8443, tokens: { alice: ALICE, bob: BOB } }));
    const words = createWords(run);
    const published = words.flatMap((w, i) => (w === "--publish" || w === "-p" ? [words[i + 1]] : []));
    expect(published).toEqual(["127.0.0.1:8443:8443"]);
    expect(words.some((w) => /^--publish-all|^-P$/.test(w))).toBe(false);
    expect(words[words.indexOf("--network") + 1]).toBe("agent-fleet-test-console");
    const spec = run.byName("fleet-console").inputs.triggers[0];
    expect(spec.publish).toEqual([{ hostIp: "127.0.0.1", hostPort: 8443, containerPort: 8443 }]);
    expect(spec.capDrop).toEqual(["ALL"]);
    expect(spec.capAdd).toEqual([]);
    expect(spec.readOnlyRootFs).toBe(true);
    // It decides: decisions are writable here, and read-only in every agent's container.
    expect(spec.mounts).toContainEqual({ source: "/srv/agent-fleet/decisions", target: "/decisions", readOnly: false });
    expect(run.byName("fleet-a1-container").inputs.triggers[0].mounts).toContainEqual({
      source: "/srv/agent-fleet/decisions",
      target: "/decisions",
      readOnly: true,
    });
    // Agents publish nothing and are not on the console's network.
    const agentCreate = programOf(run.byName("fleet-a1-container").inputs.create as string);
    expect(agentCreate).not.toMatch(/--publish/);
    expect(agentCreate).not.toMatch(/agent-fleet-test-console/);
    // No network at all by default (issue 10 §5): not the console's, not any other.
    expect(agentCreate).toMatch(/--network none/);
    expect(spec.command).toEqual([
      "agentctl",
      "serve",
      "--listen",
      "0.0.0.0:8443",
      "--tokens",
      "/run/console/tokens",
      "--operator-socket",
      "/run/agentctl/agentctl.sock",
    ]);
  });

  it("never has a token in plain state: only the secret stdin of a step that logs nothing", async () => {
    const run = await runProgram(dir, vps({ tokens: { alice: ALICE, bob: BOB } }));
    expect(plainTokenPlaces(run, [ALICE, BOB])).toEqual([]);
    const step = run.byName("fleet-console-tokens").inputs;
    expect(step.logging).toBe("none");
    const stdin = strings(step.stdin);
    expect(stdin).toEqual([{ text: `alice:${ALICE}\nbob:${BOB}\n`, secret: true, path: "" }]);
    expect(programOf(step.create as string)).toContain("umask 077");
    // The console is recreated when the tokens file is.
    expect(run.byName("fleet-console").inputs.triggers[1]).toBe("fleet-console-tokens-id");
  });

  it("outputs the exact SSH tunnel and the URL; the host agentctl uses its operator socket", async () => {
    const run = await runProgram(dir, vps({ tokens: { alice: ALICE } }));
    expect(run.outputs.consoleTunnel).toBe("ssh -N -L 8080:127.0.0.1:8080 -p 2222 ops@192.0.2.10");
    expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:8080/");
    const wrapper = strings(run.byName("fleet-agentctl").inputs.stdin)[0]!.text;
    expect(wrapper).toContain("sock=/srv/agent-fleet/run/agentctl.sock");
  });

  it("locally: just the URL, and the socket shared with the operator's group", async () => {
    const run = await runProgram(dir, local({ tokens: { alice: ALICE } }));
    expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:8080/");
    expect(run.outputs.consoleTunnel).toBeUndefined();
    const spec = run.byName("fleet-console").inputs.triggers[0];
    expect(spec.groupAdd).toEqual([process.getgid!()]);
    expect(spec.command.slice(-2)).toEqual(["--operator-socket-group", String(process.getgid!())]);
    expect(plainTokenPlaces(run, [ALICE])).toEqual([]);
  });

  it("runs no console without tokens, and the host agentctl has no fast path then", async () => {
    const run = await runProgram(dir, vps({}, false));
    expect(run.resources.some((r) => r.name.startsWith("fleet-console"))).toBe(false);
    expect(run.outputs.consoleUrl).toBeUndefined();
    expect(strings(run.byName("fleet-agentctl").inputs.stdin)[0]!.text).not.toContain("sock=");
  });

  it("refuses plain, misnamed or missing tokens by key path", async () => {
    await expect(runProgram(dir, vps({ tokens: { alice: ALICE } }, false))).rejects.toThrow(
      /agent-fleet:console\.tokens\.alice: must be stored as a secret, not in plain text; set it with `pulumi config set --secret --path 'console\.tokens\.alice' <token>`/,
    );
    await expect(runProgram(dir, vps({ tokens: { "bad name": ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.tokens\.bad name: is not a token name/,
    );
    await expect(runProgram(dir, vps({ port: 9000 }))).rejects.toThrow(
      /agent-fleet:console\.tokens: is required to run the console/,
    );
    await expect(runProgram(dir, vps({ port: 80, tokens: { alice: ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.port: must be at least 1024/,
    );
    await expect(runProgram(dir, vps({ prot: 9000, tokens: { alice: ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.prot: unknown setting; did you mean "port"\?/,
    );
  });
});

describe("console on Fargate", () => {
  const fargate = (tokens: Record<string, string>): StackConfig => ({
    config: {
      target: "aws",
      aws: { region: "eu-central-1" },
      image: { ref: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/agents:1" },
      agents: [{ name: "a1" }],
      console: { port: 8443, tokens },
    },
    secretKeys: ["agent-fleet:console"],
  });

  it("is its own service with no ingress, reached by an SSM port forward (the output is the exact command)", async () => {
    const run = await runProgram(dir, fargate({ alice: ALICE }));
    const service = run.ofType("aws:ecs/service:Service").find((r) => r.name === "fleet-console")!.inputs;
    expect(service.name).toBe("console");
    expect(service.enableExecuteCommand).toBe(true);
    expect(service.loadBalancers ?? []).toEqual([]);
    // Its security group is the tasks' group, which has no inbound rule at all.
    const [sg] = service.networkConfiguration.securityGroups;
    const sgResource = run.ofType("aws:ec2/securityGroup:SecurityGroup").find((r) => `${r.name}-id` === sg);
    expect(sgResource, "the console's security group").toBeDefined();
    expect(sgResource!.inputs.ingress ?? []).toEqual([]);
    const ingress = run
      .ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs.securityGroupId === sg);
    expect(ingress).toEqual([]);
    // No port mapping, and the server listens on the task's loopback only.
    const td = run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((r) => r.name === "fleet-console")!;
    const containers = JSON.parse(td.inputs.containerDefinitions as string);
    expect(containers).toHaveLength(1);
    expect(containers[0].portMappings).toBeUndefined();
    expect(containers[0].command[0]).toContain("--listen 127.0.0.1:8443");
    expect(containers[0].linuxParameters.capabilities.drop).toEqual(["ALL"]);
    expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:8443/");
    // Run the command with a stand-in `aws` that answers like the real one and records its argv.
    const calls = runWithFakeAws(run.outputs.consoleTunnel as string);
    expect(calls[0]).toEqual([
      "ecs",
      "list-tasks",
      "--region",
      "eu-central-1",
      "--cluster",
      "agent-fleet-test",
      "--service-name",
      "console",
      "--desired-status",
      "RUNNING",
      "--query",
      "taskArns[0]",
      "--output",
      "text",
    ]);
    expect(calls[1]).toEqual([
      "ecs",
      "describe-tasks",
      "--region",
      "eu-central-1",
      "--cluster",
      "agent-fleet-test",
      "--query",
      "tasks[0].containers[?name=='console'].runtimeId | [0]",
      "--output",
      "text",
      "--tasks",
      "arn:aws:ecs:eu-central-1:123456789012:task/agent-fleet-test/0f1e2d3c4b5a",
    ]);
    expect(calls[2]).toEqual([
      "ssm",
      "start-session",
      "--region",
      "eu-central-1",
      "--document-name",
      "AWS-StartPortForwardingSession",
      "--parameters",
      '{"portNumber":["8443"],"localPortNumber":["8443"]}',
      "--target",
      "ecs:agent-fleet-test_0f1e2d3c4b5a_0f1e2d3c4b5a-1234567890",
    ]);
  });

  it("keeps the tokens in an SSM SecureString, never plain in state or the task definition", async () => {
    const run = await runProgram(dir, fargate({ alice: ALICE, bob: BOB }));
    expect(plainTokenPlaces(run, [ALICE, BOB])).toEqual([]);
    const param = run.byName("fleet-console-tokens").inputs;
    expect(param.type).toBe("SecureString");
    expect(strings(param.value)).toEqual([{ text: `alice:${ALICE}\nbob:${BOB}\n`, secret: true, path: "" }]);
    const td = run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((r) => r.name === "fleet-console")!;
    const [container] = JSON.parse(td.inputs.containerDefinitions as string);
    expect(container.secrets).toEqual([
      {
        name: "AGENT_CONSOLE_TOKENS",
        valueFrom: expect.stringContaining("parameter/agent-fleet/agent-fleet-test/console/tokens"),
      },
    ]);
  });

  it("has a task role of least privilege: its two EFS access points and the ECS Exec channels", async () => {
    const run = await runProgram(dir, fargate({ alice: ALICE }));
    const policy = JSON.parse(
      run.ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "fleet-console-task")!.inputs.policy as string,
    );
    const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort();
    expect(actions).toEqual(
      [
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientRootAccess",
        "elasticfilesystem:ClientWrite",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ].sort(),
    );
    const efs = policy.Statement.find((s: { Sid: string }) => s.Sid === "EfsReadWriteViaAccessPoints");
    expect(efs.Condition.StringEquals["elasticfilesystem:AccessPointArn"]).toHaveLength(2);
    for (const s of policy.Statement) expect(s.Effect).toBe("Allow");
    // Its execution role reads exactly the tokens parameter.
    const exec = JSON.parse(
      run.ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "fleet-console-execution")!.inputs
        .policy as string,
    );
    const read = exec.Statement.find((s: { Sid: string }) => s.Sid === "ReadOwnSecrets");
    expect(read.Resource).toEqual([expect.stringContaining("parameter/agent-fleet/agent-fleet-test/console/tokens")]);
  });

  it("refuses an agent named console while the console runs", async () => {
    const cfg = fargate({ alice: ALICE });
    (cfg.config.agents as unknown[]).push({ name: "console" });
    await expect(runProgram(makeProject(["a1", "console"]), cfg)).rejects.toThrow(
      /agent-fleet:agents\[1\]\.name: "console" is the review console's name while it runs/,
    );
  });
});
