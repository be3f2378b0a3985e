/**
 * Runs ONE Automation API operation against the locally built Pulumi CLI and writes an
 * `EngineAnswer` JSON file. Started by `EphemeralStack` as
 *
 *   node --import tsx test/harness/engine/driver.ts <request.json>
 *
 * with the engine environment (tools/pulumi-engine/env.sh) in its env.
 *
 * Why a process per operation: the program runs in this process (see below), so every `up` must load
 * the program's modules afresh, exactly as the Node.js language host does by starting a new `node`
 * for each run. It also keeps the program and its dynamic providers away from vitest's module
 * transforms, which would change what Pulumi's closure serializer captures.
 *
 * Program mode. `mode: "local"` (the harness does not use it: see ephemeralStack.ts) lets the CLI start the language host,
 * as `pulumi up` does for a user. Otherwise (see docs/engine.md) the
 * program runs as an Automation API *inline program*: this process serves Pulumi's LanguageRuntime
 * over gRPC and the CLI attaches with `--client`, so no language host binary is involved. The program
 * is loaded the way the language host's `@pulumi/pulumi/cmd/run` loads it: `require` of the project's
 * entry point (TypeScript through tsx's loader here, instead of ts-node), its exports become the stack
 * outputs, and a default-exported function is called and its result exported.
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation/index.js";
import type { EngineAnswer, EngineRequest } from "./protocol.js";

type Mode = "inline" | "local";

function programEntry(workDir: string): string {
  const pkgFile = path.join(workDir, "package.json");
  if (existsSync(pkgFile)) {
    const main = (JSON.parse(readFileSync(pkgFile, "utf8")) as { main?: unknown }).main;
    if (typeof main === "string" && main !== "") return path.resolve(workDir, main);
  }
  for (const candidate of ["index.ts", "index.js"]) {
    const file = path.join(workDir, candidate);
    if (existsSync(file)) return file;
  }
  throw new Error(`no program entry point in ${workDir}: expected package.json "main", index.ts or index.js`);
}

function inlineProgram(workDir: string): () => Promise<Record<string, unknown> | undefined> {
  const entry = programEntry(workDir);
  return async () => {
    const load = createRequire(path.join(workDir, "__pulumi_program__.js"));
    let exported: unknown = load(entry);
    if (exported !== null && typeof exported === "object" && "default" in exported) {
      const def = (exported as { default: unknown }).default;
      if (typeof def === "function") exported = def;
    }
    if (typeof exported === "function") exported = await (exported as () => unknown)();
    if (exported === undefined || exported === null) return undefined;
    if (typeof exported !== "object") throw new Error(`program ${entry} exported a ${typeof exported}, not an object`);
    // Module namespace objects carry __esModule; the language host drops it from outputs too.
    const { __esModule: _ignored, ...outputs } = exported as Record<string, unknown>;
    return outputs;
  };
}

async function openStack(request: EngineRequest, mode: Mode): Promise<Stack> {
  const opts = { workDir: request.workDir };
  if (mode === "local") {
    return LocalWorkspace.createOrSelectStack({ stackName: request.stackName, workDir: request.workDir }, opts);
  }
  return LocalWorkspace.createOrSelectStack(
    { stackName: request.stackName, projectName: "unused-project-yaml-wins", program: inlineProgram(request.workDir) },
    opts,
  );
}

function plainOutputs(outputs: Record<string, { value: unknown }>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

async function run(
  request: EngineRequest,
  mode: Mode,
  log: (s: string) => void,
): Promise<Omit<EngineAnswer, "engineOutput" | "elapsedMs">> {
  const stack = await openStack(request, mode);
  const onOutput = (out: string): void => log(out);
  switch (request.operation) {
    case "init": {
      const entries = Object.entries(request.config ?? {});
      if (entries.length > 0) {
        // `pulumi config set-all --json` (the format of `pulumi config --json`) takes strings and
        // structured values alike.
        const json = Object.fromEntries(
          entries.map(([key, entry]) =>
            "object" in entry
              ? [key, { value: JSON.stringify(entry.object), objectValue: entry.object, secret: entry.secret ?? false }]
              : [key, { value: entry.value, secret: entry.secret ?? false }],
          ),
        );
        await stack.setAllConfigJson(JSON.stringify(json));
      }
      return { ok: true, operation: "init" };
    }
    case "up": {
      const res = await stack.up({ onOutput, expectNoChanges: request.expectNoChanges ?? false });
      return {
        ok: true,
        operation: "up",
        result: res.summary.result,
        resourceChanges: res.summary.resourceChanges ?? {},
        outputs: plainOutputs(res.outputs),
      };
    }
    case "preview": {
      const res = await stack.preview({ onOutput });
      return { ok: true, operation: "preview", resourceChanges: res.changeSummary };
    }
    case "refresh": {
      const res = await stack.refresh({ onOutput });
      return {
        ok: true,
        operation: "refresh",
        result: res.summary.result,
        resourceChanges: res.summary.resourceChanges ?? {},
      };
    }
    case "destroy": {
      const res = await stack.destroy({ onOutput });
      return {
        ok: true,
        operation: "destroy",
        result: res.summary.result,
        resourceChanges: res.summary.resourceChanges ?? {},
      };
    }
    case "outputs": {
      return { ok: true, operation: "outputs", outputs: plainOutputs(await stack.outputs()) };
    }
    case "resources": {
      const exported = (await stack.exportStack()).deployment as
        { resources?: { urn: string; type: string }[] } | undefined;
      return {
        ok: true,
        operation: "resources",
        resources: (exported?.resources ?? []).map(({ urn, type }) => ({ urn, type })),
      };
    }
    case "remove": {
      await stack.workspace.removeStack(request.stackName);
      return { ok: true, operation: "remove" };
    }
  }
}

async function main(): Promise<void> {
  const requestFile = process.argv[2];
  if (!requestFile) throw new Error("usage: driver.ts <request.json>");
  const request = JSON.parse(readFileSync(requestFile, "utf8")) as EngineRequest;
  const mode: Mode = process.env["AGENT_FLEET_ENGINE_PROGRAM_MODE"] === "local" ? "local" : "inline";
  // The language host runs the program with the project directory as its working directory.
  process.chdir(request.workDir);
  const chunks: string[] = [];
  const log = (s: string): void => {
    chunks.push(s);
    process.stderr.write(s);
  };
  const started = Date.now();
  let answer: EngineAnswer;
  try {
    answer = { ...(await run(request, mode, log)), engineOutput: chunks.join(""), elapsedMs: Date.now() - started };
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    answer = {
      ok: false,
      operation: request.operation,
      error: message,
      engineOutput: chunks.join(""),
      elapsedMs: Date.now() - started,
    };
  }
  writeFileSync(request.answerFile, JSON.stringify(answer));
}

main().then(
  // The gRPC server of an inline program can keep the event loop alive; the answer is written.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`engine driver: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  },
);
