import { CONTAINER_PATHS } from "../../contract/paths.js";
import { RUNTIME_CAPABILITIES } from "../../contract/capabilities.js";
import { ENV, runtimeEnvironment } from "../../contract/env.js";
import type { AgentContainerSettings } from "../../fleet/spec.js";
import { seedScript } from "./codeSeed.js";
import { projectSeedScript } from "./projectSeed.js";
import * as path from "node:path";
import { shellWord } from "../../hosts/shell.js";
import { CONSOLE_PATHS, CONSOLE_TOKENS_ENV } from "../../contract/console.js";
import { consoleHealthCommand, consoleServeCommand } from "../../fleet/console.js";

/**
 * ECS container definitions for one agent's task, as plain data (the JSON that goes into
 * `aws.ecs.TaskDefinition.containerDefinitions`). Pure: the component resolves Outputs (image,
 * parameter ARNs, log group) first and passes strings in, and `ecsValidation.ts` checks the result
 * against what ECS/Fargate accepts.
 */

/** The subset of the ECS `ContainerDefinition` API shape this project uses. */
export interface EcsContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  user?: string;
  entryPoint?: string[];
  command?: string[];
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly: boolean }[];
  readonlyRootFilesystem?: boolean;
  linuxParameters?: {
    capabilities?: { add?: string[]; drop?: string[] };
    initProcessEnabled?: boolean;
  };
  ulimits?: { name: string; softLimit: number; hardLimit: number }[];
  healthCheck?: { command: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  logConfiguration?: { logDriver: string; options?: Record<string, string> };
  dependsOn?: { containerName: string; condition: string }[];
  stopTimeout?: number;
  dockerLabels?: Record<string, string>;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  portMappings?: unknown[];
  privileged?: boolean;
  dockerSecurityOptions?: string[];
}

/** A task-level volume: an EFS access point, or Fargate ephemeral task storage (no config). */
export interface TaskVolume {
  name: string;
  efs?: { accessPoint: "code" | "shared" | "decisions" } | { accessPoint: "project"; project: string };
}

export const CONTAINER_NAMES = {
  runtime: "runtime",
  seed: "seed-code",
  operator: "operator",
  console: "console",
} as const;

export const VOLUMES = {
  code: "agent-code",
  shared: "shared",
  decisions: "decisions",
  scratch: "scratch",
  tmp: "tmp",
  ssmLib: "ssm-lib",
  ssmLog: "ssm-log",
  consoleRun: "console-run",
} as const;

/** The task volume of a shared project's access point (a project name is a DNS label: a valid volume name). */
export const projectVolume = (project: string) => `project-${project}`;

/**
 * Where the SSM agent that ECS Exec injects keeps its state and logs. ECS Exec does not support a
 * read-only root file system by itself (the agent crashes); writable task-storage volumes at
 * these two paths are the known workaround (aws/containers-roadmap#1359), so the root file
 * system stays read-only.
 */
export const SSM_AGENT_PATHS = { lib: "/var/lib/amazon", log: "/var/log/amazon" } as const;

/** Every Linux capability name the ECS API accepts in `linuxParameters.capabilities`. */
export const ECS_CAPABILITIES = [
  "AUDIT_CONTROL",
  "AUDIT_WRITE",
  "BLOCK_SUSPEND",
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "IPC_LOCK",
  "IPC_OWNER",
  "KILL",
  "LEASE",
  "LINUX_IMMUTABLE",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "MKNOD",
  "NET_ADMIN",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_CHROOT",
  "SYS_MODULE",
  "SYS_NICE",
  "SYS_PACCT",
  "SYS_PTRACE",
  "SYS_RAWIO",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTYCONFIG",
  "SYSLOG",
  "WAKE_ALARM",
] as const;

/**
 * Capabilities the runtime container drops: every capability except the runtime's own
 * (`RUNTIME_CAPABILITIES`: KILL, SETGID, SETUID — the same set the Docker hosts keep after
 * `--cap-drop ALL`). Fargate can only *add* SYS_PTRACE, so `drop: ["ALL"]` followed by re-adding
 * the three is impossible there; dropping all the others by name gives the same effective set.
 */
export function runtimeDroppedCapabilities(): string[] {
  const keep = new Set<string>(RUNTIME_CAPABILITIES);
  return ECS_CAPABILITIES.filter((c) => !keep.has(c));
}

export const HEALTH_CHECK = {
  command: ["CMD", "agentctl", "health"],
  interval: 30,
  timeout: 10,
  retries: 3,
  startPeriod: 60,
} as const;

