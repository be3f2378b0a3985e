import { describe, it } from "vitest";
import { cleanUpAfterEach, projectTorture, TORTURE_TIMEOUT_MS } from "./projectTortureRun.js";

/**
 * The project torture at a size `npm test` can afford (PROJECT_TORTURE_TASKS overrides it). At 60
 * tasks with three agents a change was once found missing from the project (TORTURE_SEED=59364,
 * issue 11): open, see docs/runtime.md.
 */
const TASKS = Number(process.env.PROJECT_TORTURE_TASKS ?? 16);
cleanUpAfterEach();

describe("project torture", () => {
  it(
    `two agents, ${TASKS} tasks on one project with random SIGKILLs: every Task-Id exactly once in history and file`,
    () => projectTorture(["j1", "j2"], TASKS),
    TORTURE_TIMEOUT_MS,
  );
  it(
    `three agents, ${TASKS} tasks on one project with random SIGKILLs: every Task-Id exactly once in history and file`,
    () => projectTorture(["j1", "j2", "j3"], TASKS),
    TORTURE_TIMEOUT_MS,
  );
});
