import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { WORLD_CIDRS } from "../config/cidr.js";
import { DEFAULT_REMOTE_ROOT, DEFAULTS } from "../config/defaults.js";
import { hostLayout, type HostLayout } from "./hostLayout.js";
import { passedThroughArgs, type HostCommandArgs, type UploadingHost } from "./dockerHost.js";
import { asRoot, readScript, shellProgram } from "./shell.js";

export interface SshHostArgs {
  /** IP address or DNS name of the machine. */
  host: pulumi.Input<string>;
  /** SSH port. Default 22. */
  port?: number;
  /**
   * The account Pulumi and the operator log in with: key-only, passwordless sudo. Default "ops".
   * It must exist, unless `bootstrapUser` is given to create it.
   */
  user?: string;
  /** Private key for `user` (and `bootstrapUser`). Pass a Pulumi secret. */
  privateKey: pulumi.Input<string>;
  /**
   * An existing account with root rights (e.g. "root" on a fresh VPS, "ubuntu" on Ubuntu cloud
   * images) used once, to create `user` with `publicKey`. Root logins are disabled afterwards.
   */
  bootstrapUser?: string;
  /** Public key authorized for `user` when `bootstrapUser` creates it. */
  publicKey?: string;
  /** Pinned host key ("ssh-ed25519 AAAA…"); without it the host key is not verified. */
  hostKey?: string;
  /** Networks allowed to reach SSH; every other incoming connection is dropped. Required, non-empty. */
  allowedCidrs: string[];
  /** Root of the fleet's files. Default /srv/agent-fleet. */
  root?: string;
  /** How many failed dials to tolerate while the machine boots. Default 40 (about 10 minutes). */
  dialErrorLimit?: number;
  /** Resources the first step waits for, e.g. a new machine's readiness check. */
  after?: pulumi.Resource[];
}

/**
 * An existing Ubuntu or Debian machine reached over SSH, made ready to host an agent fleet:
 * waits for SSH (and cloud-init, and apt locks), creates the operator account when asked,
 * installs Docker when absent, creates the fleet root, sets a firewall that admits SSH from
 * `allowedCidrs` only, and turns SSH key-only with root login disabled.
 *
 * Each step is one `remote.Command` whose program is the step's script plus its parameters, so a
 * step runs again exactly when its script or parameters change; every script is idempotent.
 * Destroying the stack leaves the machine's setup (Docker, firewall, accounts) in place.
 */
export class SshHost extends pulumi.ComponentResource implements UploadingHost {
  readonly kind = "ssh" as const;
  readonly layout: HostLayout;
  readonly address: pulumi.Output<string>;
  readonly sshCommand: pulumi.Output<string>;
  readonly operatorPrefix: pulumi.Output<string>;
  readonly agentctlPath = "/usr/local/bin/agentctl";
  readonly ready: pulumi.Resource[];
  readonly seesLocalFiles = false;
  readonly uploadDir: string;
  readonly user: string;
  /** Connection used by every step after the bootstrap. */
  readonly connection: types.input.remote.ConnectionArgs;

