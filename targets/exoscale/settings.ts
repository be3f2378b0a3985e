import type { ExoscaleCredentials } from "./client.js";

/**
 * Where the Exoscale credentials and endpoint come from, in order:
 *   1. Pulumi config `exoscale:key`, `exoscale:secret` (set with `--secret`), `exoscale:endpoint`
 *   2. environment `EXOSCALE_API_KEY`, `EXOSCALE_API_SECRET`, `EXOSCALE_API_ENDPOINT`
 *
 * The dynamic providers read them here (config through their `configure` call, or the engine's
 * environment), so the credentials are never resource inputs and never land in state.
 */
export interface ConfigSource {
  get(key: string): string | undefined;
}

export interface ExoscaleSettings {
  credentials: ExoscaleCredentials;
  /** API base URL override, e.g. the simulator's; undefined = the real zone endpoint. */
  endpoint?: string;
}

export const CONFIG_KEYS = { key: "exoscale:key", secret: "exoscale:secret", endpoint: "exoscale:endpoint" } as const;
export const ENV_KEYS = {
  key: "EXOSCALE_API_KEY",
  secret: "EXOSCALE_API_SECRET",
  endpoint: "EXOSCALE_API_ENDPOINT",
} as const;

export function resolveExoscaleSettings(
  config: ConfigSource | undefined,
  env: Record<string, string | undefined>,
): ExoscaleSettings {
  const pick = (c: string, e: string) => {
    const v = config?.get(c);
    return v !== undefined && v !== "" ? v : env[e] || undefined;
  };
  const apiKey = pick(CONFIG_KEYS.key, ENV_KEYS.key);
  const apiSecret = pick(CONFIG_KEYS.secret, ENV_KEYS.secret);
  const missing = [
    apiKey ? undefined : `${CONFIG_KEYS.key} (or ${ENV_KEYS.key})`,
    apiSecret ? undefined : `${CONFIG_KEYS.secret} (or ${ENV_KEYS.secret})`,
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0 || !apiKey || !apiSecret) {
    throw new Error(
      `Exoscale credentials missing: ${missing.join(" and ")}. ` +
        `Run \`pulumi config set exoscale:key EXO...\` and \`pulumi config set --secret exoscale:secret ...\`.`,
    );
  }
  const endpoint = pick(CONFIG_KEYS.endpoint, ENV_KEYS.endpoint);
  return { credentials: { apiKey, apiSecret }, ...(endpoint ? { endpoint } : {}) };
}
