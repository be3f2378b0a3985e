import { makeProject, runProgram } from "./harness.js";
async function main() {
  const n = 100;
  const names = Array.from({ length: n }, (_, i) => `agent-${i + 1}`);
  const dir = makeProject(names);
  const config = { target: "local", agents: names.map((name) => ({ name, env: { ROLE: name } })) };
  await runProgram(dir, { config });
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await runProgram(dir, { config });
    console.log(`run ${i}: ${Date.now() - t0} ms`);
  }
}
void main();
