/**
 * IAM policy documents of a Fargate fleet, as plain data (JSON-serialised by the component).
 *
 * - Execution role (one per agent, used by ECS itself, never by the agent): pull the fleet image
 *   from its ECR repository, write log streams of that agent in the fleet's log group, read that
 *   agent's own SSM parameters. Nothing else.
 * - Task role (what code in the container could use): nothing, except the four `ssmmessages`
 *   channel actions ECS Exec needs when it is on. They open the Session Manager channels of this
 *   task and give no access to any AWS resource or data.
 */

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource?: string | string[];
  Principal?: { Service: string };
  Condition?: Record<string, Record<string, string>>;
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

/** The task role's only policy: ECS Exec channels, or none at all when exec is off. */
export function taskRolePolicy(o: { enableExecuteCommand: boolean }): PolicyDocument | undefined {
  if (!o.enableExecuteCommand) return undefined;
  return {
    Version: "2012-10-17",
    // Session Manager channels are not resources: AWS documents Resource "*" for these actions.
    Statement: [{ Sid: "EcsExecChannels", Effect: "Allow", Action: [...ECS_EXEC_ACTIONS], Resource: "*" }],
  };
}
