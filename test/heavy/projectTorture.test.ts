import { describe, it } from "vitest";
import { cleanUpAfterEach, projectTorture, TORTURE_TIMEOUT_MS } from "../runtime/projectTortureRun.js";

/**
 * The project torture (issue 11) larger than `npm test`'s: three agents, 60 tasks on one project,
 * every task appending to the same file, random SIGKILLs. At this size it found a change that
 * never reached the project (TORTURE_SEED=59364: a lock-held last re-run whose lock was broken
 * under it while it was starved of CPU; docs/runtime.md). Issue 11's full size is
 * `PROJECT_TORTURE_TASKS=200 npx vitest run --project heavy test/heavy/projectTorture.test.ts`.
 */
const TASKS = Number(process.env.PROJECT_TORTURE_TASKS ?? 60);
cleanUpAfterEach();

describe("project torture (heavy)", () => {
  it(
    `three agents, ${TASKS} tasks on one project with random SIGKILLs: every Task-Id exactly once in history and file`,
    () => projectTorture(["j1", "j2", "j3"], TASKS),
    TORTURE_TIMEOUT_MS,
  );
});
