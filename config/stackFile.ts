import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { PROJECT } from "./fleetConfig.js";
import { SecretValue } from "./secretRef.js";

/**
 * Where stack config comes from, turned into the one shape `checkFleetConfig` validates:
 * the `agent-fleet` namespace without its prefix (`ns`), other namespaces with their prefix
 * (`foreign`), every secret replaced by a SecretValue marker. No plaintext secret is kept.
 */
export interface RawStackConfig {
  ns: Record<string, unknown>;
  foreign: Record<string, unknown>;
}

export class StackFileError extends Error {}

/**
 * Reads a stack file (`stacks/Pulumi.<stack>.yaml`) the way Pulumi would: keys with or without
 * the `agent-fleet:` namespace, `{ secure: … }` values (at any depth) as secrets. Used by
 * `agent-fleet check`, offline and without the passphrase.
 */
export function rawConfigFromStackFile(file: string): RawStackConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StackFileError(`cannot read stack file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new StackFileError(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new StackFileError(`${file}: expected a YAML mapping with a "config" key`);
  const config = (doc as { config?: unknown }).config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new StackFileError(`${file}: "config" must be a mapping of keys to values`);
  }
  const ns: Record<string, unknown> = {};
  const foreign: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const value = markSecrets(v);
    const colon = k.indexOf(":");
    if (colon < 0) ns[k] = value;
    else if (k.slice(0, colon) === PROJECT) ns[k.slice(colon + 1)] = value;
    else foreign[k] = value;
  }
  return { ns, foreign };
}

function markSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(markSecrets);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "secure") return new SecretValue();
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markSecrets(x)]));
  }
  return v;
}
