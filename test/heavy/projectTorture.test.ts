import { describe, it } from "vitest";
import { cleanUpAfterEach, projectTorture, TORTURE_TIMEOUT_MS } from "../runtime/projectTortureRun.js";

/**
 * The project torture at issue 11's size, larger than `npm test`'s: two and three agents, 200
 * tasks on one project, every task appending to the same file, random SIGKILLs (three agents, 200
 * tasks: 180 s here with 51 SIGKILLs and 284 re-runs after conflicts). At 60 tasks it found a
 * change that never reached the project (TORTURE_SEED=59364: a lock-held last re-run whose lock
 * was broken under it while it was starved of CPU; docs/runtime.md). PROJECT_TORTURE_TASKS=N
 * changes the size.
 */
const TASKS = Number(process.env.PROJECT_TORTURE_TASKS ?? 200);
cleanUpAfterEach();

describe("project torture (heavy)", () => {
  it(
    `two agents, ${TASKS} tasks on one project with random SIGKILLs: every Task-Id exactly once in history and file`,
    () => projectTorture(["i1", "i2"], TASKS),
    TORTURE_TIMEOUT_MS,
  );
  it(
    `three agents, ${TASKS} tasks on one project with random SIGKILLs: every Task-Id exactly once in history and file`,
    () => projectTorture(["j1", "j2", "j3"], TASKS),
    TORTURE_TIMEOUT_MS,
  );
});
