import { afterAll, describe, expect, it } from "vitest";
import { makeProject, runProgram } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * Benchmark, not a timed assertion: how long the program takes to evaluate under mocks (config
 * validation, build-context hashing, every resource registered and every output resolved) for 1,
 * 10 and 100 agents. Prints the figures; asserts only the resource counts.
 */
describe("program evaluation time (mocked)", () => {
  it.each([1, 10, 100])(
    "%i agent(s)",
    async (n) => {
      const names = Array.from({ length: n }, (_, i) => `agent-${i + 1}`);
      const dir = makeProject(names);
      const config = { target: "local", agents: names.map((name) => ({ name, env: { ROLE: name } })) };
      await runProgram(dir, { config }); // warm-up: module loading and the first hash
      const runs: number[] = [];
      let count = 0;
      for (let i = 0; i < 3; i++) {
        const t0 = process.hrtime.bigint();
        const run = await runProgram(dir, { config });
        runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
        count = run.resources.length;
      }
      // 2 components + host check, image, dirs, agentctl, image pruning + code, container, run-state per agent.
      expect(count).toBe(7 + 3 * n);
      const median = [...runs].sort((a, b) => a - b)[1]!;
      console.log(
        `[bench] program evaluation, local target, ${n} agent(s): median ${median.toFixed(0)} ms of ${runs.map((r) => r.toFixed(0)).join("/")} ms, ${count} resources`,
      );
    },
    180_000,
  );
});
