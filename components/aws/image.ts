import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { ResolvedFleetArgs } from "./args.js";
import { SEED_DOCKERFILE } from "./codeSeed.js";
import { ecrRepositoryArnOf } from "./iamPolicies.js";

export interface FleetImageArgs {
  fleetName: string;
  image: ResolvedFleetArgs["image"];
  tags: Record<string, string>;
}

/** How many images ECR keeps; older ones expire (storage cost). */
export const ECR_KEEP_IMAGES = 10;

/**
 * The image every task runs. Built (the default): an ECR repository, the agent image built from
 * `agent-image/Dockerfile` with the repository root as context and pushed by @pulumi/docker,
 * then the fleet image (agent image + agents' code seeds, `seed.Dockerfile`) on top of it. Tasks
 * reference the fleet image by digest, so a new build rolls out and an unchanged one does not.
 * Given (`image.ref`): used as is; its ECR repository, when it has one, is what the execution
 * roles may pull from.
 */
export class FleetImage extends pulumi.ComponentResource {
  /** Image reference for task definitions (by digest when built here). */
  public readonly imageRef: pulumi.Output<string>;
  /** The ECR repository the execution roles may pull from; undefined for images outside ECR. */
  public readonly ecrRepositoryArn: pulumi.Output<string | undefined>;
  public readonly repositoryUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: FleetImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:aws:FleetImage", name, {}, opts);
    const parent = { parent: this };
    const img = args.image;
    if (img.kind === "ref") {
      const partition = aws.getPartitionOutput({}, parent).partition;
      this.imageRef = pulumi.output(img.ref);
      this.ecrRepositoryArn = partition.apply((p) => ecrRepositoryArnOf(img.ref, p));
      this.repositoryUrl = pulumi.output(undefined);
    } else {
      const repo = new aws.ecr.Repository(`${name}-repo`, {
        name: `agent-fleet/${args.fleetName}`,
        imageTagMutability: "MUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        // `pulumi destroy` removes everything, images included.
        forceDelete: true,
        tags: args.tags,
      }, parent);
      new aws.ecr.LifecyclePolicy(`${name}-expire`, {
        repository: repo.name,
        policy: JSON.stringify({
          rules: [{
            rulePriority: 1,
            description: `keep the last ${ECR_KEEP_IMAGES} images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: ECR_KEEP_IMAGES },
            action: { type: "expire" },
          }],
        }),
      }, parent);
      const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
      const registry = {
        server: repo.repositoryUrl.apply((u) => u.split("/")[0] ?? u),
        username: token.userName,
        password: pulumi.secret(token.password),
      };
      const context = path.resolve(img.context);
      const agentImage = new docker.Image(`${name}-agent`, {
        imageName: pulumi.interpolate`${repo.repositoryUrl}:agent`,
        build: { context, dockerfile: path.join(context, img.dockerfile), platform: img.platform },
        registry,
      }, parent);
      const fleetImage = new docker.Image(`${name}-fleet`, {
        imageName: pulumi.interpolate`${repo.repositoryUrl}:fleet`,
        build: {
          context,
          dockerfile: path.join(context, SEED_DOCKERFILE),
          platform: img.platform,
          args: { AGENT_IMAGE: agentImage.repoDigest, AGENTS_DIR: img.agentsDir },
        },
        registry,
      }, parent);
      this.imageRef = fleetImage.repoDigest;
      this.ecrRepositoryArn = repo.arn;
      this.repositoryUrl = repo.repositoryUrl;
    }
    this.registerOutputs({ imageRef: this.imageRef, ecrRepositoryArn: this.ecrRepositoryArn });
  }
}
