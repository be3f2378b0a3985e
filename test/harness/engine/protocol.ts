/**
 * The request/answer contract between the test process (`EphemeralStack`) and the engine driver
 * (`driver.ts`), which runs one Automation API operation per process. JSON files carry both, so the
 * driver's stdout/stderr stay free for the engine's own output.
 */

/** One engine operation on one stack. */
export type EngineOperation = "init" | "up" | "preview" | "refresh" | "destroy" | "remove" | "outputs" | "resources";

/**
 * One stack config value: a string (`value`), or structured data (`object`: arrays and maps, as
 * Pulumi.<stack>.yaml holds them and a Pulumi.yaml config schema such as `type: array` demands).
 */
export type ConfigEntry = { value: string; secret?: boolean } | { object: unknown; secret?: boolean };

export interface EngineRequest {
  operation: EngineOperation;
  /** Directory holding Pulumi.yaml and the program (its `index.ts`, or package.json `main`). */
  workDir: string;
  stackName: string;
  /** Stack config to set (keys without a namespace get the project's). Only for `init`. */
  config?: Record<string, ConfigEntry>;
  /** `up` only: fail if the update would change anything (`--expect-no-changes`). */
  expectNoChanges?: boolean;
  /** Where the driver writes its `EngineAnswer`. */
  answerFile: string;
}

/** Counts per operation kind, as the engine reports them (`create`, `same`, `update`, `delete`, ...). */
export type ResourceChanges = Record<string, number>;

export interface EngineAnswer {
  ok: boolean;
  operation: EngineOperation;
  /** The engine's message when `ok` is false. */
  error?: string;
  /** `up`/`refresh`/`destroy`: the engine's update summary result ("succeeded", "failed", ...). */
  result?: string;
  /** `up`/`refresh`/`destroy`: resource changes of the update; `preview`: the change summary. */
  resourceChanges?: ResourceChanges;
  /** `up`/`outputs`: stack outputs (secrets unwrapped: this is a test harness). */
  outputs?: Record<string, unknown>;
  /** `resources`: every resource in the stack's state (`pulumi stack export`), providers included. */
  resources?: { urn: string; type: string }[];
  /** Everything the engine printed during the operation. */
  engineOutput: string;
  /** Wall time of the operation inside the driver, in milliseconds (reporting only). */
  elapsedMs: number;
}
