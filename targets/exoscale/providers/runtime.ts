import type * as pulumi from "@pulumi/pulumi";
import { ExoscaleClient, isNotFound, type PollPolicy, type RetryPolicy } from "../client.js";
import { resolveExoscaleSettings, type ConfigSource } from "../settings.js";
import { requireExoscaleZone } from "../zones.js";

/**
 * What every Exoscale dynamic provider shares. This module and what it imports (client, signing,
 * settings, zones) depend only on Node.js built-ins: Pulumi serializes the provider objects, and
 * everything they reference, into the state, and `delete` later runs that stored copy.
 */

/** Client tuning baked into a provider (tests make polling fast; production uses the defaults). */
export interface ProviderTuning {
  poll?: Partial<PollPolicy>;
  retry?: Partial<RetryPolicy>;
}

/** The mutable part of a provider object: stack config captured by `configure`, never serialized with values. */
export interface ProviderContext {
  tuning: ProviderTuning;
  /** Set by `configure` in the provider process; undefined until then (env vars are used instead). */
  config?: Record<string, string | undefined>;
}

/** A dynamic provider of ours: Pulumi's shape plus the context that `configure` fills in. */
export type ExoscaleProvider<Inputs, Outputs> = pulumi.dynamic.ResourceProvider<Inputs, Outputs> & {
  ctx: ProviderContext;
};

/**
 * What opens every provider object: its context, and `configure`, which the dynamic-provider host
 * calls with the stack config before any other method (`this` is the provider object).
 */
export function configurable(tuning: ProviderTuning): {
  ctx: ProviderContext;
  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void>;
} {
  return {
    ctx: { tuning },
    async configure(this: { ctx: ProviderContext }, req: pulumi.dynamic.ConfigureRequest) {
      captureConfig(this.ctx, req.config);
    },
  };
}

/** Called by the Pulumi dynamic-provider host with the stack config (`exoscale:key`, ...). */
export function captureConfig(ctx: ProviderContext, config: ConfigSource): void {
  ctx.config = {
    "exoscale:key": config.get("exoscale:key"),
    "exoscale:secret": config.get("exoscale:secret"),
    "exoscale:endpoint": config.get("exoscale:endpoint"),
  };
}

/** A client for `zone`, built inside each provider method from config or environment. */
export function clientFor(ctx: ProviderContext, zone: string): ExoscaleClient {
  const cfg = ctx.config;
  const settings = resolveExoscaleSettings(cfg ? { get: (k) => cfg[k] } : undefined, process.env);
  return new ExoscaleClient({
    zone: requireExoscaleZone(zone),
    credentials: settings.credentials,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(ctx.tuning.poll ? { poll: ctx.tuning.poll } : {}),
    ...(ctx.tuning.retry ? { retry: ctx.tuning.retry } : {}),
  });
}

/** Runs a delete; a 404 means it is already gone, which is what we wanted. */
export async function deleteIgnoringNotFound(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * A provider `read`: a 404, or `undefined` from `fetch` (say, an instance on its way out), means the
 * resource is gone, which Pulumi is told with an empty id.
 */
export async function readOrGone<T>(
  id: string,
  fetch: () => Promise<T | undefined>,
): Promise<{ id: string; props: T }> {
  const gone = { id: "", props: {} as T };
  try {
    const props = await fetch();
    return props === undefined ? gone : { id, props };
  } catch (err) {
    if (isNotFound(err)) return gone;
    throw err;
  }
}

/**
 * Finishes a create (`finish`, e.g. reading the new resource back). If that fails, the new resource
 * is not in the state yet and nothing else would ever delete it, so `remove` deletes it (a paying
 * orphan otherwise) before the error is passed on.
 */
export async function removeIfUnfinished<T>(finish: () => Promise<T>, remove: () => Promise<void>): Promise<T> {
  try {
    return await finish();
  } catch (err) {
    await deleteIgnoringNotFound(remove).catch(() => undefined);
    throw err;
  }
}

export function sameStringSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = Object.entries(a ?? {}).sort(([k1], [k2]) => k1.localeCompare(k2));
  const y = Object.entries(b ?? {}).sort(([k1], [k2]) => k1.localeCompare(k2));
  return JSON.stringify(x) === JSON.stringify(y);
}

/** Input values Pulumi has not computed yet during preview. */
export function isUnknown(v: unknown): boolean {
  return v === "04da6b54-80e4-46f7-96ec-b56ff0331ba9" || v === undefined;
}
