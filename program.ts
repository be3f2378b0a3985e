import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config/fleetConfig.js";
import { rawConfigFromPulumi } from "./config/pulumiConfig.js";
import type { RawStackConfig } from "./config/stackFile.js";
import type { StackOutputs } from "./fleet/stackOutputs.js";
import { deploy, parseStackConfig, type FleetConfig } from "./targets/index.js";

export type { StackOutputs } from "./fleet/stackOutputs.js";

/**
 * The Pulumi program (index.ts calls it): parse the stack config with every target's part, hand
 * it to its target's deploy(), return the stack outputs. Synchronous, so index.ts can export the
 * outputs as plain named exports; a bad config throws before a single resource is registered.
 */

export interface StackProgramOptions {
  stack: string;
  /** Folder holding Pulumi.yaml: relative agent code paths and the image build context start here. */
  projectDir: string;
  /** Config to validate; default: the running program's config. */
  raw?: RawStackConfig;
}

export function stackProgram(opts: StackProgramOptions): StackOutputs {
  const raw = opts.raw ?? rawConfigFromPulumi();
  let cfg: FleetConfig;
  try {
    cfg = parseStackConfig(raw.ns, { stack: opts.stack, projectDir: opts.projectDir, foreign: raw.foreign });
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  return withoutPromiseStackTraces(() => deploy(cfg, { stack: opts.stack, projectDir: opts.projectDir }));
}

/**
 * Runs the resource wiring with stack traces off. The Pulumi SDK takes `new Error().stack` for
 * every promise it makes (runtime/debuggable.ts), only to print it when it reports a leaked
 * promise; with source maps on (tsx, vitest) formatting those traces was most of the program's
 * evaluation time (a CPU profile of 100 agents: about 70 %). Pulumi's own switch for leak
 * debugging, PULUMI_DEBUG_PROMISE_LEAKS, keeps them (set it too for the stack of an unexpected
 * error thrown by the wiring itself: its message is always there). The wiring is synchronous, so
 * the limit is back before any other code runs; config errors are reported before this point.
 */
function withoutPromiseStackTraces<T>(wire: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return wire();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return wire();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
