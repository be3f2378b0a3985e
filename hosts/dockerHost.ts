import type * as pulumi from "@pulumi/pulumi";
import type { HostLayout } from "./hostLayout.js";

/**
 * A machine with a Docker engine that DockerHostFleet can drive: the local machine (LocalHost) or
 * a machine over SSH (SshHost, also what ExoscaleVps hands over). Everything the fleet does on a
 * host is a shell program run by one `@pulumi/command` resource, so the two hosts differ only in
 * how a program reaches the machine and how files get there.
 */
export interface HostCommandArgs {
  /** POSIX sh program run on create (and on update when its inputs change). */
  create: pulumi.Input<string>;
  /** POSIX sh program run on delete. */
  delete?: pulumi.Input<string>;
  /** The resource is replaced when any of these change. */
  triggers?: pulumi.Input<unknown[]>;
  /** Standard input of both programs: the only way secret content reaches a host. */
  stdin?: pulumi.Input<string>;
  /** "none" for programs whose output might echo secret material. Default: stdout and stderr. */
  logging?: "stdoutAndStderr" | "none";
}

/**
 * The parts of HostCommandArgs that both hosts hand to their `@pulumi/command` resource unchanged
 * (`create` and `delete` differ: over SSH they run through sudo).
 */
export function passedThroughArgs(args: HostCommandArgs): {
  triggers?: pulumi.Input<unknown[]>;
  stdin?: pulumi.Input<string>;
  logging?: "stdoutAndStderr" | "none";
} {
  return {
    ...(args.triggers !== undefined ? { triggers: args.triggers } : {}),
    ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
    ...(args.logging !== undefined ? { logging: args.logging } : {}),
  };
}

interface DockerHostBase {
  readonly kind: "local" | "ssh";
  /** The fleet's folders on the host. */
  readonly layout: HostLayout;
  /** Where the operator reaches the host ("localhost" for the local machine). */
  readonly address: pulumi.Output<string>;
  /** Ready-to-paste SSH command; none for the local machine. */
  readonly sshCommand: pulumi.Output<string> | undefined;
  /** Where DockerHostFleet installs the host `agentctl` wrapper. */
  readonly agentctlPath: string;
  /**
   * How an operator runs a command on the host, e.g. `ssh ops@1.2.3.4` + ` agentctl proposals`;
   * empty for the local machine.
   */
  readonly operatorPrefix: pulumi.Output<string>;
  /** Resources that must exist before the fleet touches the host (bootstrap steps). */
  readonly ready: pulumi.Resource[];
  /** Runs programs on the host: as you on the local machine, as root (sudo) over SSH. */
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): pulumi.CustomResource;
}

/**
 * A host whose Docker engine sees local paths (the project's folders): the image is built from
 * the project folder and code is seeded from it directly.
 */
export interface LocalFilesHost extends DockerHostBase {
  readonly seesLocalFiles: true;
}

/** A host that does not see local files: archives are uploaded to it first. */
export interface UploadingHost extends DockerHostBase {
  readonly seesLocalFiles: false;
  /** Folder on the host that `upload` writes into. */
  readonly uploadDir: string;
  /** Copies one local file to the host. */
  upload(
    name: string,
    localFile: string,
    remotePath: string,
    opts?: pulumi.CustomResourceOptions,
  ): pulumi.CustomResource;
}

/** Where a fleet runs: narrowing on `seesLocalFiles` tells whether files have to be uploaded. */
export type DockerHost = LocalFilesHost | UploadingHost;
