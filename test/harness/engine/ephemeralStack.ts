/**
 * An ephemeral Pulumi stack in the engine's file backend, driven through the Automation API
 * (one `driver.ts` process per operation, see there why), and `withEphemeralStack`, which always
 * destroys and removes the stack at the end, after a failure too.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT, type EngineContext } from "./engineContext.js";
import type { ConfigEntry, EngineAnswer, EngineOperation, EngineRequest } from "./protocol.js";

const DRIVER = path.join(import.meta.dirname, "driver.ts");

/** An engine operation that did not succeed; `engineOutput` has what the CLI printed. */
export class EngineOperationError extends Error {
  constructor(
    readonly operation: EngineOperation,
    readonly stackName: string,
    message: string,
    readonly engineOutput: string,
  ) {
    super(`pulumi ${operation} on stack ${stackName} failed: ${message}`);
    this.name = "EngineOperationError";
  }
}

export interface EphemeralStackOptions {
  engine: EngineContext;
  /** Directory holding Pulumi.yaml and the program. */
  workDir: string;
  /** Prefix of the generated stack name (letters, digits, dashes). */
  namePrefix?: string;
  /** Stack config set right after the stack is created. */
  config?: Record<string, string | ConfigEntry>;
  /** Extra environment for the driver and the engine (e.g. a simulator endpoint). */
  env?: Record<string, string>;
  /** Upper bound for one operation; the driver is killed past it. Default 15 minutes. */
  operationTimeoutMs?: number;
}

export class EphemeralStack {
  readonly name: string;
  /** Wall time of each operation, as measured around the driver process (for reports). */
  readonly timings: { operation: EngineOperation; ms: number }[] = [];
  private readonly scratch: string;

  constructor(private readonly options: EphemeralStackOptions) {
    const prefix = options.namePrefix ?? "e2e";
    if (!/^[A-Za-z0-9-]+$/.test(prefix))
      throw new Error(`namePrefix must be letters, digits and dashes, got '${prefix}'`);
    this.name = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
    this.scratch = mkdtempSync(path.join(tmpdir(), "engine-driver-"));
  }

  get workDir(): string {
    return this.options.workDir;
  }

  async init(): Promise<void> {
    const config = Object.fromEntries(
      Object.entries(this.options.config ?? {}).map(([k, v]) => [k, typeof v === "string" ? { value: v } : v]),
    );
    await this.run("init", { config });
  }

  up(opts: { expectNoChanges?: boolean } = {}): Promise<EngineAnswer> {
    return this.run("up", opts);
  }

  preview(): Promise<EngineAnswer> {
    return this.run("preview");
  }

  refresh(): Promise<EngineAnswer> {
    return this.run("refresh");
  }

  destroy(): Promise<EngineAnswer> {
    return this.run("destroy");
  }

  async outputs(): Promise<Record<string, unknown>> {
    return (await this.run("outputs")).outputs ?? {};
  }

  /** Every resource in the stack's state (providers included). */
  async resources(): Promise<{ urn: string; type: string }[]> {
    return (await this.run("resources")).resources ?? [];
  }

  /** Removes the stack from the backend and its Pulumi.<stack>.yaml from the work dir. */
  async remove(): Promise<void> {
    await this.run("remove");
    for (const ext of ["yaml", "yml", "json"]) {
      rmSync(path.join(this.options.workDir, `Pulumi.${this.name}.${ext}`), { force: true });
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** Runs one operation; resolves with the answer, rejects with `EngineOperationError` when it failed. */
  async run(operation: EngineOperation, extra: Partial<EngineRequest> = {}): Promise<EngineAnswer> {
    const answer = await this.runRaw(operation, extra);
    if (!answer.ok)
      throw new EngineOperationError(operation, this.name, answer.error ?? "unknown error", answer.engineOutput);
    return answer;
  }

  /** Like `run`, but returns a failed operation's answer instead of throwing (to assert on failures). */
  async runRaw(operation: EngineOperation, extra: Partial<EngineRequest> = {}): Promise<EngineAnswer> {
    const answerFile = path.join(this.scratch, `${operation}-${this.timings.length}.answer.json`);
    const requestFile = path.join(this.scratch, `${operation}-${this.timings.length}.request.json`);
    const request: EngineRequest = {
      ...extra,
      operation,
      workDir: this.options.workDir,
      stackName: this.name,
      answerFile,
    };
    writeFileSync(requestFile, JSON.stringify(request));
    const started = Date.now();
    const { code, stderrTail } = await runDriver(
      requestFile,
      {
        ...process.env,
        ...this.options.engine.env,
        ...this.options.env,
        // Always an inline program: the fixtures live inside the repository, where the language host
        // would find the repository's package.json and run its index.ts instead. The real language
        // host is exercised by the real-CLI scenarios (test/e2e/hosts/), in a copy of the project.
        AGENT_FLEET_ENGINE_PROGRAM_MODE: "inline",
      },
      this.options.operationTimeoutMs ?? 15 * 60_000,
    );
    this.timings.push({ operation, ms: Date.now() - started });
    if (!existsSync(answerFile)) {
      throw new Error(
        `engine driver for '${operation}' on ${this.name} exited with ${code} and no answer; its stderr ended with:\n${stderrTail}`,
      );
    }
    return JSON.parse(readFileSync(answerFile, "utf8")) as EngineAnswer;
  }
}

function runDriver(
  requestFile: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", DRIVER, requestFile], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "inherit", "pipe"],
    });
    let tail = "";
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString()).slice(-8000);
    });
    const timer = setTimeout(() => {
      tail += `\n[harness] killed after ${timeoutMs} ms\n`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderrTail: tail });
    });
  });
}

/**
 * Creates a stack, sets its config, runs `body`, and then ALWAYS destroys and removes it. A failure in
 * `body` wins over a cleanup failure (which is logged); when `body` succeeded, a cleanup failure fails
 * the caller, because a stack that cannot be destroyed is a bug the tests must see.
 */
export async function withEphemeralStack<T>(
  options: EphemeralStackOptions,
  body: (stack: EphemeralStack) => Promise<T>,
): Promise<T> {
  const stack = new EphemeralStack(options);
  let result: T;
  try {
    await stack.init();
    result = await body(stack);
  } catch (err) {
    await cleanup(stack).catch((cleanupErr: unknown) => {
      process.stderr.write(
        `[harness] cleanup of stack ${stack.name} after a failure also failed: ${String(cleanupErr)}\n`,
      );
    });
    throw err;
  }
  await cleanup(stack);
  return result;
}

async function cleanup(stack: EphemeralStack): Promise<void> {
  try {
    await stack.destroy();
  } finally {
    try {
      await stack.remove();
    } finally {
      // Figures for reports (never asserted: the machine is shared and noisy).
      const line = stack.timings.map((t) => `${t.operation} ${(t.ms / 1000).toFixed(1)}s`).join(", ");
      process.stderr.write(`[harness] stack ${stack.name} operations: ${line}\n`);
    }
  }
}
