/**
 * The shapes of the Exoscale API v2 resources agent-fleet reads, named and spelled as in
 * openapi-v2.json (`components.schemas`). Only the fields we use are listed.
 */

export type OperationState = "failure" | "pending" | "success" | "timeout";

export interface Operation {
  id?: string;
  state?: OperationState;
  reason?: string;
  message?: string;
  reference?: { id?: string; link?: string; command?: string };
}

export interface SshKey {
  name?: string;
  fingerprint?: string;
}

export interface SecurityGroupRule {
  id?: string;
  "flow-direction"?: "ingress" | "egress";
  protocol?: string;
  network?: string;
  "start-port"?: number;
  "end-port"?: number;
  description?: string;
}

/** Body of `add-rule-to-security-group` (required: flow-direction, protocol). */
export interface SecurityGroupRuleSpec {
  "flow-direction": "ingress" | "egress";
  protocol: "tcp" | "udp" | "icmp" | "icmpv6" | "esp" | "gre" | "ah" | "ipip";
  network?: string;
  "start-port"?: number;
  "end-port"?: number;
  description?: string;
}

export interface SecurityGroup {
  id?: string;
  name?: string;
  description?: string;
  rules?: SecurityGroupRule[];
}

export interface Template {
  id?: string;
  name?: string;
  family?: string;
  "default-user"?: string;
  zones?: string[];
  "created-at"?: string;
}

export interface InstanceType {
  id?: string;
  family?: string;
  size?: string;
  cpus?: number;
  memory?: number;
  authorized?: boolean;
  zones?: string[];
}

export type InstanceState =
  "expunging" | "starting" | "destroying" | "running" | "stopping" | "stopped" | "migrating" | "error" | "destroyed";

export interface Instance {
  id?: string;
  name?: string;
  state?: InstanceState;
  "public-ip"?: string;
  "public-ip-assignment"?: "inet4" | "dual" | "none";
  "ipv6-address"?: string;
  "disk-size"?: number;
  "instance-type"?: InstanceType;
  template?: Template;
  "security-groups"?: { id?: string }[];
  "elastic-ips"?: { id?: string }[];
  "ssh-key"?: SshKey;
  "ssh-keys"?: SshKey[];
  labels?: Record<string, string>;
  "user-data"?: string;
}

export interface ElasticIp {
  id?: string;
  ip?: string;
  description?: string;
  labels?: Record<string, string>;
}
