/**
 * IAM policy documents of a Fargate fleet, as plain data (JSON-serialised by the component).
 *
 * - Execution role (one per agent, used by ECS itself, never by the agent): pull the fleet image
 *   from its ECR repository, write log streams of that agent in the fleet's log group, read that
 *   agent's own SSM parameters. Nothing else.
 * - Task role (one per agent and one for the operator task; what code in the container could
 *   use): EFS client access through exactly the access points that task mounts (see
 *   `taskRolePolicy`), plus the four `ssmmessages` channel actions ECS Exec needs when it is on.
 *   They open the Session Manager channels of this task and give no access to any AWS resource.
 * - File system policy (`efsFileSystemPolicy`): denies every EFS client access that is not TLS or
 *   not made through one of the fleet's access points, so a task with its own NFS client cannot
 *   mount the root of the file system as uid 0.
 */

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource?: string | string[];
  Principal?: { Service: string } | { AWS: string };
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** Who may assume the fleet's roles: ECS tasks of this account, in this region only. */
export function ecsTasksAssumeRolePolicy(o: { accountId: string; region: string; partition: string }): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EcsTasksOfThisAccount",
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: ["sts:AssumeRole"],
        // Confused-deputy guard: only ECS acting for this account and region.
        Condition: {
          StringEquals: { "aws:SourceAccount": o.accountId },
          ArnLike: { "aws:SourceArn": `arn:${o.partition}:ecs:${o.region}:${o.accountId}:*` },
        },
      },
    ],
  };
}

export const ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
export const ECS_EXEC_ACTIONS = [
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
];

export interface ExecutionRolePolicyInput {
  /** ARN of the fleet's ECR repository (every image of the fleet is there). */
  ecrRepositoryArn: string;
  /** ARN of the fleet's log group (without a trailing `:*`). */
  logGroupArn: string;
  /** The awslogs stream prefix of this agent's containers. */
  logStreamPrefix: string;
  /** ARNs of this agent's SSM parameters. */
  secretParameterArns: string[];
}

export function executionRolePolicy(o: ExecutionRolePolicyInput): PolicyDocument {
  const statements: PolicyStatement[] = [
    // GetAuthorizationToken is account-wide by design: AWS does not allow scoping it to a resource.
    { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
    { Sid: "PullFleetImage", Effect: "Allow", Action: [...ECR_PULL_ACTIONS], Resource: o.ecrRepositoryArn },
  ];
  statements.push({
    Sid: "WriteOwnLogStreams",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: `${o.logGroupArn.replace(/:\*$/, "")}:log-stream:${o.logStreamPrefix}/*`,
  });
  if (o.secretParameterArns.length > 0) {
    statements.push({
      Sid: "ReadOwnSecrets",
      Effect: "Allow",
      Action: ["ssm:GetParameters"],
      Resource: [...o.secretParameterArns].sort(),
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** EFS client actions: mount (read), write, and act as uid 0 (otherwise root is squashed). */
export const EFS_CLIENT_ACTIONS = {
  mount: "elasticfilesystem:ClientMount",
  write: "elasticfilesystem:ClientWrite",
  root: "elasticfilesystem:ClientRootAccess",
} as const;

/** One access point a task mounts, and what it may do there. */
export interface EfsMountGrant {
  accessPointArn: string;
  /** ClientWrite: false for `/decisions` in agent tasks (mounted read-only, also at the NFS level). */
  write: boolean;
}

export interface TaskRolePolicyInput {
  enableExecuteCommand: boolean;
  /** The fleet's file system and the access points this task mounts. */
  efs?: { fileSystemArn: string; mounts: EfsMountGrant[] };
}

/**
 * A task role's policy: EFS through its own access points, and the ECS Exec channels when exec is
 * on. Each grant is conditioned on `elasticfilesystem:AccessPointArn`, so the role cannot mount
 * the file system's root or another agent's code. ClientRootAccess comes with every grant: the
 * runtime is root and writes `/app` and `/shared` (root-owned); without it EFS squashes uid 0
 * to 65534. On `/decisions` an agent task gets ClientMount and ClientRootAccess but never
 * ClientWrite: EFS itself refuses writes there, whatever the container mounts.
 */
export function taskRolePolicy(o: TaskRolePolicyInput): PolicyDocument | undefined {
  const statements: PolicyStatement[] = [];
  if (o.efs && o.efs.mounts.length > 0) {
    const arns = (write: boolean) =>
      o
        .efs!.mounts.filter((m) => m.write === write)
        .map((m) => m.accessPointArn)
        .sort();
    const rw = arns(true);
    const ro = arns(false);
    const grant = (sid: string, actions: string[], aps: string[]): PolicyStatement => ({
      Sid: sid,
      Effect: "Allow",
      Action: actions,
      Resource: o.efs!.fileSystemArn,
      Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": aps } },
    });
    if (rw.length > 0) {
      statements.push(
        grant(
          "EfsReadWriteViaAccessPoints",
          [EFS_CLIENT_ACTIONS.mount, EFS_CLIENT_ACTIONS.write, EFS_CLIENT_ACTIONS.root],
          rw,
        ),
      );
    }
    if (ro.length > 0) {
      statements.push(grant("EfsReadOnlyViaAccessPoints", [EFS_CLIENT_ACTIONS.mount, EFS_CLIENT_ACTIONS.root], ro));
    }
  }
  if (o.enableExecuteCommand) {
    // Session Manager channels are not resources: AWS documents Resource "*" for these actions.
    statements.push({ Sid: "EcsExecChannels", Effect: "Allow", Action: [...ECS_EXEC_ACTIONS], Resource: "*" });
  }
  return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}

/**
 * The fleet file system's resource policy. Only denies: access itself is granted by each task
 * role (same account, so an identity policy suffices). With a policy in place EFS no longer
 * admits anonymous NFS clients at all, and these denies hold even against a principal whose own
 * policy is broader: no client access without TLS, none that is not through an access point, and
 * none through an access point that is not the fleet's.
 */
export function efsFileSystemPolicy(o: { fileSystemArn: string; accessPointArns: string[] }): PolicyDocument {
  const actions = [EFS_CLIENT_ACTIONS.mount, EFS_CLIENT_ACTIONS.write, EFS_CLIENT_ACTIONS.root];
  const deny = (sid: string, condition: PolicyStatement["Condition"]): PolicyStatement => ({
    Sid: sid,
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: [...actions],
    Resource: o.fileSystemArn,
    Condition: condition,
  });
  return {
    Version: "2012-10-17",
    Statement: [
      deny("DenyWithoutTls", { Bool: { "aws:SecureTransport": "false" } }),
      deny("DenyWithoutAccessPoint", { Null: { "elasticfilesystem:AccessPointArn": "true" } }),
      deny("DenyOtherAccessPoints", {
        StringNotEquals: { "elasticfilesystem:AccessPointArn": [...o.accessPointArns].sort() },
      }),
    ],
  };
}
