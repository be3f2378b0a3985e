import { quote } from "shell-quote";
import { CONTAINER_NAMES } from "./containerDefinitions.js";

/**
 * The operator's commands on Fargate, as shell command lines (POSIX sh, AWS CLI v2 with the
 * Session Manager plugin). Task ids change with every deployment, so each command resolves the
 * running task itself. Every literal is quoted by shell-quote; the `$(...)` are ours.
 */
export interface ExecTarget {
  region: string;
  cluster: string;
}

/** Resolves the running task of an agent's service: `$(aws ecs list-tasks ...)`. */
function runningTaskOfService(t: ExecTarget, service: string): string {
  return `$(${quote(["aws", "ecs", "list-tasks", "--region", t.region, "--cluster", t.cluster, "--service-name", service, "--desired-status", "RUNNING", "--query", "taskArns[0]", "--output", "text"])})`;
}

/** Resolves the running operator task: `$(aws ecs list-tasks --family ...)`. */
function runningOperatorTask(t: ExecTarget, family: string): string {
  return `$(${quote(["aws", "ecs", "list-tasks", "--region", t.region, "--cluster", t.cluster, "--family", family, "--desired-status", "RUNNING", "--query", "taskArns[0]", "--output", "text"])})`;
}

function execIn(t: ExecTarget, task: string, container: string, command: string): string {
  return [
    quote(["aws", "ecs", "execute-command", "--region", t.region, "--cluster", t.cluster]),
    `--task "${task}"`,
    quote(["--container", container, "--interactive", "--command", command]),
  ].join(" ");
}

/** `agentctl <args>` inside an agent's runtime container (read-only view of /decisions). */
export function agentExecCommand(t: ExecTarget, service: string, agentctlArgs: string): string {
  return execIn(t, runningTaskOfService(t, service), CONTAINER_NAMES.runtime, `agentctl ${agentctlArgs}`);
}

export interface OperatorTaskTarget extends ExecTarget {
  /** Task definition family of the operator task. */
  family: string;
  subnetIds: string[];
  securityGroupId: string;
  assignPublicIp: boolean;
}

/** Starts the operator task (it stops by itself after an hour) and waits until it runs. */
export function operatorStartCommand(t: OperatorTaskTarget): string {
  const network = `awsvpcConfiguration={subnets=[${t.subnetIds.join(",")}],securityGroups=[${t.securityGroupId}],assignPublicIp=${t.assignPublicIp ? "ENABLED" : "DISABLED"}}`;
  const run = quote([
    "aws",
    "ecs",
    "run-task",
    "--region",
    t.region,
    "--cluster",
    t.cluster,
    "--task-definition",
    t.family,
    "--launch-type",
    "FARGATE",
    "--enable-execute-command",
    "--started-by",
    "agentctl",
    "--network-configuration",
    network,
    "--query",
    "tasks[0].taskArn",
    "--output",
    "text",
  ]);
  return `task=$(${run}) && ${quote(["aws", "ecs", "wait", "tasks-running", "--region", t.region, "--cluster", t.cluster])} --tasks "$task" && echo "operator task running: $task"`;
}

/** `agentctl <args>` in the running operator task (it may write /decisions). */
export function operatorExecCommand(t: ExecTarget & { family: string }, agentctlArgs: string): string {
  return execIn(t, runningOperatorTask(t, t.family), CONTAINER_NAMES.operator, `agentctl ${agentctlArgs}`);
}

/** Stops the operator task early. */
export function operatorStopCommand(t: ExecTarget & { family: string }): string {
  return `${quote(["aws", "ecs", "stop-task", "--region", t.region, "--cluster", t.cluster])} --task "${runningOperatorTask(t, t.family)}" ${quote(["--reason", "operator done"])}`;
}

/**
 * The SSM port forward to the console service's task: `aws ssm start-session` with the document
 * AWS-StartPortForwardingSession on the target `ecs:<cluster>_<task id>_<container runtime id>`
 * (the ECS Exec target form), so `http://127.0.0.1:<localPort>/` on the operator's machine reaches
 * the server on the task's loopback. The task and runtime ids change with every deployment, so
 * the command looks them up first.
 */
export function consolePortForwardCommand(
  t: ExecTarget & { service: string; container: string; port: number; localPort: number },
): string {
  const task = quote([
    "aws",
    "ecs",
    "list-tasks",
    "--region",
    t.region,
    "--cluster",
    t.cluster,
    "--service-name",
    t.service,
    "--desired-status",
    "RUNNING",
    "--query",
    "taskArns[0]",
    "--output",
    "text",
  ]);
  const runtime = quote([
    "aws",
    "ecs",
    "describe-tasks",
    "--region",
    t.region,
    "--cluster",
    t.cluster,
    "--query",
    `tasks[0].containers[?name=='${t.container}'].runtimeId | [0]`,
    "--output",
    "text",
  ]);
  const session = quote([
    "aws",
    "ssm",
    "start-session",
    "--region",
    t.region,
    "--document-name",
    "AWS-StartPortForwardingSession",
    "--parameters",
    JSON.stringify({ portNumber: [String(t.port)], localPortNumber: [String(t.localPort)] }),
  ]);
  return [
    `task=$(${task})`,
    `runtime=$(${runtime} --tasks "$task")`,
    `${session} --target "ecs:${t.cluster}_\${task##*/}_$runtime"`,
  ].join(" && ");
}