  constructor(name: string, args: SshHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:hosts:SshHost", name, {}, opts);
    if (args.allowedCidrs.length === 0) {
      throw new Error(
        "SshHost: allowedCidrs must list at least one network (write 0.0.0.0/0 yourself to allow everyone)",
      );
    }
    if (args.bootstrapUser !== undefined && args.publicKey === undefined) {
      throw new Error("SshHost: publicKey is required with bootstrapUser");
    }
    const user = args.user ?? DEFAULTS.sshUser;
    const port = args.port ?? DEFAULTS.sshPort;
    this.user = user;
    this.layout = hostLayout(args.root ?? DEFAULT_REMOTE_ROOT);
    this.uploadDir = this.layout.uploadDir;
    this.address = pulumi.output(args.host);
    const target = pulumi.interpolate`${user}@${args.host}`;
    this.sshCommand =
      port === DEFAULTS.sshPort ? pulumi.interpolate`ssh ${target}` : pulumi.interpolate`ssh -p ${port} ${target}`;
    this.operatorPrefix = this.sshCommand.apply((c) => `${c} `);

    const connectionFor = (login: string): types.input.remote.ConnectionArgs => ({
      host: args.host,
      port,
      user: login,
      privateKey: pulumi.secret(args.privateKey),
      dialErrorLimit: args.dialErrorLimit ?? 40,
      perDialTimeout: 15,
      ...(args.hostKey !== undefined ? { hostKey: args.hostKey } : {}),
    });
    this.connection = connectionFor(user);
    const world = args.allowedCidrs.filter((c) => (WORLD_CIDRS as readonly string[]).includes(c));
    if (world.length > 0) {
      pulumi.log.warn(
        `ssh.allowedCidrs includes ${world.join(" and ")}: SSH on this host is open to the whole internet (key-only).`,
        this,
      );
    }
    const firstLogin = args.bootstrapUser ?? user;
    // Warned in the preview only: `pulumi up` evaluates the program twice (preview, then update),
    // and each evaluation's warning was printed inline and again in the diagnostics.
    if (args.bootstrapUser !== undefined && pulumi.runtime.isDryRun()) {
      pulumi.log.warn(
        `ssh.bootstrapUser (${args.bootstrapUser}) is set: once this up has succeeded, remove it ` +
          "(pulumi config rm --path ssh.bootstrapUser); root logins are switched off and later steps use " +
          `${user}.`,
        this,
      );
    }

    const step = (
      stepName: string,
      login: string,
      script: string,
      env: Record<string, string>,
      dependsOn: pulumi.Resource[],
      forwardSshClient = false,
    ): remote.Command =>
      new remote.Command(
        `${name}-${stepName}`,
        {
          connection: connectionFor(login),
          create: asRoot(shellProgram(readScript(__dirname, script), env), login, { forwardSshClient }),
          addPreviousOutputInEnv: false,
        },
        { parent: this, dependsOn },
      );

    const ready = step("wait-ready", firstLogin, "wait-ready.sh", {}, args.after ?? []);
    let last: pulumi.Resource = ready;
    if (args.bootstrapUser !== undefined) {
      last = step(
        "ensure-user",
        args.bootstrapUser,
        "ensure-user.sh",
        { AF_USER: user, AF_PUBLIC_KEY: args.publicKey! },
        [last],
      );
    }
    const docker = step("docker", user, "install-docker.sh", { AF_USER: user }, [last]);
    const dirs = step("host-dirs", user, "host-dirs.sh", { AF_ROOT: this.layout.root, AF_USER: user }, [docker]);
    const firewall = step(
      "firewall",
      user,
      "firewall.sh",
      { AF_SSH_PORT: String(port), AF_ALLOWED_CIDRS: args.allowedCidrs.join(" ") },
      [docker],
      true, // refuses rules that would lock out the very client running Pulumi
    );
    // Last: once root logins are off, only `user` can get in, and it has been proven to work.
    const hardening = step("harden-ssh", user, "harden-ssh.sh", {}, [dirs, firewall]);
    this.ready = [dirs, firewall, hardening];

    this.registerOutputs({ address: this.address, sshCommand: this.sshCommand });
  }

  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): pulumi.CustomResource {
    return new remote.Command(
      name,
      {
        connection: this.connection,
        create: pulumi.output(args.create).apply((p) => asRoot(p, this.user)),
        ...(args.delete !== undefined ? { delete: pulumi.output(args.delete).apply((p) => asRoot(p, this.user)) } : {}),
        ...passedThroughArgs(args),
        addPreviousOutputInEnv: false,
      },
      { parent: this, ...opts },
    );
  }

  upload(
    name: string,
    localFile: string,
    remotePath: string,
    opts?: pulumi.CustomResourceOptions,
  ): pulumi.CustomResource {
    return new remote.CopyToRemote(
      name,
      { connection: this.connection, source: new pulumi.asset.FileAsset(localFile), remotePath },
      { parent: this, ...opts },
    );
  }
}
