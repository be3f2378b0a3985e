import { egressTargetString, isIpv4, type EgressTarget, type NetworkSetting } from "../../contract/egress.js";

/**
 * An agent's `network` on Fargate: the egress rules of its own security group (docs/aws.md,
 * Egress). Security groups filter by protocol, port and address, never by host name, and the
 * task's platform traffic (image pull from ECR, CloudWatch Logs, SSM secrets, ECS Exec) leaves
 * through the same network interface under the fleet's tasks group (`aws.egressPorts`, NFS to EFS).
 *
 * - `none`: no rule (the group exists and is empty, so the setting is visible in the console).
 * - `full`: every protocol to 0.0.0.0/0.
 * - allow-list: TCP to the entry's port; to the address itself (/32, /128) when the entry is an IP
 *   address, else to 0.0.0.0/0, which is all a security group can do with a name.
 */
export interface AgentEgressRule {
  /** Stable key of the rule (part of its resource name). */
  key: string;
  description: string;
  ipProtocol: "tcp" | "-1";
  fromPort?: number;
  toPort?: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
}

export const ANYWHERE_V4 = "0.0.0.0/0";

export function agentEgressRules(network: NetworkSetting): AgentEgressRule[] {
  if (network.mode === "none") return [];
  if (network.mode === "full") {
    return [
      { key: "all", description: "network full: any protocol, any address", ipProtocol: "-1", cidrIpv4: ANYWHERE_V4 },
    ];
  }
  const rules = new Map<string, AgentEgressRule>();
  const namesByPort = new Map<number, string[]>();
  for (const t of network.allow) {
    const port = { ipProtocol: "tcp" as const, fromPort: t.port, toPort: t.port };
    const description = `allow-list ${egressTargetString(t)}`;
    if (isIpv4(t.host)) {
      const key = `tcp-${t.port}-${t.host.replace(/\./g, "-")}`;
      rules.set(key, { key, description, ...port, cidrIpv4: `${t.host}/32` });
    } else if (t.host.includes(":")) {
      const key = `tcp-${t.port}-v6-${t.host.replace(/[:.]/g, "-")}`;
      rules.set(key, { key, description, ...port, cidrIpv6: `${t.host}/128` });
    } else {
      namesByPort.set(t.port, [...(namesByPort.get(t.port) ?? []), t.host]);
    }
  }
  // Every name on one port shares one rule: the group cannot tell them apart.
  for (const [p, names] of namesByPort) {
    const key = `tcp-${p}-any`;
    rules.set(key, {
      key,
      description: `allow-list by port only: ${names.join(" ")}`.slice(0, 255),
      ipProtocol: "tcp",
      fromPort: p,
      toPort: p,
      cidrIpv4: ANYWHERE_V4,
    });
  }
  return [...rules.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Is this allow-list entry a host name (which a security group cannot filter by)? */
export function namesAHost(t: EgressTarget): boolean {
  return !isIpv4(t.host) && !t.host.includes(":");
}

/** The warning for an allow-list entry naming a host (`agent-fleet check` and `pulumi up`). */
export function egressByNameWarning(t: EgressTarget): string {
  return `"${egressTargetString(t)}" names a host: on target aws a security group cannot filter by name, so this admits TCP ${t.port} to any address (use an IP address to narrow it, or a Docker host target for the name-checking egress proxy)`;
}
