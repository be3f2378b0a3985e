/**
 * Name rules. Agent names and capabilities appear in file names, container names, DNS host names
 * and cloud resource names, so they are lowercase DNS labels; some targets allow fewer characters.
 */

/** A lowercase DNS label: 1-63 characters a-z, 0-9 and "-", not starting or ending with "-". */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const DNS_LABEL_MAX = 63;

/**
 * A capability: a lowercase DNS label too. It names queue files (`cap-<capability>`), and the
 * runtime and the config must agree on it: a capability the config let through and the runtime
 * refused used to stop the container at start.
 */
export const CAPABILITY = DNS_LABEL;
export const CAPABILITY_RULE =
  "lowercase letters, digits and dashes, at most 63 characters, not starting or ending with a dash";

/** The longest agent or fleet name a target accepts, and why (for the error message). */
export interface NameLimit {
  max: number;
  reason: string;
}

/**
 * Fargate: names of IAM roles (64 characters) and other AWS resources are derived from the fleet
 * and agent names, so each is at most 32 characters.
 */
export const FARGATE_NAME_LIMIT: NameLimit = {
  max: 32,
  reason: "on Fargate, IAM role and other AWS resource names derive from it",
};

/** True when `name` is a lowercase DNS label of at most `max` characters. */
export function isLabel(name: string, max = DNS_LABEL_MAX): boolean {
  return name.length <= max && DNS_LABEL.test(name);
}

/**
 * A shared project's name: a lowercase DNS label (it names host folders, mount points, EFS access
 * points and the `AGENT_PROJECTS` list), checked by the config and by the runtime alike.
 */
export const PROJECT_NAME = DNS_LABEL;
export const PROJECT_NAME_RULE = CAPABILITY_RULE;

/**
 * A project's branch: a plain git branch name (letters, digits, ".", "_", "-", "/" between parts),
 * never starting with "-" (it is passed to git) and without "..", "//" or a ".lock" ending.
 */
export const BRANCH_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)(?!\/)[A-Za-z0-9._/-]{1,100}$/;
