import { ECS_CAPABILITIES, type EcsContainerDefinition, type TaskVolume } from "./containerDefinitions.js";
import { isFargateTaskSize } from "./fargateSizing.js";

/**
 * A check of a Fargate task definition against the rules of the ECS `RegisterTaskDefinition` API
 * and the Fargate launch type, field by field, so mistakes show up in `pulumi preview` and in unit
 * tests with a message naming the task and the field, not as an API error halfway through
 * `pulumi up`. Sources: ECS API reference (ContainerDefinition, HealthCheck, LinuxParameters,
 * KernelCapabilities, Ulimit, ContainerDependency, LogConfiguration) and the Fargate task
 * definition considerations in the ECS Developer Guide.
 */
export interface FargateTaskDefinitionInput {
  family: string;
  cpu: number;
  memory: number;
  volumes: TaskVolume[];
  containers: EcsContainerDefinition[];
}

const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;
/** Environment variable names the ECS API and shells handle unambiguously. */
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Log drivers Fargate supports. */
const FARGATE_LOG_DRIVERS = ["awslogs", "splunk", "awsfirelens"];
const DEPENDENCY_CONDITIONS = ["START", "COMPLETE", "SUCCESS", "HEALTHY"];
const ULIMIT_NAMES = [
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
];
/** Container definition keys Fargate rejects outright. */
const FARGATE_UNSUPPORTED = [
  "links",
  "hostname",
  "dockerSecurityOptions",
  "privileged",
  "extraHosts",
  "ipcMode",
  "pidMode",
];

