import * as pulumi from "@pulumi/pulumi";
import { stackExports } from "./fleet/stackOutputs.js";
import { stackProgram } from "./program.js";

/**
 * agent-fleet: a host for a fleet of AI agents, one container per agent (see docs/program.md).
 *
 * The whole stack config is validated first; any problem stops the program before a single
 * resource is registered, with every problem listed by its key path.
 *
 * The stack outputs (docs/program.md lists them): target; hostAddress (where the agents run:
 * "localhost" or the VPS address; not on Fargate); sshCommand (ready-to-paste, vps and exoscale
 * only); agents (name, approval mode, container); agentctl (ready-to-paste commands); approvalRequired;
 * paused; image; details. They are the module's exports as one object, so that a target without an
 * output leaves it out instead of exporting it as undefined (which Pulumi warns about on every run).
 */
export = stackExports(stackProgram({ stack: pulumi.getStack(), projectDir: process.cwd() }));
