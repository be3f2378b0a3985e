import { run } from "../../harness/docker/index.js";
import type { Registered } from "../../unit/program/harness.js";
import { programOf, type StepResult, type StepRunner } from "./steps.js";

/**
 * Runs `command:local:Command` programs as the command provider does: the resource's interpreter
 * (`/bin/sh -c`, checked) with the program as its argument, the resource's stdin, and the
 * environment of the process running Pulumi (here: pointed at the test engine by DOCKER_HOST).
 */
export class LocalRunner implements StepRunner {
  readonly types = ["command:local:Command"] as const;
  readonly log: StepResult[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async exec(step: Registered, program: "create" | "delete"): Promise<StepResult> {
    const interpreter = step.inputs.interpreter as string[] | undefined;
    if (JSON.stringify(interpreter) !== JSON.stringify(["/bin/sh", "-c"])) {
      throw new Error(`${step.name}: expected interpreter ["/bin/sh","-c"], got ${JSON.stringify(interpreter)}`);
    }
    const { text, stdin } = programOf(step, program);
    const r = await run("/bin/sh", ["-c", text], { env: this.env, input: stdin ?? "", timeoutMs: 15 * 60_000 });
    const result = { name: step.name, program, ...r };
    this.log.push(result);
    return result;
  }
}
