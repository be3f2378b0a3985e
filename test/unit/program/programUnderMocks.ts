// Entry point for a separate tsx process: runs the program under mocks (harness.ts) and prints
// what was registered as JSON after a marker line. Dynamic providers (Exoscale) are serialized
// by Pulumi's closure serializer, which works on plain Node modules but not on the module graph
// vitest builds, so programs that create them are evaluated here.
//   tsx test/unit/program/programUnderMocks.ts <projectDir> '<StackConfig JSON>'
import { runProgram } from "./harness.js";

export const MARKER = "=== program under mocks ===";

async function main() {
  const [projectDir, stackJson] = process.argv.slice(2);
  if (!projectDir || !stackJson) throw new Error("usage: programUnderMocks.ts <projectDir> '<StackConfig JSON>'");
  const run = await runProgram(projectDir, JSON.parse(stackJson));
  const resources = run.resources.map((r) => {
    const { __provider, ...inputs } = r.inputs;
    return {
      type: r.type,
      name: r.name,
      inputs,
      ...(__provider !== undefined ? { providerBytes: String(__provider).length } : {}),
    };
  });
  process.stdout.write(`\n${MARKER}\n${JSON.stringify({ resources, outputs: run.outputs })}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}
