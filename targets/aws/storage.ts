import * as efs from "@pulumi/aws/efs";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PATHS } from "../../contract/paths.js";
import { efsFileSystemPolicy } from "./iamPolicies.js";

export interface FleetStorageArgs {
  fleetName: string;
  agentNames: string[];
  /** Shared projects: an access point each, rooted at `/projects/<name>`. Default none. */
  projectNames?: string[];
  subnetIds: pulumi.Output<string>[];
  efsSecurityGroupId: pulumi.Input<string>;
  retainData: boolean;
  tags: Record<string, string>;
}

/** EFS paths, mirroring the Docker host layout (hostLayout.ts) under the file system's root. */
export const EFS_PATHS = {
  agentCode: (agent: string) => `/agents/${agent}`,
  project: (project: string) => `${CONTAINER_PATHS.projects}/${project}`,
  shared: CONTAINER_PATHS.shared,
  decisions: CONTAINER_PATHS.decisions,
} as const;

/**
 * Creation info of every access point: root-owned, world-readable, writable by root only.
 *
 * No access point sets a `posixUser`. A POSIX user on an access point forces one uid for every
 * process that mounts through it, which would erase the line between the runtime (root: writes
 * /app, reads /decisions) and the agent program (uid 10001: may read /app, may write neither)
 * — exactly the privilege separation the runtime relies on. So ownership and modes decide, as on
 * a Docker host's bind mounts.
 */
export const ACCESS_POINT_CREATION = { ownerUid: 0, ownerGid: 0, permissions: "0755" } as const;

/**
 * The fleet's EFS file system: encrypted at rest (and in transit: tasks mount with TLS), one
 * mount target per subnet, access points for each agent's code, each shared project, the shared
 * dir and decisions.
 * With `retainData` the file system survives `pulumi destroy` (retainOnDelete), everything else
 * goes. A file system policy denies every client access that is not TLS or not through one of
 * these access points; tasks mount with IAM authorization, each task role granting its own
 * access points only (iamPolicies.ts).
 */
export class FleetStorage extends pulumi.ComponentResource {
  public readonly fileSystemId: pulumi.Output<string>;
  public readonly fileSystemArn: pulumi.Output<string>;
  public readonly codeAccessPointIds: Record<string, pulumi.Output<string>>;
  public readonly sharedAccessPointId: pulumi.Output<string>;
  public readonly decisionsAccessPointId: pulumi.Output<string>;
  public readonly codeAccessPointArns: Record<string, pulumi.Output<string>>;
  /** Per shared project: its access point (a root-owned bare repository at its root, once seeded). */
  public readonly projectAccessPointIds: Record<string, pulumi.Output<string>>;
  public readonly projectAccessPointArns: Record<string, pulumi.Output<string>>;
  public readonly sharedAccessPointArn: pulumi.Output<string>;
  public readonly decisionsAccessPointArn: pulumi.Output<string>;
  /** Depend on these before starting tasks: a task cannot mount EFS without a mount target. */
  public readonly mountTargets: efs.MountTarget[];

  constructor(name: string, args: FleetStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:aws:FleetStorage", name, {}, opts);
    const parent = { parent: this };
    const fs = new efs.FileSystem(
      `${name}-fs`,
      {
        encrypted: true,
        performanceMode: "generalPurpose",
        throughputMode: "bursting",
        tags: { ...args.tags, Name: `${args.fleetName}-data` },
      },
      { parent: this, retainOnDelete: args.retainData },
    );

    this.mountTargets = args.subnetIds.map(
      (subnetId, i) =>
        new efs.MountTarget(
          `${name}-mount-${i}`,
          {
            fileSystemId: fs.id,
            subnetId,
            securityGroups: [args.efsSecurityGroupId],
          },
          parent,
        ),
    );

    const accessPoint = (id: string, path: string, label: string) =>
      new efs.AccessPoint(
        `${name}-${id}`,
        {
          fileSystemId: fs.id,
          rootDirectory: { path, creationInfo: { ...ACCESS_POINT_CREATION } },
          tags: { ...args.tags, Name: `${args.fleetName}-${label}` },
        },
        parent,
      );

    const code = args.agentNames.map(
      (agent) => [agent, accessPoint(`code-${agent}`, EFS_PATHS.agentCode(agent), `code-${agent}`)] as const,
    );
    const projects = (args.projectNames ?? []).map(
      (project) =>
        [project, accessPoint(`project-${project}`, EFS_PATHS.project(project), `project-${project}`)] as const,
    );
    const shared = accessPoint("shared", EFS_PATHS.shared, "shared");
    const decisions = accessPoint("decisions", EFS_PATHS.decisions, "decisions");
    this.codeAccessPointIds = Object.fromEntries(code.map(([agent, ap]) => [agent, ap.id]));
    this.codeAccessPointArns = Object.fromEntries(code.map(([agent, ap]) => [agent, ap.arn]));
    this.projectAccessPointIds = Object.fromEntries(projects.map(([project, ap]) => [project, ap.id]));
    this.projectAccessPointArns = Object.fromEntries(projects.map(([project, ap]) => [project, ap.arn]));
    this.sharedAccessPointId = shared.id;
    this.sharedAccessPointArn = shared.arn;
    this.decisionsAccessPointId = decisions.id;
    this.decisionsAccessPointArn = decisions.arn;

    const allAccessPointArns = [
      ...code.map(([, ap]) => ap.arn),
      ...projects.map(([, ap]) => ap.arn),
      shared.arn,
      decisions.arn,
    ];
    new efs.FileSystemPolicy(
      `${name}-policy`,
      {
        fileSystemId: fs.id,
        policy: pulumi
          .all([fs.arn, pulumi.all(allAccessPointArns)])
          .apply(([fileSystemArn, accessPointArns]) =>
            JSON.stringify(efsFileSystemPolicy({ fileSystemArn, accessPointArns })),
          ),
      },
      parent,
    );
    this.fileSystemId = fs.id;
    this.fileSystemArn = fs.arn;
    this.registerOutputs({
      fileSystemId: this.fileSystemId,
      sharedAccessPointId: this.sharedAccessPointId,
      decisionsAccessPointId: this.decisionsAccessPointId,
    });
  }
}
