import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  agentExecCommand,
  operatorExecCommand,
  operatorStartCommand,
  operatorStopCommand,
} from "../../../../targets/aws/execCommands.js";

/**
 * The printed commands are run by a real /bin/sh with a stand-in `aws` first on PATH that records
 * its argv: that checks the quoting and that the task id is resolved from the service or family.
 */
let dir: string;
let log: string;
const TASK = "arn:aws:ecs:eu-west-1:123456789012:task/demo/0123456789abcdef";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "awscli-"));
  log = join(dir, "calls.jsonl");
  const fake = join(dir, "aws");
  writeFileSync(
    fake,
    `#!/usr/bin/env node
const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + "\\n");
const a = process.argv.slice(2);
if (a[1] === "list-tasks" || a[1] === "run-task") process.stdout.write(${JSON.stringify(TASK)} + "\\n");
`,
  );
  chmodSync(fake, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runShell(cmd: string): string[][] {
  writeFileSync(log, "");
  const r = spawnSync("/bin/sh", ["-c", cmd], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
  });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as string[]);
}

const target = { region: "eu-west-1", cluster: "demo" };

describe("ECS Exec commands", () => {
  test("agent proposals: resolves the running task of the service, then execs agentctl in the runtime container", () => {
    const calls = runShell(agentExecCommand(target, "writer", "proposals"));
    expect(calls).toEqual([
      [
        "ecs",
        "list-tasks",
        "--region",
        "eu-west-1",
        "--cluster",
        "demo",
        "--service-name",
        "writer",
        "--desired-status",
        "RUNNING",
        "--query",
        "taskArns[0]",
        "--output",
        "text",
      ],
      [
        "ecs",
        "execute-command",
        "--region",
        "eu-west-1",
        "--cluster",
        "demo",
        "--task",
        TASK,
        "--container",
        "runtime",
        "--interactive",
        "--command",
        "agentctl proposals",
      ],
    ]);
  });

  test("operator: start runs the operator task with the fleet's network and waits for it", () => {
    const calls = runShell(
      operatorStartCommand({
        ...target,
        family: "demo-operator",
        subnetIds: ["subnet-a", "subnet-b"],
        securityGroupId: "sg-1",
        assignPublicIp: true,
      }),
    );
    expect(calls[0]).toEqual([
      "ecs",
      "run-task",
      "--region",
      "eu-west-1",
      "--cluster",
      "demo",
      "--task-definition",
      "demo-operator",
      "--launch-type",
      "FARGATE",
      "--enable-execute-command",
      "--started-by",
      "agentctl",
      "--network-configuration",
      "awsvpcConfiguration={subnets=[subnet-a,subnet-b],securityGroups=[sg-1],assignPublicIp=ENABLED}",
      "--query",
      "tasks[0].taskArn",
      "--output",
      "text",
    ]);
    expect(calls[1]).toEqual([
      "ecs",
      "wait",
      "tasks-running",
      "--region",
      "eu-west-1",
      "--cluster",
      "demo",
      "--tasks",
      TASK,
    ]);
  });

  test("operator: approve execs in the operator container with the proposal id as one command string", () => {
    const calls = runShell(operatorExecCommand({ ...target, family: "demo-operator" }, "approve p-42"));
    expect(calls[0]).toContain("--family");
    expect(calls[1]).toEqual([
      "ecs",
      "execute-command",
      "--region",
      "eu-west-1",
      "--cluster",
      "demo",
      "--task",
      TASK,
      "--container",
      "operator",
      "--interactive",
      "--command",
      "agentctl approve p-42",
    ]);
  });

  test("operator: stop stops the running operator task", () => {
    const calls = runShell(operatorStopCommand({ ...target, family: "demo-operator" }));
    expect(calls[1]).toEqual([
      "ecs",
      "stop-task",
      "--region",
      "eu-west-1",
      "--cluster",
      "demo",
      "--task",
      TASK,
      "--reason",
      "operator done",
    ]);
  });

  test("hostile names stay literal arguments", () => {
    const calls = runShell(agentExecCommand({ region: "eu-west-1", cluster: "a b;$(touch x)" }, "writer", "proposals"));
    expect(calls[1]).toContain("a b;$(touch x)");
  });
});