/** Seconds between SIGTERM and SIGKILL: time for the runtime to stop agent programs cleanly. */
export const STOP_TIMEOUT_SECONDS = 60;

export interface AgentTaskInput extends Pick<
  AgentContainerSettings,
  | "name"
  | "approvalRequired"
  | "capabilities"
  | "env"
  | "taskTimeoutSeconds"
  | "allowBinary"
  | "budget"
  | "reviewApprovals"
  | "canCreateTasks"
  | "reviewers"
> {
  fleet: string;
  /** Image reference (the fleet image, by digest). */
  image: string;
  /** Secret env var name -> ARN of the SSM SecureString parameter holding it. */
  secretArns: { name: string; valueFrom: string }[];
  /** Maximum processes of the agent user (`resources.pids`), enforced as RLIMIT_NPROC. */
  pids: number;
  logGroup: string;
  region: string;
  /**
   * Shared projects this agent works on: each one's access point is mounted at /projects/<name>
   * (seeded by the init container when empty), and no other project is. Default none.
   */
  sharedProjects?: AgentTaskProject[];
}

/** A shared project as an agent's task sees it. */
export interface AgentTaskProject {
  name: string;
  /** The branch its seed names (HEAD of the repository). */
  branch: string;
  /** Where the runtimes push applied commits (written into the repository's config at every start). */
  remote?: string;
}

function awsLogs(i: { logGroup: string; region: string }, prefix: string) {
  return {
    logDriver: "awslogs",
    options: { "awslogs-group": i.logGroup, "awslogs-region": i.region, "awslogs-stream-prefix": prefix },
  };
}

const ssmAgentMounts = () => [
  { sourceVolume: VOLUMES.ssmLib, containerPath: SSM_AGENT_PATHS.lib, readOnly: false },
  { sourceVolume: VOLUMES.ssmLog, containerPath: SSM_AGENT_PATHS.log, readOnly: false },
];

/** Projects sorted by name: one order for volumes, mounts and the seed program. */
const byName = (projects: ReadonlyArray<AgentTaskProject>) =>
  [...projects].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** Task-level volumes of an agent task (EFS access points are resolved by the component). */
export function agentTaskVolumes(projects: ReadonlyArray<string> = []): TaskVolume[] {
  return [
    { name: VOLUMES.code, efs: { accessPoint: "code" } },
    { name: VOLUMES.shared, efs: { accessPoint: "shared" } },
    { name: VOLUMES.decisions, efs: { accessPoint: "decisions" } },
    ...[...projects]
      .sort()
      .map((p): TaskVolume => ({ name: projectVolume(p), efs: { accessPoint: "project", project: p } })),
    { name: VOLUMES.scratch },
    { name: VOLUMES.tmp },
    { name: VOLUMES.ssmLib },
    { name: VOLUMES.ssmLog },
  ];
}

/**
 * The `seed-code` container's program: open /tmp and /scratch, seed the code, then each project.
 * The code seed exits its shell when /app already has code, so it runs in a subshell of its own;
 * each project's seed is one too (projectSeed.ts), and `set -e` stops at the first failure. The
 * paths are parameters for the tests, which run this very program against temporary directories.
 */
export function seedContainerProgram(o: {
  agent: string;
  projects: ReadonlyArray<AgentTaskProject>;
  tmpDir?: string;
  scratchDir?: string;
  appDir?: string;
  seedRoot?: string;
  projectsDir?: string;
  projectSeedRoot?: string;
}): string {
  return [
    "set -eu",
    `chmod 1777 ${shellWord(o.tmpDir ?? "/tmp")} ${shellWord(o.scratchDir ?? CONTAINER_PATHS.scratch)}`,
    `(\n${seedScript({ agent: o.agent, ...(o.appDir ? { appDir: o.appDir } : {}), ...(o.seedRoot ? { seedRoot: o.seedRoot } : {}) })}\n)`,
    projectSeedScript(
      o.projects.map((p) => ({
        project: p.name,
        branch: p.branch,
        ...(p.remote !== undefined ? { remote: p.remote } : {}),
      })),
      {
        ...(o.projectsDir ? { projectsDir: o.projectsDir } : {}),
        ...(o.projectSeedRoot ? { seedRoot: o.projectSeedRoot } : {}),
      },
    ),
  ]
    .filter((l) => l !== "")
    .join("\n");
}

