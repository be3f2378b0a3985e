import type * as pulumi from "@pulumi/pulumi";

/** The stack outputs every target's deploy() returns (index.ts exports them). */
export interface StackOutputs {
  target: string;
  hostAddress: pulumi.Output<string | undefined>;
  sshCommand: pulumi.Output<string | undefined>;
  paused: boolean;
  approvalRequired: boolean;
  image: pulumi.Output<string>;
  agents: pulumi.Output<Array<{ name: string; approvalRequired: boolean; approvalMode: string; container: string }>>;
  agentctl: pulumi.Output<object>;
  /** Target-specific extras (e.g. Fargate cost estimate). */
  details: pulumi.Output<object>;
}

/** What a target's deploy() needs besides its config. */
export interface DeployContext {
  stack: string;
  /** Folder holding Pulumi.yaml: relative agent code paths and the image build context start here. */
  projectDir: string;
}
