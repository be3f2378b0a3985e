import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { hostLayout, type HostLayout } from "./hostLayout.js";
import { passedThroughArgs, type HostCommandArgs, type LocalFilesHost } from "./dockerHost.js";
import { readScript, shellProgram } from "./shell.js";

export interface LocalHostArgs {
  /**
   * Root of the fleet's files on this machine (absolute). The config layer defaults it to
   * `<project>/.agent-fleet/<stack>`, inside the project and ignored by git.
   */
  root: string;
}

/**
 * The local machine as a Docker host, driven by `local.Command` and the machine's own `docker`
 * CLI (whatever `DOCKER_HOST`/context the Pulumi process sees). It only checks that the engine
 * answers; it never installs software or changes system settings on your workstation.
 */
export class LocalHost extends pulumi.ComponentResource implements LocalFilesHost {
  readonly kind = "local" as const;
  readonly layout: HostLayout;
  readonly address: pulumi.Output<string>;
  readonly sshCommand = undefined;
  readonly operatorPrefix: pulumi.Output<string>;
  readonly agentctlPath: string;
  readonly ready: pulumi.Resource[];
  readonly seesLocalFiles = true;
  /** Output of the Docker check, e.g. "docker 26.1.5 ready". */
  readonly dockerVersion: pulumi.Output<string>;

  constructor(name: string, args: LocalHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:hosts:LocalHost", name, {}, opts);
    this.layout = hostLayout(args.root);
    this.agentctlPath = `${this.layout.binDir}/agentctl`;
    this.address = pulumi.output("localhost");
    this.operatorPrefix = pulumi.output("");

    const check = new local.Command(
      `${name}-docker`,
      { create: shellProgram(readScript(__dirname, "check-docker.sh")), interpreter: ["/bin/sh", "-c"] },
      { parent: this },
    );
    this.ready = [check];
    this.dockerVersion = check.stdout;
    this.registerOutputs({ address: this.address, dockerVersion: this.dockerVersion });
  }

  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): pulumi.CustomResource {
    return new local.Command(
      name,
      {
        create: args.create,
        ...(args.delete !== undefined ? { delete: args.delete } : {}),
        ...passedThroughArgs(args),
        interpreter: ["/bin/sh", "-c"],
        // Never hand a previous run's output to the next one: it may be a secret's neighbour.
        addPreviousOutputInEnv: false,
      },
      { parent: this, ...opts },
    );
  }
}
