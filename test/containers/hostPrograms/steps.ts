import { changedResources, plain, type ProgramRun, type Registered } from "../../unit/program/harness.js";
import { createOrder } from "./plan.js";

/**
 * Running the host programs a program run registered, phase by phase, the way the engine would
 * ask the command provider to: `create` of every step in dependency order on a first `up`; only
 * the steps whose inputs changed on a later `up`; `delete` of every step in reverse order on
 * `destroy`. How a program reaches the host (sh locally, ssh/scp to a VPS) is the runner's job.
 */

export interface StepResult {
  name: string;
  program: "create" | "delete" | "upload";
  code: number;
  stdout: string;
  stderr: string;
}

export interface StepRunner {
  /** Resource types this runner executes (the others, e.g. components, carry no program). */
  readonly types: readonly string[];
  /** Runs one program of one step; resolves with its exit code and output (never throws on exit code). */
  exec(step: Registered, program: "create" | "delete"): Promise<StepResult>;
}

export class StepFailed extends Error {}

function check(r: StepResult): StepResult {
  if (r.code !== 0) {
    throw new StepFailed(
      `${r.program} of ${r.name} failed (exit ${r.code}):\n${(r.stdout + r.stderr).trim().split("\n").slice(-40).join("\n")}`,
    );
  }
  return r;
}

/**
 * `pulumi up` on an empty stack: every step's create, in dependency order. With `only`, just the
 * steps it selects (still in that order; a test can stop between phases to look at the host).
 */
export async function upAll(
  runner: StepRunner,
  run: ProgramRun,
  only: (step: Registered) => boolean = () => true,
): Promise<Map<string, StepResult>> {
  const results = new Map<string, StepResult>();
  for (const step of createOrder(run, runner.types).filter(only))
    results.set(step.name, check(await runner.exec(step, "create")));
  return results;
}

/**
 * `pulumi up` after `previous`: the steps whose inputs changed. A step whose triggers changed is
 * replaced (its old delete program first, if it had one; the fleet's replaced steps are
 * deleteBeforeReplace or have none); any other change is an update, and a command without an
 * `update` program runs `create` again. Returns the changed step names too, so a test can pin them.
 */
export async function upChanged(
  runner: StepRunner,
  previous: ProgramRun,
  run: ProgramRun,
): Promise<{ changed: string[]; results: Map<string, StepResult> }> {
  const changed = changedResources(previous, run);
  const results = new Map<string, StepResult>();
  for (const step of createOrder(run, runner.types)) {
    if (!changed.includes(step.name)) continue;
    const before = previous.resources.find((r) => r.type === step.type && r.name === step.name);
    const replaced =
      before !== undefined && JSON.stringify(before.inputs.triggers) !== JSON.stringify(step.inputs.triggers);
    if (!replaced && before?.inputs.delete) {
      // Whether the provider updates or replaces it (replaceOnChanges) is not modelled here.
      throw new Error(
        `${step.name} changed without a trigger change and has a delete program: not modelled by this test`,
      );
    }
    if (replaced && before.inputs.delete) check(await runner.exec(before, "delete"));
    results.set(step.name, check(await runner.exec(step, "create")));
  }
  return {
    changed: changed.filter((n) => run.resources.some((r) => r.name === n && runner.types.includes(r.type))),
    results,
  };
}

/** `pulumi destroy`: every step's delete program (state holds the last up's), reverse dependency order. */
export async function destroyAll(runner: StepRunner, run: ProgramRun): Promise<string[]> {
  const ran: string[] = [];
  for (const step of createOrder(run, runner.types).reverse()) {
    if (!step.inputs.delete) continue;
    check(await runner.exec(step, "delete"));
    ran.push(step.name);
  }
  return ran;
}

/** The program text of a step (secret envelopes removed: stdin may be one). */
export function programOf(step: Registered, program: "create" | "delete"): { text: string; stdin: string | undefined } {
  const text = plain(step.inputs[program]);
  if (typeof text !== "string") throw new Error(`${step.name} has no ${program} program`);
  const stdin = plain(step.inputs.stdin);
  return { text, stdin: typeof stdin === "string" ? stdin : undefined };
}
