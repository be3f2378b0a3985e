import * as ecr from "@pulumi/aws/ecr";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as os from "node:os";
import * as path from "node:path";
import type { ResolvedFleetArgs } from "./args.js";
import { seedContextDir, writeRetagContext, writeSeedContext } from "./codeSeed.js";

export interface FleetImageArgs {
  fleetName: string;
  image: ResolvedFleetArgs["image"];
  /** Each agent with the folders of the shared projects it works on (they seed its task's project dirs). */
  agents: { name: string; codeDir: string; projects?: { name: string; sourceDir: string }[] }[];
  tags: Record<string, string>;
  /** Where generated build contexts go. Default: `<tmp>/agent-fleet-build/<project>.<stack>`. */
  buildRoot?: string;
}

/** Untagged images (replaced by a newer push) expire after this many days: rollbacks stay possible. */
export const ECR_UNTAGGED_EXPIRY_DAYS = 14;

/**
 * The images of a fleet, all in one new ECR repository that `pulumi destroy` removes:
 *
 * - `:agent`, the agent image: built from `agent-image/Dockerfile` with the repository root as
 *   context (default), or the given `image.ref` re-tagged, so that every task pulls from this
 *   repository only and the execution roles need no other registry.
 * - `:<agent>`, one per agent: the agent image plus that agent's code seed and the folders of the
 *   projects it works on (see codeSeed.ts, projectSeed.ts).
 *
 * Tasks reference images by digest, so a rebuild rolls out and an unchanged image does not.
 * @pulumi/docker builds and pushes with the local Docker engine, logged in with an ECR token.
 */
export class FleetImage extends pulumi.ComponentResource {
  /** The agent image without code (the operator task runs it). */
  public readonly agentImageRef: pulumi.Output<string>;
  /** Per agent: its image, by digest. */
  public readonly agentImageRefs: Record<string, pulumi.Output<string>>;
  public readonly repositoryArn: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;

  constructor(name: string, args: FleetImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:aws:FleetImage", name, {}, opts);
    const parent = { parent: this };
    const img = args.image;
    const buildRoot =
      args.buildRoot ?? path.join(os.tmpdir(), "agent-fleet-build", `${pulumi.getProject()}.${pulumi.getStack()}`);
    const repo = new ecr.Repository(
      `${name}-repo`,
      {
        name: `agent-fleet/${args.fleetName}`,
        imageTagMutability: "MUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        // `pulumi destroy` removes everything, images included.
        forceDelete: true,
        tags: args.tags,
      },
      parent,
    );
    new ecr.LifecyclePolicy(
      `${name}-expire`,
      {
        repository: repo.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `expire replaced (untagged) images after ${ECR_UNTAGGED_EXPIRY_DAYS} days`,
              selection: {
                tagStatus: "untagged",
                countType: "sinceImagePushed",
                countUnit: "days",
                countNumber: ECR_UNTAGGED_EXPIRY_DAYS,
              },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );
    const token = ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
    const registry = {
      server: repo.repositoryUrl.apply((u) => u.split("/")[0] ?? u),
      username: token.userName,
      password: pulumi.secret(token.password),
    };

    let agentImage: docker.Image;
    if (img.kind === "build") {
      const context = path.resolve(img.context);
      agentImage = new docker.Image(
        `${name}-agent`,
        {
          imageName: pulumi.interpolate`${repo.repositoryUrl}:agent`,
          build: { context, dockerfile: path.join(context, img.dockerfile), platform: img.platform },
          registry,
        },
        parent,
      );
    } else {
      const context = seedContextDir(args.fleetName, "_agent", buildRoot);
      writeRetagContext(context);
      agentImage = new docker.Image(
        `${name}-agent`,
        {
          imageName: pulumi.interpolate`${repo.repositoryUrl}:agent`,
          build: {
            context,
            dockerfile: path.join(context, "Dockerfile"),
            platform: img.platform,
            args: { AGENT_IMAGE: img.ref },
          },
          registry,
        },
        parent,
      );
    }

    this.agentImageRefs = Object.fromEntries(
      args.agents.map((agent) => {
        const context = seedContextDir(args.fleetName, agent.name, buildRoot);
        writeSeedContext({
          dir: context,
          agent: agent.name,
          codeDir: agent.codeDir,
          ...(agent.projects ? { projects: agent.projects } : {}),
        });
        const image = new docker.Image(
          `${name}-${agent.name}`,
          {
            imageName: pulumi.interpolate`${repo.repositoryUrl}:${agent.name}`,
            build: {
              context,
              dockerfile: path.join(context, "Dockerfile"),
              platform: img.platform,
              args: { AGENT_IMAGE: agentImage.repoDigest },
            },
            registry,
          },
          parent,
        );
        return [agent.name, image.repoDigest];
      }),
    );
    this.agentImageRef = agentImage.repoDigest;
    this.repositoryArn = repo.arn;
    this.repositoryUrl = repo.repositoryUrl;
    this.registerOutputs({
      agentImageRef: this.agentImageRef,
      agentImageRefs: this.agentImageRefs,
      repositoryArn: this.repositoryArn,
    });
  }
}
