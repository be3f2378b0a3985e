/**
 * The locally built Pulumi engine, as the e2e globalSetup prepares it and the tests receive it
 * (vitest `provide`/`inject`): its environment, the build manifest, and the two pieces this
 * repository does not build (hostPieces.ts), when the machine has them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import {
  COMMAND_PROVIDER_BINARY,
  commandPluginDirName,
  findHostPieces,
  pluginCacheDir,
  type HostPieces,
} from "./hostPieces.js";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
export const ENGINE_TOOLS_DIR = path.join(REPO_ROOT, "tools/pulumi-engine");

/** What tools/pulumi-engine/build.sh provides (the CLI, and the dynamic-provider plugin it links). */
export type EnginePieceName = "pulumi" | "pulumi-resource-pulumi-nodejs";

export interface EnginePiece {
  name: EnginePieceName;
  /** built: on PATH in binDir; blocked: its module cannot be fetched (detail = exact error); failed: build error. */
  status: "built" | "blocked" | "failed";
  detail: string;
}

export interface EngineManifest {
  binDir: string;
  pulumiVersion: string;
  pieces: EnginePiece[];
}

export interface EngineContext {
  /** Environment for anything that runs the engine (merged over process.env by the harness). */
  env: Record<string, string>;
  manifest: EngineManifest;
  /** The command provider and the Node.js language host, as found on this machine. */
  hostPieces: HostPieces;
}

/** True when the machine has the command provider and the language host: the real-CLI scenarios run. */
export function hasHostPieces(engine: EngineContext): boolean {
  return engine.hostPieces.missing.length === 0;
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
  // Looked for where a developer has them (their PULUMI_HOME or ~/.pulumi, their PATH), not in the
  // fresh PULUMI_HOME of this run.
  const hostPieces = findHostPieces(REPO_ROOT, process.env);
  if (hostPieces.commandProvider) installCommandProvider(hostPieces, pulumiHome);
  return { env, manifest, hostPieces };
}

/**
 * Makes the command provider a plugin-cache entry of the run's private PULUMI_HOME (a folder named
 * as `pulumi plugin install` names it, holding a link to the executable), so the engine selects it
 * by version as it would on a user's machine, and never warns about a plugin taken from PATH.
 */
function installCommandProvider(pieces: HostPieces, pulumiHome: string): void {
  const dir = path.join(pluginCacheDir({ PULUMI_HOME: pulumiHome }), commandPluginDirName(pieces.commandVersion));
  mkdirSync(dir, { recursive: true });
  symlinkSync(pieces.commandProvider!, path.join(dir, COMMAND_PROVIDER_BINARY));
}

export function piece(manifest: EngineManifest, name: EnginePieceName): EnginePiece {
  const found = manifest.pieces.find((p) => p.name === name);
  if (!found) throw new Error(`engine manifest has no entry for ${name}`);
  return found;
}

export function isBuilt(manifest: EngineManifest, name: EnginePieceName): boolean {
  return piece(manifest, name).status === "built";
}
