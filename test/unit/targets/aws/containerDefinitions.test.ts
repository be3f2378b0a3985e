import { describe, expect, test } from "vitest";
import {
  CONTAINER_NAMES,
  ECS_CAPABILITIES,
  VOLUMES,
  agentContainerDefinitions,
  agentTaskVolumes,
  operatorContainerDefinitions,
  operatorTaskVolumes,
  runtimeDroppedCapabilities,
  type AgentTaskInput,
  type EcsContainerDefinition,
} from "../../../../targets/aws/containerDefinitions.js";
import {
  assertValidFargateTaskDefinition,
  fargateTaskDefinitionProblems,
  type FargateTaskDefinitionInput,
} from "../../../../targets/aws/ecsValidation.js";
import { RUNTIME_CAPABILITIES } from "../../../../contract/capabilities.js";
import { runtimeEnvironment } from "../../../../contract/env.js";

const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/agent-fleet/demo@sha256:${"b".repeat(64)}`;
const input: AgentTaskInput = {
  name: "writer",
  fleet: "demo",
  approvalRequired: true,
  capabilities: ["web", "code"],
  env: { LOG_LEVEL: "debug" },
  taskTimeoutSeconds: 600,
  image: IMAGE,
  secretArns: [
    {
      name: "OPENAI_API_KEY",
      valueFrom: "arn:aws:ssm:eu-west-1:123456789012:parameter/agent-fleet/demo/writer/OPENAI_API_KEY",
    },
  ],
  pids: 256,
  logGroup: "/agent-fleet/demo",
  region: "eu-west-1",
};
const task = (containers: EcsContainerDefinition[]): FargateTaskDefinitionInput => ({
  family: "demo-writer",
  cpu: 512,
  memory: 1024,
  volumes: agentTaskVolumes(),
  containers,
});

describe("agent task containers", () => {
  const [seed, runtime] = agentContainerDefinitions(input);

  test("two containers: the code seeder then the runtime, and ECS would accept them", () => {
    expect(seed?.name).toBe(CONTAINER_NAMES.seed);
    expect(runtime?.name).toBe(CONTAINER_NAMES.runtime);
    expect(fargateTaskDefinitionProblems(task([seed!, runtime!]))).toEqual([]);
  });

  test("runtime: field by field", () => {
    const r = runtime!;
    expect(r.image).toBe(IMAGE);
    expect(r.essential).toBe(true);
    expect(r.user).toBe("0");
    // The same environment as the Docker-host targets, as ECS name/value pairs.
    expect(r.environment).toEqual(Object.entries(runtimeEnvironment(input)).map(([name, value]) => ({ name, value })));
    expect(Object.fromEntries(r.environment!.map((e) => [e.name, e.value]))).toMatchObject({
      AGENT_NAME: "writer",
      APPROVAL_REQUIRED: "true",
      AGENT_CAPABILITIES: "code,web",
      AGENT_APP_DIR: "/app",
      AGENT_SHARED_DIR: "/shared",
      AGENT_DECISIONS_DIR: "/decisions",
      AGENT_SCRATCH_DIR: "/scratch",
      AGENT_TASK_TIMEOUT_SECONDS: "600",
      LOG_LEVEL: "debug",
    });
    expect(r.secrets).toEqual(input.secretArns);
    expect(r.environment!.some((e) => e.name === "OPENAI_API_KEY")).toBe(false);
    expect(r.mountPoints).toEqual([
      { sourceVolume: VOLUMES.code, containerPath: "/app", readOnly: false },
      { sourceVolume: VOLUMES.shared, containerPath: "/shared", readOnly: false },
      { sourceVolume: VOLUMES.decisions, containerPath: "/decisions", readOnly: true },
      { sourceVolume: VOLUMES.scratch, containerPath: "/scratch", readOnly: false },
      { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
      { sourceVolume: VOLUMES.ssmLib, containerPath: "/var/lib/amazon", readOnly: false },
      { sourceVolume: VOLUMES.ssmLog, containerPath: "/var/log/amazon", readOnly: false },
    ]);
    expect(r.readonlyRootFilesystem).toBe(true);
    expect(r.healthCheck).toEqual({
      command: ["CMD", "agentctl", "health"],
      interval: 30,
      timeout: 10,
      retries: 3,
      startPeriod: 60,
    });
    expect(r.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: {
        "awslogs-group": "/agent-fleet/demo",
        "awslogs-region": "eu-west-1",
        "awslogs-stream-prefix": "writer",
      },
    });
    expect(r.dependsOn).toEqual([{ containerName: "seed-code", condition: "SUCCESS" }]);
    expect(r.ulimits).toEqual([{ name: "nproc", softLimit: 256, hardLimit: 256 }]);
    expect(r.portMappings).toBeUndefined();
    expect(r.privileged).toBeUndefined();
  });

  test("runtime keeps exactly KILL, SETGID, SETUID: every other capability is dropped, none added", () => {
    const caps = runtime!.linuxParameters!.capabilities!;
    expect(caps.add).toEqual([]);
    expect(caps.drop).toEqual(runtimeDroppedCapabilities());
    const kept = ECS_CAPABILITIES.filter((c) => !caps.drop!.includes(c));
    expect(kept).toEqual([...RUNTIME_CAPABILITIES].sort());
    for (const c of ["CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "SETPCAP", "MKNOD"]) {
      expect(caps.drop).toContain(c);
    }
  });

  test("seed container: not essential, only its own code from EFS (plus /tmp and /scratch to open up), no capability, no secret", () => {
    const s = seed!;
    expect(s.essential).toBe(false);
    expect(s.entryPoint).toEqual(["/bin/sh", "-c"]);
    expect(s.command).toHaveLength(1);
    expect(s.command![0]).toMatch(/^set -eu\nchmod 1777 \/tmp \/scratch\n/);
    expect(s.command![0]).toContain("/opt/agent-fleet/seed/writer");
    expect(s.mountPoints).toEqual([
      { sourceVolume: VOLUMES.code, containerPath: "/app", readOnly: false },
      { sourceVolume: VOLUMES.scratch, containerPath: "/scratch", readOnly: false },
      { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
    ]);
    expect(s.linuxParameters).toEqual({ capabilities: { add: [], drop: ["ALL"] } });
    expect(s.readonlyRootFilesystem).toBe(true);
    expect(s.secrets).toBeUndefined();
  });

  test("no secrets: the secrets field is absent, not empty", () => {
    const [, r] = agentContainerDefinitions({ ...input, secretArns: [] });
    expect(r).not.toHaveProperty("secrets");
  });

  test("operator task: decisions and shared writable, no agent code, no secret, ECS would accept it", () => {
    const [op] = operatorContainerDefinitions({
      fleet: "demo",
      image: IMAGE,
      logGroup: "/agent-fleet/demo",
      region: "eu-west-1",
    });
    expect(op!.mountPoints!.find((m) => m.containerPath === "/decisions")?.readOnly).toBe(false);
    expect(op!.mountPoints!.some((m) => m.containerPath === "/app")).toBe(false);
    expect(op!.secrets).toBeUndefined();
    expect(op!.linuxParameters).toEqual({ capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true });
    expect([op!.entryPoint, op!.command]).toEqual([["sleep"], ["3600"]]);
    assertValidFargateTaskDefinition({
      family: "demo-operator",
      cpu: 256,
      memory: 512,
      volumes: operatorTaskVolumes(),
      containers: [op!],
    });
  });
});

describe("ECS/Fargate validation rejects what ECS rejects", () => {
  const good = () => agentContainerDefinitions(input).map((c) => structuredClone(c));
  const problemsWith = (mutate: (c: EcsContainerDefinition[], t: FargateTaskDefinitionInput) => void) => {
    const containers = good();
    const t = task(containers);
    mutate(containers, t);
    return fargateTaskDefinitionProblems(t).join("\n");
  };

  test.each<[string, (c: EcsContainerDefinition[], t: FargateTaskDefinitionInput) => void, RegExp]>([
    [
      "bad container name",
      (c) => {
        c[1]!.name = "run time";
      },
      /containerDefinitions\[1\]\.name must be 1-255 letters/,
    ],
    [
      "duplicate container name",
      (c) => {
        c[1]!.name = "seed-code";
      },
      /"seed-code" is used twice/,
    ],
    [
      "missing image",
      (c) => {
        c[1]!.image = "";
      },
      /containerDefinitions\[1\]\.image is required/,
    ],
    [
      "non-boolean essential",
      (c) => {
        (c[1] as any).essential = "yes";
      },
      /essential must be a boolean/,
    ],
    [
      "no essential container",
      (c) => {
        c[1]!.essential = false;
      },
      /at least one essential container/,
    ],
    [
      "bad family",
      (_c, t) => {
        t.family = "demo/writer";
      },
      /family must be 1-255/,
    ],
    [
      "cpu/memory combination",
      (_c, t) => {
        t.cpu = 1024;
        t.memory = 1024;
      },
      /1024\/1024 is not a Fargate task size/,
    ],
    [
      "env var name",
      (c) => {
        c[1]!.environment!.push({ name: "1BAD", value: "x" });
      },
      /"1BAD" is not a valid variable name/,
    ],
    [
      "non-string env value",
      (c) => {
        c[1]!.environment!.push({ name: "N", value: 3 as any });
      },
      /environment\[\d+\]\.value must be a string/,
    ],
    [
      "secret also in env",
      (c) => {
        c[1]!.environment!.push({ name: "OPENAI_API_KEY", value: "x" });
      },
      /"OPENAI_API_KEY" is also set in environment/,
    ],
    [
      "secret not an ARN",
      (c) => {
        c[1]!.secrets![0]!.valueFrom = "plain-text";
      },
      /must be the ARN of an SSM parameter/,
    ],
    [
      "unknown volume",
      (c) => {
        c[1]!.mountPoints![0]!.sourceVolume = "nope";
      },
      /"nope" is not a volume of the task/,
    ],
    [
      "relative mount path",
      (c) => {
        c[1]!.mountPoints![0]!.containerPath = "app";
      },
      /must be an absolute path/,
    ],
    [
      "added capability",
      (c) => {
        c[1]!.linuxParameters!.capabilities!.add = ["NET_ADMIN"];
      },
      /"NET_ADMIN": Fargate only allows adding SYS_PTRACE/,
    ],
    [
      "unknown capability",
      (c) => {
        c[1]!.linuxParameters!.capabilities!.drop!.push("CAP_FOO");
      },
      /"CAP_FOO" is not a capability ECS knows/,
    ],
    [
      "tmpfs on Fargate",
      (c) => {
        (c[1]!.linuxParameters as any).tmpfs = [{ containerPath: "/tmp", size: 64 }];
      },
      /linuxParameters\.tmpfs is not supported on Fargate/,
    ],
    [
      "privileged",
      (c) => {
        c[1]!.privileged = true;
      },
      /privileged is not supported on Fargate/,
    ],
    [
      "security options",
      (c) => {
        c[1]!.dockerSecurityOptions = ["no-new-privileges"];
      },
      /dockerSecurityOptions is not supported on Fargate/,
    ],
    [
      "port mapping",
      (c) => {
        c[1]!.portMappings = [{ containerPort: 80 }];
      },
      /portMappings must be empty/,
    ],
    [
      "health check command",
      (c) => {
        c[1]!.healthCheck!.command = ["agentctl", "health"];
      },
      /must start with "CMD" or "CMD-SHELL"/,
    ],
    [
      "health check interval",
      (c) => {
        c[1]!.healthCheck!.interval = 400;
      },
      /healthCheck\.interval must be a whole number from 5 to 300/,
    ],
    [
      "health check timeout >= interval",
      (c) => {
        c[1]!.healthCheck!.timeout = 30;
      },
      /timeout must be shorter than the interval/,
    ],
    [
      "log driver",
      (c) => {
        c[1]!.logConfiguration!.logDriver = "json-file";
      },
      /"json-file" is not supported on Fargate/,
    ],
    [
      "awslogs without prefix",
      (c) => {
        delete c[1]!.logConfiguration!.options!["awslogs-stream-prefix"];
      },
      /needs "awslogs-stream-prefix"/,
    ],
    [
      "dependency on unknown container",
      (c) => {
        c[1]!.dependsOn![0]!.containerName = "ghost";
      },
      /"ghost" is not another container/,
    ],
    [
      "bad dependency condition",
      (c) => {
        c[1]!.dependsOn![0]!.condition = "DONE";
      },
      /condition must be one of START, COMPLETE, SUCCESS, HEALTHY/,
    ],
    [
      "SUCCESS on an essential container",
      (c) => {
        c[0]!.essential = true;
      },
      /SUCCESS needs "seed-code" to be non-essential/,
    ],
    [
      "ulimit name",
      (c) => {
        c[1]!.ulimits![0]!.name = "procs";
      },
      /"procs" is not a ulimit ECS knows/,
    ],
    [
      "ulimit soft > hard",
      (c) => {
        c[1]!.ulimits![0]!.softLimit = 999;
      },
      /needs whole softLimit <= hardLimit/,
    ],
    [
      "stop timeout beyond 120",
      (c) => {
        c[1]!.stopTimeout = 300;
      },
      /stopTimeout must be a whole number from 2 to 120/,
    ],
    [
      "container memory over the task's",
      (c) => {
        c[1]!.memory = 2048;
      },
      /container memory \(2048 MiB\) exceeds the task's 1024 MiB/,
    ],
    [
      "fractional container cpu",
      (c) => {
        c[1]!.cpu = 0.5;
      },
      /cpu must be a whole non-negative number/,
    ],
    [
      "duplicate volume",
      (_c, t) => {
        t.volumes.push({ name: VOLUMES.tmp });
      },
      /"tmp" is declared twice/,
    ],
    [
      "same path mounted twice",
      (c) => {
        c[1]!.mountPoints!.push({ sourceVolume: VOLUMES.tmp, containerPath: "/app", readOnly: true });
      },
      /mount the same path twice/,
    ],
  ])("%s", (_label, mutate, message) => {
    expect(problemsWith(mutate)).toMatch(message);
  });

  test("assert throws one error naming the task and every problem", () => {
    const c = good();
    c[1]!.name = "bad name";
    c[1]!.portMappings = [{ containerPort: 22 }];
    expect(() => assertValidFargateTaskDefinition(task(c))).toThrow(
      /invalid Fargate task definition:\n {2}task definition "demo-writer": containerDefinitions\[1\]\.name[^\n]*\n.*portMappings must be empty/,
    );
  });
});
