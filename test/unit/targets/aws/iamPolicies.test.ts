import { describe, expect, test } from "vitest";
import {
  ECS_EXEC_ACTIONS,
  efsFileSystemPolicy,
  ecsTasksAssumeRolePolicy,
  executionRolePolicy,
  taskRolePolicy,
  type PolicyDocument,
} from "../../../../targets/aws/iamPolicies.js";

const LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/agent-fleet/demo";
const REPO = "arn:aws:ecr:eu-west-1:123456789012:repository/agent-fleet/demo";
const PARAM = (n: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter/agent-fleet/demo/writer/${n}`;

/** Round-trips through JSON, as IAM receives it. */
const parsed = (d: PolicyDocument): PolicyDocument => JSON.parse(JSON.stringify(d));

/** Every action is named in full (no `*` anywhere in an action) and Allow only. */
function assertNoWildcardActions(d: PolicyDocument): void {
  for (const s of d.Statement) {
    expect(s.Effect).toBe("Allow");
    for (const a of s.Action) expect(a).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
  }
}

describe("execution role policy", () => {
  test("pull from its repository, write its own log streams, read its own secrets, nothing else", () => {
    const d = parsed(
      executionRolePolicy({
        ecrRepositoryArn: REPO,
        logGroupArn: LOG_GROUP,
        logStreamPrefix: "writer",
        secretParameterArns: [PARAM("B"), PARAM("A")],
      }),
    );
    assertNoWildcardActions(d);
    expect(d.Statement).toEqual([
      { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "PullFleetImage",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: REPO,
      },
      {
        Sid: "WriteOwnLogStreams",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${LOG_GROUP}:log-stream:writer/*`,
      },
      { Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [PARAM("A"), PARAM("B")] },
    ]);
    // The only unscoped resource is the one AWS cannot scope.
    const unscoped = d.Statement.filter(
      (s) => s.Resource === "*" || (Array.isArray(s.Resource) && s.Resource.includes("*")),
    );
    expect(unscoped.flatMap((s) => s.Action)).toEqual(["ecr:GetAuthorizationToken"]);
  });

  test("no secrets: no SSM statement; a log group ARN with `:*` is normalised", () => {
    const d = parsed(
      executionRolePolicy({
        ecrRepositoryArn: REPO,
        logGroupArn: `${LOG_GROUP}:*`,
        logStreamPrefix: "operator",
        secretParameterArns: [],
      }),
    );
    expect(d.Statement.map((s) => s.Sid)).toEqual(["EcrLogin", "PullFleetImage", "WriteOwnLogStreams"]);
    expect(d.Statement[2]?.Resource).toBe(`${LOG_GROUP}:log-stream:operator/*`);
  });
});

describe("task role policy", () => {
  test("ECS Exec on: only the four ssmmessages channel actions", () => {
    const d = parsed(taskRolePolicy({ enableExecuteCommand: true })!);
    assertNoWildcardActions(d);
    expect(d.Statement).toHaveLength(1);
    expect(d.Statement[0]?.Action).toEqual(ECS_EXEC_ACTIONS);
    expect(d.Statement[0]?.Action.every((a) => a.startsWith("ssmmessages:"))).toBe(true);
  });
  test("ECS Exec off and no EFS: no policy at all", () => {
    expect(taskRolePolicy({ enableExecuteCommand: false })).toBeUndefined();
  });
  test("EFS: only through the given access points; read-only ones never get ClientWrite", () => {
    const FS = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1";
    const AP = (n: string) => `arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-${n}`;
    const d = parsed(
      taskRolePolicy({
        enableExecuteCommand: false,
        efs: {
          fileSystemArn: FS,
          mounts: [
            { accessPointArn: AP("shared"), write: true },
            { accessPointArn: AP("code"), write: true },
            { accessPointArn: AP("dec"), write: false },
          ],
        },
      })!,
    );
    assertNoWildcardActions(d);
    expect(d.Statement).toEqual([
      {
        Sid: "EfsReadWriteViaAccessPoints",
        Effect: "Allow",
        Action: [
          "elasticfilesystem:ClientMount",
          "elasticfilesystem:ClientWrite",
          "elasticfilesystem:ClientRootAccess",
        ],
        Resource: FS,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": [AP("code"), AP("shared")] } },
      },
      {
        Sid: "EfsReadOnlyViaAccessPoints",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"],
        Resource: FS,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": [AP("dec")] } },
      },
    ]);
    // Every grant is conditioned on an access point: none reaches the file system's root.
    for (const s of d.Statement) expect(s.Condition?.StringEquals?.["elasticfilesystem:AccessPointArn"]).toBeDefined();
  });
});

test("file system policy: deny without TLS, without an access point, or through another access point", () => {
  const FS = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1";
  const d = parsed(efsFileSystemPolicy({ fileSystemArn: FS, accessPointArns: ["b", "a"] }));
  expect(d.Statement.map((s) => [s.Sid, s.Effect, s.Condition])).toEqual([
    ["DenyWithoutTls", "Deny", { Bool: { "aws:SecureTransport": "false" } }],
    ["DenyWithoutAccessPoint", "Deny", { Null: { "elasticfilesystem:AccessPointArn": "true" } }],
    ["DenyOtherAccessPoints", "Deny", { StringNotEquals: { "elasticfilesystem:AccessPointArn": ["a", "b"] } }],
  ]);
  expect(d.Statement.every((s) => s.Effect === "Deny")).toBe(true);
});

test("assume-role policy admits ECS tasks of this account and region only", () => {
  const d = parsed(ecsTasksAssumeRolePolicy({ accountId: "123456789012", region: "eu-west-1", partition: "aws" }));
  expect(d.Statement).toEqual([
    {
      Sid: "EcsTasksOfThisAccount",
      Effect: "Allow",
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: ["sts:AssumeRole"],
      Condition: {
        StringEquals: { "aws:SourceAccount": "123456789012" },
        ArnLike: { "aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*" },
      },
    },
  ]);
});