/** The two containers of an agent's task: the code seeder, then the runtime. */
export function agentContainerDefinitions(i: AgentTaskInput): EcsContainerDefinition[] {
  const projects = byName(i.sharedProjects ?? []);
  const environment = Object.entries(runtimeEnvironment({ ...i, projects: projects.map((p) => p.name) })).map(
    ([name, value]) => ({ name, value }),
  );
  // Read-write for the runtime (root) only: the repository is root-owned 0755, so the agent user
  // can clone it and nothing more, as on a Docker host.
  const projectMounts = projects.map((p) => ({
    sourceVolume: projectVolume(p.name),
    containerPath: `${CONTAINER_PATHS.projects}/${p.name}`,
    readOnly: false,
  }));
  const seedProgram = seedContainerProgram({ agent: i.name, projects });
  const secrets = [...i.secretArns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const labels = { "agent-fleet.agent": i.name, "agent-fleet.fleet": i.fleet };
  const seed: EcsContainerDefinition = {
    name: CONTAINER_NAMES.seed,
    image: i.image,
    essential: false,
    user: "0",
    entryPoint: ["/bin/sh", "-c"],
    // Task-storage volumes start root-owned 0755 (Fargate has no tmpfs with mode=1777): open /tmp
    // and /scratch like tmpfs on a Docker host before the runtime starts, then seed the code and
    // the agent's projects (each only where it is not yet a repository; projectSeed.ts).
    command: [seedProgram],
    mountPoints: [
      { sourceVolume: VOLUMES.code, containerPath: CONTAINER_PATHS.app, readOnly: false },
      { sourceVolume: VOLUMES.scratch, containerPath: CONTAINER_PATHS.scratch, readOnly: false },
      { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
      ...projectMounts,
    ],
    readonlyRootFilesystem: true,
    // Root creating files in a root-owned directory needs no capability at all.
    linuxParameters: { capabilities: { add: [], drop: ["ALL"] } },
    logConfiguration: awsLogs(i, i.name),
    dockerLabels: labels,
  };
  const runtime: EcsContainerDefinition = {
    name: CONTAINER_NAMES.runtime,
    image: i.image,
    essential: true,
    // The runtime runs as root (it writes /app and reads /decisions) and starts agent programs as
    // the image's unprivileged `agent` user.
    user: "0",
    environment,
    ...(secrets.length > 0 ? { secrets } : {}),
    mountPoints: [
      { sourceVolume: VOLUMES.code, containerPath: CONTAINER_PATHS.app, readOnly: false },
      { sourceVolume: VOLUMES.shared, containerPath: CONTAINER_PATHS.shared, readOnly: false },
      { sourceVolume: VOLUMES.decisions, containerPath: CONTAINER_PATHS.decisions, readOnly: true },
      { sourceVolume: VOLUMES.scratch, containerPath: CONTAINER_PATHS.scratch, readOnly: false },
      { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
      ...projectMounts,
      ...ssmAgentMounts(),
    ],
    readonlyRootFilesystem: true,
    linuxParameters: { capabilities: { add: [], drop: runtimeDroppedCapabilities() } },
    // Fargate has no pids cgroup limit; RLIMIT_NPROC bounds the agent user's processes (root,
    // the runtime, is exempt from it by the kernel).
    ulimits: [{ name: "nproc", softLimit: i.pids, hardLimit: i.pids }],
    healthCheck: { ...HEALTH_CHECK, command: [...HEALTH_CHECK.command] },
    logConfiguration: awsLogs(i, i.name),
    dependsOn: [{ containerName: CONTAINER_NAMES.seed, condition: "SUCCESS" }],
    stopTimeout: STOP_TIMEOUT_SECONDS,
    dockerLabels: labels,
  };
  return [seed, runtime];
}

/** Task-level volumes of the operator task: the shared dir and decisions (writable: operator side). */
export function operatorTaskVolumes(): TaskVolume[] {
  return [
    { name: VOLUMES.shared, efs: { accessPoint: "shared" } },
    { name: VOLUMES.decisions, efs: { accessPoint: "decisions" } },
    { name: VOLUMES.tmp },
    { name: VOLUMES.ssmLib },
    { name: VOLUMES.ssmLog },
  ];
}

/** How long an operator task lives before it stops by itself, so a forgotten one costs little. */
export const OPERATOR_LIFETIME_SECONDS = 3600;

/**
 * The operator task: the Fargate counterpart of the host-side `agentctl` wrapper. Agent tasks
 * mount /decisions read-only, so decisions are written from this separate, on-demand task (ECS
 * Exec into it, `agentctl approve <id>`). It runs no agent code and has no secrets.
 */
export function operatorContainerDefinitions(i: {
  fleet: string;
  image: string;
  logGroup: string;
  region: string;
}): EcsContainerDefinition[] {
  return [
    {
      name: CONTAINER_NAMES.operator,
      image: i.image,
      essential: true,
      user: "0",
      entryPoint: ["sleep"],
      command: [String(OPERATOR_LIFETIME_SECONDS)],
      environment: [
        { name: ENV.decisionsDir, value: CONTAINER_PATHS.decisions },
        { name: ENV.sharedDir, value: CONTAINER_PATHS.shared },
      ],
      mountPoints: [
        { sourceVolume: VOLUMES.shared, containerPath: CONTAINER_PATHS.shared, readOnly: false },
        { sourceVolume: VOLUMES.decisions, containerPath: CONTAINER_PATHS.decisions, readOnly: false },
        { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
        ...ssmAgentMounts(),
      ],
      readonlyRootFilesystem: true,
      // `sleep` is PID 1 here (not the image's tini): an init process reaps ECS Exec sessions.
      linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
      logConfiguration: awsLogs(i, "operator"),
      dockerLabels: { "agent-fleet.fleet": i.fleet, "agent-fleet.role": "operator" },
    },
  ];
}

/** Task-level volumes of the console task: the shared dir and decisions (it decides), its tokens' folder. */
export function consoleTaskVolumes(): TaskVolume[] {
  return [
    { name: VOLUMES.shared, efs: { accessPoint: "shared" } },
    { name: VOLUMES.decisions, efs: { accessPoint: "decisions" } },
    { name: VOLUMES.tmp },
    { name: VOLUMES.consoleRun },
    { name: VOLUMES.ssmLib },
    { name: VOLUMES.ssmLog },
  ];
}

/**
 * The console task's start: the tokens file is written from the secret environment variable
 * ECS fills from the SSM SecureString parameter (never plain in the task definition), the
 * variable is dropped, and `agentctl serve` replaces the shell, listening on the task's loopback.
 */
export function consoleStartScript(port: number): string {
  return [
    "set -eu",
    "umask 077",
    `printf '%s\\n' "$${CONSOLE_TOKENS_ENV}" >${CONSOLE_PATHS.tokens}`,
    `unset ${CONSOLE_TOKENS_ENV}`,
    `exec ${consoleServeCommand(`127.0.0.1:${port}`).map(shellWord).join(" ")}`,
  ].join("\n");
}

/**
 * The console service's one container: `agentctl serve` over the shared dir and decisions, no
 * port mapping (nothing reaches it but an SSM port forward into the task), no capabilities.
 */
export function consoleContainerDefinitions(i: {
  fleet: string;
  image: string;
  port: number;
  /** ARN of the SSM SecureString parameter holding the tokens file's text. */
  tokensParameterArn: string;
  logGroup: string;
  region: string;
}): EcsContainerDefinition[] {
  return [
    {
      name: CONTAINER_NAMES.console,
      image: i.image,
      essential: true,
      user: "0",
      entryPoint: ["/bin/sh", "-c"],
      command: [consoleStartScript(i.port)],
      environment: [
        { name: ENV.decisionsDir, value: CONTAINER_PATHS.decisions },
        { name: ENV.sharedDir, value: CONTAINER_PATHS.shared },
      ],
      secrets: [{ name: CONSOLE_TOKENS_ENV, valueFrom: i.tokensParameterArn }],
      mountPoints: [
        { sourceVolume: VOLUMES.shared, containerPath: CONTAINER_PATHS.shared, readOnly: false },
        { sourceVolume: VOLUMES.decisions, containerPath: CONTAINER_PATHS.decisions, readOnly: false },
        { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false },
        { sourceVolume: VOLUMES.consoleRun, containerPath: path.posix.dirname(CONSOLE_PATHS.tokens), readOnly: false },
        ...ssmAgentMounts(),
      ],
      readonlyRootFilesystem: true,
      // The shell is PID 1 until it execs the server: an init process reaps ECS Exec sessions.
      linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
      healthCheck: {
        command: ["CMD-SHELL", consoleHealthCommand(i.port)],
        interval: 30,
        timeout: 10,
        retries: 3,
        startPeriod: 30,
      },
      logConfiguration: awsLogs(i, "console"),
      dockerLabels: { "agent-fleet.fleet": i.fleet, "agent-fleet.role": "console" },
    },
  ];
}
