import * as awsVpc from "@pulumi/aws/vpc";
import * as ec2 from "@pulumi/aws/ec2";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleetArgs } from "./args.js";
import { subnetCidrs } from "./subnetCidrs.js";

/** NFS, the only port EFS mount targets listen on. */
export const NFS_PORT = 2049;

export interface FleetNetworkArgs {
  fleetName: string;
  network: ResolvedFleetArgs["network"];
  egressPorts: number[];
  tags: Record<string, string>;
}

/**
 * Where the fleet's tasks run: an existing VPC, or a small new one with public subnets, an
 * internet gateway and no NAT gateway (a NAT gateway alone costs more than a small agent).
 *
 * Two security groups:
 * - tasks: no ingress at all; egress only to `egressPorts` (443 by default) and NFS to EFS.
 * - EFS mount targets: ingress only NFS (2049) from the tasks' group, by group id, never a
 *   CIDR. This is the one ingress rule of the stack; without it tasks cannot mount EFS.
 */
export class FleetNetwork extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  /** One Output per subnet, so the number of subnets (and EFS mount targets) is known at preview. */
  public readonly subnetIds: pulumi.Output<string>[];
  public readonly taskSecurityGroupId: pulumi.Output<string>;
  public readonly efsSecurityGroupId: pulumi.Output<string>;
  public readonly assignPublicIp: boolean;

  constructor(name: string, args: FleetNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:aws:FleetNetwork", name, {}, opts);
    const parent = { parent: this };
    const tags = (n: string) => ({ ...args.tags, Name: n });
    const n = args.network;

    if (n.kind === "existing") {
      this.vpcId = pulumi.output(n.vpcId);
      this.subnetIds = n.subnetIds.map((s) => pulumi.output(s));
    } else {
      const vpc = new ec2.Vpc(
        `${name}-vpc`,
        {
          cidrBlock: n.cidrBlock,
          // EFS mount targets are found by DNS name: both settings are required.
          enableDnsSupport: true,
          enableDnsHostnames: true,
          tags: tags(`${args.fleetName}-vpc`),
        },
        parent,
      );
      const igw = new ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: tags(`${args.fleetName}-igw`) },
        parent,
      );
      const routes = new ec2.RouteTable(
        `${name}-public`,
        {
          vpcId: vpc.id,
          routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
          tags: tags(`${args.fleetName}-public`),
        },
        parent,
      );
      const zones = getAvailabilityZonesOutput({ state: "available" }, parent);
      this.vpcId = vpc.id;
      this.subnetIds = subnetCidrs(n.cidrBlock, n.availabilityZoneCount).map((cidr, i) => {
        const subnet = new ec2.Subnet(
          `${name}-public-${i}`,
          {
            vpcId: vpc.id,
            cidrBlock: cidr,
            availabilityZone: zones.names.apply((z) => {
              const zone = z[i];
              if (!zone)
                throw new Error(
                  `the region has ${z.length} availability zones; network.availabilityZoneCount is ${n.availabilityZoneCount}`,
                );
              return zone;
            }),
            // Tasks get a public IP from the service's assignPublicIp, nothing else should.
            mapPublicIpOnLaunch: false,
            tags: tags(`${args.fleetName}-public-${i}`),
          },
          parent,
        );
        new ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
        return subnet.id;
      });
    }
    this.assignPublicIp = n.assignPublicIp;

    // Inline `ingress`/`egress` are left out on purpose: the provider then removes AWS's default
    // allow-all egress, and every rule is a separate resource that tests can see.
    const taskSg = new ec2.SecurityGroup(
      `${name}-tasks`,
      {
        vpcId: this.vpcId,
        description: `agent-fleet ${args.fleetName}: agent tasks (no ingress)`,
        tags: tags(`${args.fleetName}-tasks`),
      },
      parent,
    );
    const efsSg = new ec2.SecurityGroup(
      `${name}-efs`,
      {
        vpcId: this.vpcId,
        description: `agent-fleet ${args.fleetName}: EFS mount targets (NFS from agent tasks only)`,
        tags: tags(`${args.fleetName}-efs`),
      },
      parent,
    );

    for (const port of args.egressPorts) {
      new awsVpc.SecurityGroupEgressRule(
        `${name}-tasks-egress-${port}`,
        {
          securityGroupId: taskSg.id,
          description: `agents out to TCP ${port}`,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrIpv4: "0.0.0.0/0",
        },
        parent,
      );
    }
    new awsVpc.SecurityGroupEgressRule(
      `${name}-tasks-egress-nfs`,
      {
        securityGroupId: taskSg.id,
        description: "agents to their EFS mount targets",
        ipProtocol: "tcp",
        fromPort: NFS_PORT,
        toPort: NFS_PORT,
        referencedSecurityGroupId: efsSg.id,
      },
      parent,
    );
    new awsVpc.SecurityGroupIngressRule(
      `${name}-efs-ingress-nfs`,
      {
        securityGroupId: efsSg.id,
        description: "NFS from agent tasks only",
        ipProtocol: "tcp",
        fromPort: NFS_PORT,
        toPort: NFS_PORT,
        referencedSecurityGroupId: taskSg.id,
      },
      parent,
    );

    this.taskSecurityGroupId = taskSg.id;
    this.efsSecurityGroupId = efsSg.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      taskSecurityGroupId: this.taskSecurityGroupId,
      efsSecurityGroupId: this.efsSecurityGroupId,
    });
  }
}
