import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { DEFAULT_REMOTE_ROOT, DEFAULTS } from "../../config/defaults.js";
import { EXOSCALE_DEFAULTS } from "./config.js";
import { buildCloudConfig } from "./cloudInit.js";
import { splitInstanceType } from "./client.js";
import { monthlyCostEstimate } from "./pricing.js";
import { ExoscaleElasticIp, ExoscaleElasticIpAttachment } from "./providers/elasticIp.js";
import { ExoscaleInstance } from "./providers/instance.js";
import { ExoscaleSecurityGroup } from "./providers/securityGroup.js";
import { ExoscaleSshKey } from "./providers/sshKey.js";
import { requireExoscaleZone, type ExoscaleZone } from "./zones.js";

export interface ExoscaleVpsArgs {
  /** Exoscale zone, e.g. `ch-gva-2`. */
  zone: string;
  /** `family.size`; default `standard.small` (2 vCPU, 2 GiB). */
  instanceType?: string;
  /** Root disk in GiB; default 50. */
  diskSizeGb?: number;
  /** Public template name; default `Linux Ubuntu 24.04 LTS 64-bit` (looked up per zone, never an id). */
  templateName?: string;
  /** Networks allowed to reach SSH (security group and host firewall). Required, non-empty. */
  allowedCidrs: string[];
  /** OpenSSH public key of the ops user. */
  sshPublicKey: string;
  /**
   * Private key matching `sshPublicKey` (pass a Pulumi secret). When given, the component waits
   * until SSH answers and cloud-init has finished (`ready`), so the SSH host can start at once.
   */
  sshPrivateKey?: pulumi.Input<string>;
  /** Login user for operators and for Pulumi; default `ops`. */
  opsUser?: string;
  /** Reserve an elastic IP, configure it on the host and attach it; default false. */
  elasticIp?: boolean;
  /** Extra labels on the instance and elastic IP (`managed-by` and `stack` are always set). */
  labels?: Record<string, string>;
  /**
   * The agent image, when known up front (config `image.ref`): cloud-init then installs the
   * host-side `agentctl` wrapper at first boot. Otherwise DockerHostFleet installs it over SSH.
   */
  agentImage?: string;
  /** Root of the fleet's files on the host; default /srv/agent-fleet. */
  hostRoot?: string;
  /** Prefix of the names at Exoscale (SSH key, security group, instance); default `agent-fleet-<stack>`. */
  namePrefix?: string;
  /** How many failed SSH dials to tolerate while the instance boots; default 60 (about 15 minutes). */
  dialErrorLimit?: number;
}

/**
 * An Exoscale compute instance ready to become an agent-fleet Docker host: an SSH key, a security
 * group that admits only SSH from `allowedCidrs`, the instance (Ubuntu LTS, cloud-init: ops user,
 * Docker, unattended upgrades, firewall, host dirs, agentctl), optionally an elastic IP, and a
 * readiness step that waits for SSH and `cloud-init status --wait`.
 *
 * Hand `publicIp`, `opsUser` and `ready` to an `SshHost` (then to `DockerHostFleet`).
 * Credentials come from `exoscale:key` / `exoscale:secret` (or EXOSCALE_API_KEY / EXOSCALE_API_SECRET);
 * they are read by the providers at run time and are never resource inputs.
 */
export class ExoscaleVps extends pulumi.ComponentResource {
  readonly zone: pulumi.Output<ExoscaleZone>;
  readonly instanceId: pulumi.Output<string>;
  /** The address to SSH to: the elastic IP when there is one, else the instance's public IPv4. */
  readonly publicIp: pulumi.Output<string>;
  readonly opsUser: string;
  readonly sshCommand: pulumi.Output<string>;
  /** Estimated EUR per month (730 h) from documented list prices; undefined for unpriced types. */
  readonly monthlyCostEstimate: pulumi.Output<number | undefined>;
  /** How the estimate was made, with the date of the price constants. */
  readonly costBasis: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** Depend on this before connecting: SSH answers and cloud-init is done (or the instance exists, without a private key). */
  readonly ready: pulumi.Resource;