/** Every problem found, each naming the task and the field; empty when ECS would accept it. */
export function fargateTaskDefinitionProblems(t: FargateTaskDefinitionInput): string[] {
  const problems: string[] = [];
  const at = (path: string, msg: string) => problems.push(`task definition "${t.family}": ${path} ${msg}`);

  if (!NAME_RE.test(t.family)) at("family", "must be 1-255 letters, digits, hyphens or underscores");
  if (!isFargateTaskSize(t.cpu, t.memory)) at("cpu/memory", `${t.cpu}/${t.memory} is not a Fargate task size`);

  const volumeNames = new Set<string>();
  t.volumes.forEach((v, i) => {
    if (!NAME_RE.test(v.name)) at(`volumes[${i}].name`, "must be 1-255 letters, digits, hyphens or underscores");
    if (volumeNames.has(v.name)) at(`volumes[${i}].name`, `"${v.name}" is declared twice`);
    volumeNames.add(v.name);
  });

  if (t.containers.length === 0 || t.containers.length > 10) at("containerDefinitions", "must hold 1 to 10 containers");
  if (!t.containers.some((c) => c.essential)) at("containerDefinitions", "need at least one essential container");
  const names = new Set<string>();
  let cpuSum = 0;
  let memSum = 0;

  t.containers.forEach((c, i) => {
    const p = `containerDefinitions[${i}]`;
    const has = (k: string) =>
      Object.prototype.hasOwnProperty.call(c, k) && (c as unknown as Record<string, unknown>)[k] !== undefined;
    if (typeof c.name !== "string" || !NAME_RE.test(c.name))
      at(`${p}.name`, "must be 1-255 letters, digits, hyphens or underscores");
    if (names.has(c.name)) at(`${p}.name`, `"${c.name}" is used twice`);
    names.add(c.name);
    if (typeof c.image !== "string" || c.image.length === 0 || c.image.length > 255 || /\s/.test(c.image)) {
      at(`${p}.image`, "is required: an image reference without spaces, at most 255 characters");
    }
    if (typeof c.essential !== "boolean") at(`${p}.essential`, "must be a boolean");
    for (const k of FARGATE_UNSUPPORTED) if (has(k)) at(`${p}.${k}`, "is not supported on Fargate");
    if (c.portMappings !== undefined && c.portMappings.length > 0)
      at(`${p}.portMappings`, "must be empty: agents publish no port");
    if (c.user !== undefined && (typeof c.user !== "string" || c.user.length === 0))
      at(`${p}.user`, "must be a non-empty string");
    for (const k of ["entryPoint", "command"] as const) {
      const v = c[k];
      if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== "string")))
        at(`${p}.${k}`, "must be a list of strings");
    }
    for (const k of ["cpu", "memory", "memoryReservation"] as const) {
      const v = c[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) at(`${p}.${k}`, "must be a whole non-negative number");
    }
    if (c.memory !== undefined && c.memory < 6) at(`${p}.memory`, "must be at least 6 MiB");
    cpuSum += c.cpu ?? 0;
    memSum += c.memory ?? c.memoryReservation ?? 0;

    const envNames = new Set<string>();
    (c.environment ?? []).forEach((e, j) => {
      if (typeof e.name !== "string" || !ENV_NAME_RE.test(e.name))
        at(`${p}.environment[${j}].name`, `"${e.name}" is not a valid variable name`);
      if (typeof e.value !== "string") at(`${p}.environment[${j}].value`, "must be a string");
      if (envNames.has(e.name)) at(`${p}.environment[${j}].name`, `"${e.name}" is set twice`);
      envNames.add(e.name);
    });
    (c.secrets ?? []).forEach((s, j) => {
      if (typeof s.name !== "string" || !ENV_NAME_RE.test(s.name))
        at(`${p}.secrets[${j}].name`, `"${s.name}" is not a valid variable name`);
      if (envNames.has(s.name)) at(`${p}.secrets[${j}].name`, `"${s.name}" is also set in environment`);
      envNames.add(s.name);
      if (typeof s.valueFrom !== "string" || !/^arn:aws[\w-]*:(ssm|secretsmanager):/.test(s.valueFrom)) {
        at(`${p}.secrets[${j}].valueFrom`, "must be the ARN of an SSM parameter or a Secrets Manager secret");
      }
    });

    (c.mountPoints ?? []).forEach((m, j) => {
      if (!volumeNames.has(m.sourceVolume))
        at(`${p}.mountPoints[${j}].sourceVolume`, `"${m.sourceVolume}" is not a volume of the task`);
      if (typeof m.containerPath !== "string" || !m.containerPath.startsWith("/"))
        at(`${p}.mountPoints[${j}].containerPath`, "must be an absolute path");
      if (typeof m.readOnly !== "boolean") at(`${p}.mountPoints[${j}].readOnly`, "must be a boolean");
    });
    const paths = (c.mountPoints ?? []).map((m) => m.containerPath);
    if (new Set(paths).size !== paths.length) at(`${p}.mountPoints`, "mount the same path twice");

    const caps = c.linuxParameters?.capabilities;
    if (caps) {
      for (const cap of caps.add ?? []) {
        if (cap !== "SYS_PTRACE")
          at(`${p}.linuxParameters.capabilities.add`, `"${cap}": Fargate only allows adding SYS_PTRACE`);
      }
      for (const cap of caps.drop ?? []) {
        if (cap !== "ALL" && !(ECS_CAPABILITIES as readonly string[]).includes(cap))
          at(`${p}.linuxParameters.capabilities.drop`, `"${cap}" is not a capability ECS knows`);
      }
    }
    const lp = c.linuxParameters as Record<string, unknown> | undefined;
    for (const k of ["devices", "tmpfs", "sharedMemorySize", "maxSwap", "swappiness"]) {
      if (lp && lp[k] !== undefined) at(`${p}.linuxParameters.${k}`, "is not supported on Fargate");
    }

    (c.ulimits ?? []).forEach((u, j) => {
      if (!ULIMIT_NAMES.includes(u.name)) at(`${p}.ulimits[${j}].name`, `"${u.name}" is not a ulimit ECS knows`);
      if (
        !Number.isInteger(u.softLimit) ||
        !Number.isInteger(u.hardLimit) ||
        u.softLimit > u.hardLimit ||
        u.softLimit < 0
      ) {
        at(`${p}.ulimits[${j}]`, "needs whole softLimit <= hardLimit");
      }
    });

    const hc = c.healthCheck;
    if (hc) {
      const cmd0 = hc.command[0];
      if (!Array.isArray(hc.command) || hc.command.length < 2 || (cmd0 !== "CMD" && cmd0 !== "CMD-SHELL")) {
        at(`${p}.healthCheck.command`, 'must start with "CMD" or "CMD-SHELL" followed by the command');
      }
      const within = (k: "interval" | "timeout" | "retries" | "startPeriod", lo: number, hi: number) => {
        const v = hc[k];
        if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi))
          at(`${p}.healthCheck.${k}`, `must be a whole number from ${lo} to ${hi}`);
      };
      within("interval", 5, 300);
      within("timeout", 2, 120);
      within("retries", 1, 10);
      within("startPeriod", 0, 300);
      if ((hc.timeout ?? 5) >= (hc.interval ?? 30)) at(`${p}.healthCheck.timeout`, "must be shorter than the interval");
    }

    const log = c.logConfiguration;
    if (log) {
      if (!FARGATE_LOG_DRIVERS.includes(log.logDriver))
        at(`${p}.logConfiguration.logDriver`, `"${log.logDriver}" is not supported on Fargate`);
      if (log.logDriver === "awslogs") {
        for (const k of ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]) {
          if (!log.options?.[k]) at(`${p}.logConfiguration.options`, `needs "${k}" (Fargate requires a stream prefix)`);
        }
      }
    }

    if (c.stopTimeout !== undefined && (!Number.isInteger(c.stopTimeout) || c.stopTimeout < 2 || c.stopTimeout > 120)) {
      at(`${p}.stopTimeout`, "must be a whole number from 2 to 120 seconds on Fargate");
    }
    for (const [k, v] of Object.entries(c.dockerLabels ?? {})) {
      if (typeof v !== "string") at(`${p}.dockerLabels.${k}`, "must be a string");
    }
  });

  t.containers.forEach((c, i) => {
    (c.dependsOn ?? []).forEach((d, j) => {
      const p = `containerDefinitions[${i}].dependsOn[${j}]`;
      const target = t.containers.find((o) => o.name === d.containerName);
      if (!target || d.containerName === c.name)
        at(`${p}.containerName`, `"${d.containerName}" is not another container of the task`);
      if (!DEPENDENCY_CONDITIONS.includes(d.condition))
        at(`${p}.condition`, `must be one of ${DEPENDENCY_CONDITIONS.join(", ")}`);
      if (target && (d.condition === "SUCCESS" || d.condition === "COMPLETE") && target.essential) {
        at(`${p}.condition`, `${d.condition} needs "${d.containerName}" to be non-essential (it exits)`);
      }
      if (target && d.condition === "HEALTHY" && !target.healthCheck)
        at(`${p}.condition`, `HEALTHY needs a health check on "${d.containerName}"`);
    });
  });

  if (cpuSum > t.cpu) at("containerDefinitions", `container cpu (${cpuSum}) exceeds the task's ${t.cpu}`);
  if (memSum > t.memory)
    at("containerDefinitions", `container memory (${memSum} MiB) exceeds the task's ${t.memory} MiB`);
  const json = JSON.stringify(t.containers);
  if (json.length > 65536) at("containerDefinitions", `are ${json.length} bytes; ECS allows 64 KiB`);
  return problems;
}

/** Throws one error listing every problem (or returns when ECS/Fargate would accept the task). */
export function assertValidFargateTaskDefinition(t: FargateTaskDefinitionInput): void {
  const problems = fargateTaskDefinitionProblems(t);
  if (problems.length > 0) throw new Error(`invalid Fargate task definition:\n  ${problems.join("\n  ")}`);
}
