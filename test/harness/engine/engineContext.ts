/**
 * The locally built Pulumi engine, as the e2e globalSetup prepares it and the tests receive it
 * (vitest `provide`/`inject`): its environment and the build manifest that says which pieces exist.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
export const ENGINE_TOOLS_DIR = path.join(REPO_ROOT, "tools/pulumi-engine");

export type EnginePieceName =
  | "pulumi"
  | "pulumi-language-nodejs"
  | "pulumi-resource-command"
  | "pulumi-resource-pulumi-nodejs";

export interface EnginePiece {
  name: EnginePieceName;
  /** built: on PATH in binDir; blocked: its module cannot be fetched (detail = exact error); failed: build error. */
  status: "built" | "blocked" | "failed";
  detail: string;
}

export interface EngineManifest {
  binDir: string;
  pulumiVersion: string;
  commandVersion: string;
  pieces: EnginePiece[];
}

export interface EngineContext {
  /** Environment for anything that runs the engine (merged over process.env by the harness). */
  env: Record<string, string>;
  manifest: EngineManifest;
}

/** The environment variables tools/pulumi-engine/env.sh sets. */
const ENGINE_ENV_KEYS = [
  "PATH",
  "PULUMI_ENGINE_BIN_DIR",
  "PULUMI_SKIP_UPDATE_CHECK",
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
  "PULUMI_HOME",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
] as const;

/**
 * Builds the engine (cached) and returns its environment, by sourcing env.sh: the shell script stays
 * the one definition of the engine environment, for developers and tests alike.
 * `pulumiHome` holds plugins, credentials and the file backend's state for this run.
 */
export function prepareEngine(pulumiHome: string): EngineContext {
  const script = `source ${JSON.stringify(path.join(ENGINE_TOOLS_DIR, "env.sh"))} >&2 && node -e 'process.stdout.write(JSON.stringify(process.env))'`;
  const stdout = execFileSync("bash", ["-c", script], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PULUMI_HOME: pulumiHome,
      PULUMI_BACKEND_URL: `file://${path.join(pulumiHome, "state")}`,
    },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  const all = JSON.parse(stdout) as Record<string, string | undefined>;
  const env: Record<string, string> = {};
  for (const key of ENGINE_ENV_KEYS) {
    const value = all[key];
    if (value !== undefined) env[key] = value;
  }
  const binDir = env["PULUMI_ENGINE_BIN_DIR"];
  if (!binDir) throw new Error("tools/pulumi-engine/env.sh did not export PULUMI_ENGINE_BIN_DIR");
  const manifest = JSON.parse(readFileSync(path.join(binDir, "..", "manifest.json"), "utf8")) as EngineManifest;
  return { env, manifest };
}

export function piece(manifest: EngineManifest, name: EnginePieceName): EnginePiece {
  const found = manifest.pieces.find((p) => p.name === name);
  if (!found) throw new Error(`engine manifest has no entry for ${name}`);
  return found;
}

export function isBuilt(manifest: EngineManifest, name: EnginePieceName): boolean {
  return piece(manifest, name).status === "built";
}
