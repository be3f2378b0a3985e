/**
 * e2e globalSetup: builds the Pulumi engine from its Go modules (tools/pulumi-engine/build.sh; cached
 * outside the repository, so only the first run pays the compile) and hands its environment to the
 * tests with `provide("engine", ...)`. Every run gets a private PULUMI_HOME with a file backend, removed
 * at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { prepareEngine, type EngineContext } from "../harness/engine/engineContext.js";
import { hostPiecesLine } from "../harness/engine/hostPieces.js";

declare module "vitest" {
  export interface ProvidedContext {
    engine: EngineContext;
  }
}

export default function setup(project: TestProject): () => void {
  const pulumiHome = mkdtempSync(path.join(tmpdir(), "agent-fleet-e2e-pulumi-home-"));
  const started = Date.now();
  const engine = prepareEngine(pulumiHome);
  process.stderr.write(
    `[e2e] engine ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${engine.manifest.binDir}\n`,
  );
  process.stderr.write(`[e2e] ${hostPiecesLine(engine.hostPieces)}\n`);
  project.provide("engine", engine);
  return () => {
    rmSync(pulumiHome, { recursive: true, force: true });
  };
}
