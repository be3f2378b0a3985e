/**
 * The two engine pieces this repository does not build (docs/engine.md): the `command` provider
 * plugin and the Node.js language host. The real-CLI end-to-end scenarios (test/e2e/hosts/) run
 * only where the machine has both; this file is the ONE place that decides whether it does, for
 * vitest.config.ts (which files the e2e project collects), the e2e global setup (which installs the
 * provider into the run's private plugin cache) and .ci/run (its `e2e-hosts:` line).
 *
 * Where they are looked for, as Pulumi itself looks for them:
 * - the command provider at the version of `@pulumi/command` in package.json: in the plugin cache
 *   (`$PULUMI_HOME/plugins/resource-command-v<version>/`, default `~/.pulumi`, where
 *   `pulumi plugin install resource command <version>` puts it; a `.partial` marker means an
 *   unfinished install), else `pulumi-resource-command` on PATH;
 * - `pulumi-language-nodejs` on PATH (next to an installed `pulumi`, or anywhere else on PATH).
 *
 * Zero dependencies beyond node: (vitest's config loader imports it).
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

export const COMMAND_PROVIDER_BINARY = "pulumi-resource-command";
export const LANGUAGE_HOST_BINARY = "pulumi-language-nodejs";

export interface HostPieces {
  /** `@pulumi/command` version in package.json: the provider version the SDK asks the engine for. */
  commandVersion: string;
  /** Executable of the command provider, when found. */
  commandProvider?: string;
  /** Executable of the Node.js language host, when found. */
  languageHost?: string;
  /** What is missing, one phrase each (empty when both are here). */
  missing: string[];
}

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** The plugin cache directory Pulumi uses for this environment (`$PULUMI_HOME/plugins`). */
export function pluginCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env["PULUMI_HOME"] || path.join(homedir(), ".pulumi"), "plugins");
}

/** `resource-command-v1.2.1`: the plugin cache's folder name for the command provider. */
export function commandPluginDirName(version: string): string {
  return `resource-command-v${version}`;
}

export function dependencyVersion(repoRoot: string, pkg: string): string {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const version = manifest.dependencies?.[pkg];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`package.json must pin ${pkg} to an exact version, found ${String(version)}`);
  return version;
}

/** Finds both pieces; `env` is the environment the engine will run in (PATH, PULUMI_HOME). */
export function findHostPieces(repoRoot: string, env: NodeJS.ProcessEnv = process.env): HostPieces {
  const commandVersion = dependencyVersion(repoRoot, "@pulumi/command");
  const missing: string[] = [];

  const cacheDir = path.join(pluginCacheDir(env), commandPluginDirName(commandVersion));
  const cached = path.join(cacheDir, COMMAND_PROVIDER_BINARY);
  const commandProvider =
    (executable(cached) && !existsSync(`${cacheDir}.partial`) ? cached : undefined) ??
    onPath(COMMAND_PROVIDER_BINARY, env["PATH"]);
  if (!commandProvider) {
    missing.push(`command provider ${commandVersion} (not in ${cacheDir}/, no ${COMMAND_PROVIDER_BINARY} on PATH)`);
  }
  const languageHost = onPath(LANGUAGE_HOST_BINARY, env["PATH"]);
  if (!languageHost) missing.push(`Node.js language host (no ${LANGUAGE_HOST_BINARY} on PATH)`);

  return {
    commandVersion,
    ...(commandProvider ? { commandProvider } : {}),
    ...(languageHost ? { languageHost } : {}),
    missing,
  };
}

/** The line .ci/run prints: whether the real-CLI scenarios are part of the e2e suite's count. */
export function hostPiecesLine(pieces: HostPieces): string {
  return pieces.missing.length === 0
    ? `e2e-hosts: run (counted in the e2e suite; ${COMMAND_PROVIDER_BINARY} ${pieces.commandProvider}, ${LANGUAGE_HOST_BINARY} ${pieces.languageHost})`
    : `e2e-hosts: not run (missing: ${pieces.missing.join("; ")})`;
}