  constructor(name: string, args: ExoscaleVpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:exoscale:ExoscaleVps", name, {}, opts);
    const zone = requireExoscaleZone(args.zone);
    const instanceType = args.instanceType ?? EXOSCALE_DEFAULTS.instanceType;
    splitInstanceType(instanceType);
    const diskSizeGb = args.diskSizeGb ?? EXOSCALE_DEFAULTS.diskSizeGb;
    const opsUser = args.opsUser ?? DEFAULTS.sshUser;
    if (args.allowedCidrs.length === 0) {
      throw new Error(
        "ExoscaleVps: allowedCidrs must list at least one network (write 0.0.0.0/0 yourself to allow everyone)",
      );
    }
    const prefix = (args.namePrefix ?? `agent-fleet-${pulumi.getStack()}`)
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "");
    if (prefix === "") throw new Error("ExoscaleVps: namePrefix must contain letters or digits");
    const labels = { ...args.labels, "managed-by": "agent-fleet", stack: pulumi.getStack() };
    const child = { parent: this };

    const sshKey = new ExoscaleSshKey(
      `${name}-ssh-key`,
      { zone, name: `${prefix}-${name}`, publicKey: args.sshPublicKey },
      child,
    );
    const securityGroup = new ExoscaleSecurityGroup(
      `${name}-sg`,
      {
        zone,
        name: `${prefix}-${name}`,
        description: "agent-fleet: SSH only, from the allowed networks",
        allowedCidrs: args.allowedCidrs,
        port: DEFAULTS.sshPort,
      },
      child,
    );
    const eip = args.elasticIp
      ? new ExoscaleElasticIp(`${name}-eip`, { zone, description: `agent-fleet ${prefix}-${name}`, labels }, child)
      : undefined;

    // The document is built from plain values (and the elastic IP once known), so a change shows
    // in `pulumi preview` as a diff of `userData`.
    const baseCloudInit = {
      opsUser,
      sshPublicKeys: [args.sshPublicKey],
      hostRoot: args.hostRoot ?? DEFAULT_REMOTE_ROOT,
      ...(args.agentImage !== undefined ? { agentImage: args.agentImage } : {}),
    };
    const userData = eip
      ? eip.ip.apply((ip) => buildCloudConfig({ ...baseCloudInit, elasticIp: ip }))
      : pulumi.output(buildCloudConfig(baseCloudInit));

    const instance = new ExoscaleInstance(
      `${name}-instance`,
      {
        zone,
        name: `${prefix}-${name}`,
        instanceType,
        diskSizeGb,
        templateName: args.templateName ?? EXOSCALE_DEFAULTS.template,
        userData,
        securityGroupIds: pulumi.all([securityGroup.securityGroupId]),
        sshKeyName: sshKey.id,
        labels,
      },
      child,
    );
    const attachment = eip
      ? new ExoscaleElasticIpAttachment(
          `${name}-eip-attachment`,
          { zone, elasticIpId: eip.elasticIpId, instanceId: instance.instanceId },
          child,
        )
      : undefined;

    this.zone = pulumi.output(zone);
    this.instanceId = instance.instanceId;
    this.securityGroupId = securityGroup.securityGroupId;
    this.publicIp = eip ? pulumi.all([eip.ip, attachment!.id]).apply(([ip]) => ip) : instance.publicIp;
    this.opsUser = opsUser;
    this.sshCommand = pulumi.interpolate`ssh ${opsUser}@${this.publicIp}`;
    const cost = monthlyCostEstimate({ instanceType, diskSizeGb, elasticIp: !!args.elasticIp });
    this.monthlyCostEstimate = pulumi.output(cost.monthly);
    this.costBasis = pulumi.output(cost.basis);

    this.ready = args.sshPrivateKey
      ? new remote.Command(
          `${name}-cloud-init`,
          {
            connection: {
              host: this.publicIp,
              user: opsUser,
              privateKey: pulumi.secret(args.sshPrivateKey),
              dialErrorLimit: args.dialErrorLimit ?? 60,
              perDialTimeout: 15,
            },
            // `status --wait` exits 2 when cloud-init finished with recoverable errors (e.g. a
            // deprecation warning): the host is usable; anything else is a failed boot.
            create: [
              "rc=0; cloud-init status --wait >/dev/null 2>&1 || rc=$?",
              'if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then cloud-init status --long >&2; exit 1; fi',
              "cloud-init status --long 2>/dev/null | head -n 5",
            ].join("\n"),
            triggers: [instance.instanceId],
          },
          { parent: this, dependsOn: attachment ? [instance, attachment] : [instance] },
        )
      : instance;

    this.registerOutputs({
      zone: this.zone,
      instanceId: this.instanceId,
      publicIp: this.publicIp,
      sshCommand: this.sshCommand,
      monthlyCostEstimate: this.monthlyCostEstimate,
      costBasis: this.costBasis,
    });
  }
}
