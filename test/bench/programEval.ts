/**
 * Program evaluation under Pulumi mocks (part of `npm run bench`; also on its own:
 * `node --import tsx test/bench/programEval.ts`), local target, as the unit tests' harness runs it
 * (test/unit/program/harness.ts: config validation, build-context hashing, every resource
 * registered, every output resolved):
 * - cold: this fresh process importing the program (the Pulumi SDK, the targets, tsx compiling
 *   the sources) and its first evaluation of 100 agents: what every `pulumi up` pays;
 * - warm: median of 3 further evaluations of 1 and of 100 agents;
 * - the SDK floor: the same resources with the same inputs registered as bare resources under the
 *   same mocks, without the program's code; warm 100 agents / floor says how much of the time is
 *   ours.
 * Wall and CPU time (the machine is shared: CPU time is the steadier of the two). Prints one line
 * per figure and a JSON line; nothing is asserted.
 */
const importStarted = process.hrtime.bigint();
const importCpu = process.cpuUsage();

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed(f: () => Promise<unknown>): Promise<Timing> {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await f();
  const d = process.cpuUsage(c);
  return { wallMs: Number(process.hrtime.bigint() - t) / 1e6, cpuMs: (d.user + d.system) / 1000 };
}

function median(xs: Timing[]): Timing {
  const by = (k: keyof Timing) => [...xs].sort((a, b) => a[k] - b[k])[Math.floor(xs.length / 2)]![k];
  return { wallMs: by("wallMs"), cpuMs: by("cpuMs") };
}

const fmt = (t: Timing) => `${t.wallMs.toFixed(0)} ms (CPU ${t.cpuMs.toFixed(0)} ms)`;

export interface ProgramEvalFigures {
  resources100: number;
  import: Timing;
  firstEvaluation100: Timing;
  warm1: Timing;
  warm100: Timing;
  sdkFloor100: Timing;
  /** Warm 100 agents / SDK floor (CPU). */
  ratioToFloor: number;
  /** Warm 100 agents / (100 x warm 1 agent) (CPU): below 1 when fixed costs dominate. */
  ratio100To1: number;
}

async function main(): Promise<ProgramEvalFigures> {
  const harness = await import("../unit/program/harness.js");
  const pulumi = await import("@pulumi/pulumi");
  const command = await import("@pulumi/command");
  const settings = (await import("@pulumi/pulumi/runtime/settings.js")) as unknown as {
    waitForRPCs: () => Promise<void>;
  };
  const d = process.cpuUsage(importCpu);
  const imported: Timing = {
    wallMs: Number(process.hrtime.bigint() - importStarted) / 1e6,
    cpuMs: (d.user + d.system) / 1000,
  };

  const project = (n: number) => {
    const names = Array.from({ length: n }, (_, i) => `agent-${i + 1}`);
    const dir = harness.makeProject(names);
    const config = { target: "local", agents: names.map((name) => ({ name, env: { ROLE: name } })) };
    return () => harness.runProgram(dir, { config });
  };
  const run100 = project(100);
  const run1 = project(1);

  let registered: Awaited<ReturnType<typeof run100>> | undefined;
  const first = await timed(async () => (registered = await run100()));
  const warm100: Timing[] = [];
  const warm1: Timing[] = [];
  for (let i = 0; i < 3; i++) {
    warm1.push(await timed(run1));
    warm100.push(await timed(run100));
  }

  // The floor: the same commands, inputs as the engine received them, straight onto the SDK.
  const commands = registered!.resources.filter((r) => r.type === "command:local:Command");
  const floor: Timing[] = [];
  for (let i = 0; i < 3; i++) {
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => ({ id: `${a.name}-id`, state: { ...a.inputs, stdout: "", stderr: "" } }),
        call: (a) => a.inputs,
      },
      "agent-fleet",
      "floor",
      false,
    );
    floor.push(
      await timed(async () => {
        // As the program wires its resources (program.ts): without promise stack traces.
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        const parent = new pulumi.ComponentResource("bench:floor:Floor", "floor");
        const made = commands.map(
          (r) =>
            new command.local.Command(r.name, r.inputs as ConstructorParameters<typeof command.local.Command>[1], {
              parent,
            }),
        );
        Error.stackTraceLimit = limit;
        await Promise.all(made.map((m) => new Promise((res) => m.urn.apply(res))));
        await settings.waitForRPCs();
      }),
    );
  }

  const w100 = median(warm100);
  const w1 = median(warm1);
  const f = median(floor);
  const figures: ProgramEvalFigures = {
    resources100: registered!.resources.length,
    import: imported,
    firstEvaluation100: first,
    warm1: w1,
    warm100: w100,
    sdkFloor100: f,
    ratioToFloor: Number((w100.cpuMs / f.cpuMs).toFixed(2)),
    ratio100To1: Number((w100.cpuMs / (100 * w1.cpuMs)).toFixed(3)),
  };
  console.log(
    `program evaluation (mocks, local target), cold process: import ${fmt(imported)}, first evaluation of 100 agents ${fmt(first)}`,
  );
  console.log(
    `program evaluation, warm, median of 3: 1 agent ${fmt(w1)}; 100 agents (${figures.resources100} resources) ${fmt(w100)}; ` +
      `the SDK alone registering the same ${commands.length} commands ${fmt(f)}: ${figures.ratioToFloor} x the floor; ` +
      `100 agents = ${figures.ratio100To1} x (100 x 1 agent)`,
  );
  return figures;
}

if (require.main === module) {
  main().then(
    (f) => {
      console.log(JSON.stringify(f));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}
