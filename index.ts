import * as pulumi from "@pulumi/pulumi";
import { stackProgram } from "./program.js";

/**
 * agent-fleet: a host for a fleet of AI agents, one container per agent (see docs/program.md).
 *
 * The whole stack config is validated first; any problem stops the program before a single
 * resource is registered, with every problem listed by its key path.
 */
const out = stackProgram({ stack: pulumi.getStack(), projectDir: process.cwd() });

/** local, vps, exoscale or aws. */
export const target = out.target;
/** Where the agents run: "localhost", the VPS address, or nothing for Fargate. */
export const hostAddress = out.hostAddress;
/** Ready-to-paste SSH command for the operator (vps, exoscale). */
export const sshCommand = out.sshCommand;
/** Each agent: name, approval mode, container. */
export const agents = out.agents;
/** Ready-to-paste agentctl commands: status, proposals, approve, reject, add a task, logs. */
export const agentctl = out.agentctl;
export const approvalRequired = out.approvalRequired;
export const paused = out.paused;
export const image = out.image;
export const details = out.details;
