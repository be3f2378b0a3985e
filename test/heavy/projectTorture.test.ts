import { describe, it } from "vitest";
import { cleanUpAfterEach, projectTorture, TORTURE_TIMEOUT_MS } from "../runtime/projectTortureRun.js";

/** The full project torture (issue 11): 200 tasks on one project, with two and with three agents. */
const TASKS = Number(process.env.PROJECT_TORTURE_TASKS ?? 200);
cleanUpAfterEach();

describe("project torture (heavy)", () => {
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
