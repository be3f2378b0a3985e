import type * as pulumi from "@pulumi/pulumi";

/** The stack outputs every target's deploy() returns (index.ts exports them). */
export interface StackOutputs {
  target: string;
  /** Where the agents run: "localhost" or the machine's address; absent on Fargate. */
  hostAddress?: pulumi.Output<string>;
  /** Ready-to-paste SSH command (vps, exoscale); absent where there is no SSH. */
  sshCommand?: pulumi.Output<string>;
  paused: boolean;
  approvalRequired: boolean;
  image: pulumi.Output<string>;
  agents: pulumi.Output<Array<{ name: string; approvalRequired: boolean; approvalMode: string; container: string }>>;
  agentctl: pulumi.Output<object>;
  /** The review console's address on the operator's machine, once the tunnel is up (or locally). */
  consoleUrl?: pulumi.Output<string>;
  /** The exact command that makes consoleUrl reachable: an SSH tunnel, or an SSM port forward on Fargate. */
  consoleTunnel?: pulumi.Output<string>;
  /** Target-specific extras (e.g. Fargate cost estimate). */
  details: pulumi.Output<object>;
}

/** What a target's deploy() needs besides its config. */
export interface DeployContext {
  stack: string;
  /** Folder holding Pulumi.yaml: relative agent code paths and the image build context start here. */
  projectDir: string;
}

/**
 * The stack's outputs as index.ts exports them: a key a target does not have is left out rather
 * than exported as undefined (Pulumi warns "Undefined value (…) will not show as a stack output"
 * on every run for each one).
 */
export function stackExports(out: StackOutputs): Record<string, unknown> {
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
