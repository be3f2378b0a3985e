// Sums vitest JSON reports into the plain closing line CI reads: `tests: N passed, M failed`.
// A missing report, a skipped test or a suite that ran no test counts as a failure: a container
// or engine test that did not run proves nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...suites] = process.argv.slice(2);
let passed = 0;
let failed = 0;
const problems = [];
for (const suite of suites) {
  let report;
  try {
    report = JSON.parse(readFileSync(join(dir, `${suite}.json`), "utf8"));
  } catch (e) {
    problems.push(`${suite}: no readable JSON report (${e.message})`);
    failed += 1;
    continue;
  }
  const p = report.numPassedTests ?? 0;
  // A test file that failed without running a test (an import or setup error) counts as one
  // failure; failed tests count one each.
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === "failed" && (file.assertionResults ?? []).every((t) => t.status !== "failed"),
  ).length;
  const f = (report.numFailedTests ?? 0) + brokenFiles;
  const s = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`${suite}: ${p} passed, ${f} failed, ${s} skipped`);
  if (p === 0) problems.push(`${suite}: ran no test`);
  if (s > 0) problems.push(`${suite}: ${s} skipped (a skipped test is not a pass)`);
  passed += p;
  failed += f;
}
for (const problem of problems) console.log(`problem: ${problem}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
