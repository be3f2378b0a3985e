import type { z } from "zod";
import type { EgressTarget } from "../contract/egress.js";
import type { NameLimit } from "../contract/names.js";
import type { CommonFleetConfig } from "./fleetConfig.js";

/** Reports one problem at a key path below `agent-fleet:` (e.g. ["aws", "region"]). */
export type AddProblem = (segments: ReadonlyArray<PropertyKey>, message: string) => void;

/**
 * A target's part of the stack config. Each target folder (targets/<name>/config.ts) owns one:
 * its section of the config (schema and defaults), its rules and the typed config it deploys
 * from. config/fleetConfig.ts assembles the parts it is given (targets/index.ts lists them), so
 * the config layer itself knows no target.
 */
export interface TargetConfigPart<C extends CommonFleetConfig = CommonFleetConfig> {
  /** The value of `agent-fleet:target`. */
  name: string;
  /**
   * The target's own section (e.g. `agent-fleet:aws`). It is checked whatever the target, so a
   * typo is caught before the target is switched; its rules that need the target run in build().
   */
  section?: { key: string; schema: z.ZodObject; defaults: object };
  /**
   * Where a Docker host keeps the fleet's files by default: "project" (<project>/.agent-fleet/
   * <stack>, the local machine), "remote" (hosts/hostLayout DEFAULT_REMOTE_ROOT), or "none" (no
   * Docker host: `hostRoot` is refused).
   */
  hostRoot: "project" | "remote" | "none";
  /** The target reaches its host over SSH: `ssh.privateKey` and `ssh.allowedCidrs` are required. */
  usesSsh: boolean;
  /** A stricter limit than a DNS label's 63 characters for agent and fleet names. */
  nameLimit?: NameLimit;
  /**
   * The resources an agent gets from what it asked for (memory undefined when not set): a target
   * with fixed sizes checks them and picks its own default. Default: as asked, 1 GiB memory.
   */
  agentResources?(
    asked: { cpus: number; memoryMb?: number },
    at: ReadonlyArray<PropertyKey>,
    add: AddProblem,
  ): { cpus: number; memoryMb?: number };
  /**
   * A target that enforces `network` allow-lists by address and port only (not by host name):
   * the warning for an entry it cannot enforce as written, or undefined. `agent-fleet check` shows
   * it at the entry's key (e.g. agents[0].network[1]).
   */
  egressWarning?(entry: EgressTarget): string | undefined;
  /** The target's config from the common part and its parsed section; undefined after reporting problems. */
  build(common: CommonFleetConfig, section: unknown, add: AddProblem, given: GivenSettings): C | undefined;
}

/** Settings as written (before defaults), for rules about what the stack sets explicitly. */
export interface GivenSettings {
  image: { ref?: string; baseImage?: string; buildArgs?: Record<string, string> };
  ssh?: { bootstrapUser?: string; publicKey?: string };
}
