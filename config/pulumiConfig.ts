import * as pulumi from "@pulumi/pulumi";
import * as pulumiRuntimeConfig from "@pulumi/pulumi/runtime/config.js";
import { PROJECT } from "./fleetConfig.js";
import { SecretValue } from "./secretRef.js";
import type { RawStackConfig } from "./stackFile.js";

/** Settings whose value is an object or a list (Pulumi hands them to programs as JSON text). */
const STRUCTURED = new Set([
  "agents",
  "projects",
  "ssh",
  "vps",
  "image",
  "exoscale",
  "aws",
  "console",
  "budget",
  "review",
  "idle",
  "notify",
]);

/**
 * Reads the config of the running Pulumi program (or of `pulumi.runtime.setAllConfig` in tests).
 * Nested secrets (`pulumi config set --secret --path ssh.privateKey`) make the whole `ssh` key
 * secret; its `privateKey` becomes a marker and the rest stays readable.
 */
export function rawConfigFromPulumi(): RawStackConfig {
  const all = pulumi.runtime.allConfig();
  const ns: Record<string, unknown> = {};
  const foreign: Record<string, unknown> = {};
  const prefix = `${PROJECT}:`;
  for (const [fullKey, text] of Object.entries(all)) {
    const secret = isConfigSecret(fullKey);
    if (!fullKey.startsWith(prefix)) {
      foreign[fullKey] = secret ? new SecretValue() : text;
      continue;
    }
    const key = fullKey.slice(prefix.length);
    if (STRUCTURED.has(key)) {
      let value: unknown = text;
      try {
        value = JSON.parse(text);
      } catch {
        // Leave the text: the schema reports that an object or list was expected.
      }
      if (key === "ssh" && secret && value && typeof value === "object" && "privateKey" in value) {
        value = { ...(value as object), privateKey: new SecretValue() };
      }
      value = consoleTokenMarkers(key, secret, value);
      value = notifyPasswordMarkers(key, secret, value);
      ns[key] = value;
    } else {
      ns[key] = secret ? new SecretValue() : text;
    }
  }
  return { ns, foreign };
}

/**
 * `pulumi config set --secret --path 'console.tokens.<name>'` makes the whole `console` key secret:
 * its tokens become markers and the rest (the port) stays readable. A `console` key that is not
 * secret keeps its plain tokens, which the config then refuses as "stored in plain text".
 */
function consoleTokenMarkers(key: string, secret: boolean, value: unknown): unknown {
  if (key !== "console" || !secret || !value || typeof value !== "object") return value;
  const tokens = (value as { tokens?: unknown }).tokens;
  if (!tokens || typeof tokens !== "object" || Array.isArray(tokens)) return value;
  return { ...(value as object), tokens: Object.fromEntries(Object.keys(tokens).map((k) => [k, new SecretValue()])) };
}

/**
 * `pulumi config set --secret --path 'notify[0].smtp.password'` makes the whole `notify` key
 * secret: each SMTP password becomes a marker and the rest (events, addresses, URLs) stays
 * readable for validation. A `notify` key that is not secret keeps its plain passwords, which the
 * config then refuses.
 */
function notifyPasswordMarkers(key: string, secret: boolean, value: unknown): unknown {
  if (key !== "notify" || !secret || !Array.isArray(value)) return value;
  return value.map((sink: unknown) => {
    const smtp = (sink as { smtp?: unknown } | null)?.smtp;
    if (!smtp || typeof smtp !== "object" || !("password" in smtp)) return sink;
    return { ...(sink as object), smtp: { ...smtp, password: new SecretValue() } };
  });
}

/**
 * Whether the engine passed a key as a secret. The SDK keeps this helper internal, so it is
 * looked up at run time; an SDK without it fails loudly rather than treating secrets as plain.
 */
function isConfigSecret(fullKey: string): boolean {
  const mod = pulumiRuntimeConfig as unknown as { isConfigSecret?: (k: string) => boolean };
  if (typeof mod.isConfigSecret !== "function") {
    throw new Error(
      "@pulumi/pulumi no longer exposes runtime/config isConfigSecret; agent-fleet cannot tell secrets apart",
    );
  }
  return mod.isConfigSecret(fullKey);
}
