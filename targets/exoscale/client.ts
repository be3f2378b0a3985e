import { authorizationHeader } from "./signing.js";
import { apiEndpoint, type ExoscaleZone } from "./zones.js";
import type {
  ElasticIp,
  Instance,
  InstanceType,
  Operation,
  SecurityGroup,
  SecurityGroupRuleSpec,
  SshKey,
  Template,
} from "./types.js";

/**
 * A small typed client for the Exoscale API v2 (the subset agent-fleet uses), with
 * `EXO2-HMAC-SHA256` signing, asynchronous operation polling and bounded retries.
 *
 * It is also the code that runs inside the dynamic providers, so it depends only on Node.js
 * built-ins (fetch, crypto): the providers serialize it by value.
 */

export interface ExoscaleCredentials {
  apiKey: string;
  apiSecret: string;
}

/**
 * Retries on 429 and 5xx (POST: only 429 and 503, which mean "not processed"; network errors only
 * for idempotent methods), with full jitter, bounded.
 */
export interface RetryPolicy {
  /** Total attempts including the first; default 5. */
  maxAttempts: number;
  /** Backoff base; default 500 ms (attempt n waits random(0, min(max, base * 2^n))). */
  baseDelayMs: number;
  /** Backoff cap, also the cap for a `Retry-After` header; default 20 s. */
  maxDelayMs: number;
}

/** Operation polling: 3 s at first, growing by `factor` up to 60 s, within an overall timeout. */
export interface PollPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
  factor: number;
  /** Give up waiting for one operation after this long; default 15 min. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 20_000 };
export const DEFAULT_POLL: PollPolicy = {
  initialIntervalMs: 3_000,
  maxIntervalMs: 60_000,
  factor: 1.5,
  timeoutMs: 15 * 60_000,
};

export interface ExoscaleClientOptions {
  zone: ExoscaleZone;
  credentials: ExoscaleCredentials;
  /** Base URL override (e.g. the simulator's `http://127.0.0.1:PORT/v2`). */
  endpoint?: string;
  retry?: Partial<RetryPolicy>;
  poll?: Partial<PollPolicy>;
  /** Lifetime of a request signature; default 600 s. */
  signatureTtlSeconds?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Diagnostic lines (method, path, status, retries); never contains credentials. */
  log?: (line: string) => void;
}

/** An API error: HTTP status, the API's own message, and which request failed. No credentials. */
export class ExoscaleApiError extends Error {
  constructor(
    readonly status: number,
    readonly apiMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    const message = `Exoscale API ${method} ${path} failed with HTTP ${status}: ${apiMessage}`;
    super(message);
    // Set explicitly: in a serialized dynamic provider this class is rebuilt from source and
    // the Error constructor's own assignment can be lost.
    this.message = message;
    this.name = "ExoscaleApiError";
  }
}

/** An asynchronous operation that ended in `failure` or `timeout`, or that we stopped waiting for. */
export class ExoscaleOperationError extends Error {
  /** The resource the operation was about (e.g. a half-created instance), when the API said. */
  referenceId?: string;

  constructor(
    readonly operationId: string,
    readonly state: string,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.message = message;
    this.name = "ExoscaleOperationError";
  }
}

/** Duck-typed rather than `instanceof`, so it holds across serialized copies of this module. */
export function isNotFound(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "ExoscaleApiError" &&
    (err as { status?: unknown }).status === 404
  );
}

type Query = Record<string, string>;

export class ExoscaleClient {
  readonly zone: ExoscaleZone;
  readonly baseUrl: string;
  private readonly creds: ExoscaleCredentials;
  private readonly retry: RetryPolicy;
  private readonly poll: PollPolicy;
  private readonly ttl: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: (line: string) => void;

  constructor(o: ExoscaleClientOptions) {
    if (!o.credentials.apiKey || !o.credentials.apiSecret) {
      throw new Error(
        "Exoscale credentials are missing: set exoscale:key and exoscale:secret (or EXOSCALE_API_KEY / EXOSCALE_API_SECRET)",
      );
    }
    this.zone = o.zone;
    this.baseUrl = apiEndpoint(o.zone, o.endpoint);
    this.creds = o.credentials;
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.poll = { ...DEFAULT_POLL, ...o.poll };
    this.ttl = o.signatureTtlSeconds ?? 600;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.log = o.log ?? (() => {});
  }

  /** One signed request with retries; returns the parsed JSON body. */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    const query = opts.query ?? {};
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const body = opts.body === undefined ? "" : JSON.stringify(opts.body);
    const idempotent = method !== "POST";
    for (let attempt = 1; ; attempt++) {
      const expires = Math.floor(this.now() / 1000) + this.ttl;
      const headers: Record<string, string> = {
        accept: "application/json",
        authorization: authorizationHeader(this.creds.apiKey, this.creds.apiSecret, {
          method,
          path: url.pathname,
          body,
          query,
          expires,
        }),
      };
      if (body !== "") headers["content-type"] = "application/json";
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: body === "" ? undefined : body });
      } catch (err) {
        const msg = this.redact(err instanceof Error ? err.message : String(err));
        if (!idempotent || attempt >= this.retry.maxAttempts) {
          throw new Error(`Exoscale API ${method} ${path}: network error after ${attempt} attempt(s): ${msg}`);
        }
        const delay = this.backoff(attempt, undefined);
        this.log(`${method} ${path}: network error (${msg}); retry ${attempt} in ${delay} ms`);
        await this.sleep(delay);
        continue;
      }
      const text = await res.text();
      if (res.ok) {
        return (text === "" ? {} : JSON.parse(text)) as T;
      }
      const apiMessage = this.redact(errorMessage(text, res.statusText));
      // A POST that failed with 500/502/504 may still have created something: retrying could make a
      // duplicate. Only answers that say "not processed" (429, 503) are retried for POST.
      const retryable = res.status === 429 || res.status === 503 || (idempotent && res.status >= 500);
      if (retryable && attempt < this.retry.maxAttempts) {
        const delay = this.backoff(attempt, res.headers.get("retry-after"));
        this.log(`${method} ${path}: HTTP ${res.status} (${apiMessage}); retry ${attempt} in ${delay} ms`);
        await this.sleep(delay);
        continue;
      }
      throw new ExoscaleApiError(res.status, apiMessage, method, path);
    }
  }

  /** Waits until the operation leaves `pending`; throws on failure, timeout, or our own deadline. */
  async waitForOperation(op: Operation): Promise<Operation> {
    const started = this.now();
    let interval = this.poll.initialIntervalMs;
    let current = op;
    while (current.state === "pending") {
      if (this.now() - started + interval > this.poll.timeoutMs) {
        throw new ExoscaleOperationError(
          current.id ?? "?",
          "pending",
          undefined,
          `Exoscale operation ${current.id} (${current.reference?.command ?? "?"}) still pending after ${Math.round((this.now() - started) / 1000)} s; gave up (timeout ${Math.round(this.poll.timeoutMs / 1000)} s)`,
        );
      }
      await this.sleep(interval);
      interval = Math.min(this.poll.maxIntervalMs, Math.round(interval * this.poll.factor));
      current = await this.getOperation(requireId(current.id, "operation"));
    }
    if (current.state !== "success") {
      throw new ExoscaleOperationError(
        current.id ?? "?",
        current.state ?? "?",
        current.reason,
        `Exoscale operation ${current.id} ended in ${current.state}` +
          `${current.reason ? ` (${current.reason})` : ""}${current.message ? `: ${current.message}` : ""}`,
      );
    }
    return current;
  }

  /** Sends a request that answers an operation, waits for it, returns the referenced resource id. */
  async operate(method: string, path: string, body?: unknown): Promise<string | undefined> {
    const op = await this.request<Operation>(method, path, body === undefined ? {} : { body });
    try {
      const done = await this.waitForOperation(op);
      return done.reference?.id;
    } catch (err) {
      // Keep what the operation referenced, so a caller can clean up a half-created resource.
      // Duck-typed: in a serialized provider the class identity is not guaranteed.
      if (
        typeof err === "object" &&
        err !== null &&
        (err as { name?: unknown }).name === "ExoscaleOperationError" &&
        op.reference?.id
      ) {
        (err as ExoscaleOperationError).referenceId = op.reference.id;
      }
      throw err;
    }
  }

  getOperation(id: string): Promise<Operation> {
    return this.request<Operation>("GET", `/operation/${enc(id)}`);
  }

  async listZones(): Promise<string[]> {
    const r = await this.request<{ zones?: { name?: string }[] }>("GET", "/zone");
    return (r.zones ?? []).map((z) => z.name ?? "");
  }

  // --- SSH keys (global resources, addressed by name) ---
  async registerSshKey(name: string, publicKey: string): Promise<void> {
    await this.operate("POST", "/ssh-key", { name, "public-key": publicKey });
  }
  getSshKey(name: string): Promise<SshKey> {
    return this.request<SshKey>("GET", `/ssh-key/${enc(name)}`);
  }
  async deleteSshKey(name: string): Promise<void> {
    await this.operate("DELETE", `/ssh-key/${enc(name)}`);
  }

  // --- Security groups ---
  async createSecurityGroup(name: string, description?: string): Promise<string> {
    const body: Record<string, string> = { name };
    if (description) body.description = description;
    return requireId(await this.operate("POST", "/security-group", body), "security group");
  }
  getSecurityGroup(id: string): Promise<SecurityGroup> {
    return this.request<SecurityGroup>("GET", `/security-group/${enc(id)}`);
  }
  async deleteSecurityGroup(id: string): Promise<void> {
    await this.operate("DELETE", `/security-group/${enc(id)}`);
  }
  async addSecurityGroupRule(id: string, rule: SecurityGroupRuleSpec): Promise<void> {
    await this.operate("POST", `/security-group/${enc(id)}/rules`, rule);
  }
  async deleteSecurityGroupRule(id: string, ruleId: string): Promise<void> {
    await this.operate("DELETE", `/security-group/${enc(id)}/rules/${enc(ruleId)}`);
  }
  async attachInstanceToSecurityGroup(securityGroupId: string, instanceId: string): Promise<void> {
    await this.operate("PUT", `/security-group/${enc(securityGroupId)}:attach`, { instance: { id: instanceId } });
  }
  async detachInstanceFromSecurityGroup(securityGroupId: string, instanceId: string): Promise<void> {
    await this.operate("PUT", `/security-group/${enc(securityGroupId)}:detach`, { instance: { id: instanceId } });
  }

  // --- Templates and instance types ---
  async listTemplates(visibility: "public" | "private" = "public"): Promise<Template[]> {
    const r = await this.request<{ templates?: Template[] }>("GET", "/template", { query: { visibility } });
    return r.templates ?? [];
  }
  /** The newest template with exactly this name available in the client's zone. */
  async findTemplateByName(name: string, visibility: "public" | "private" = "public"): Promise<Template> {
    const all = await this.listTemplates(visibility);
    const matches = all
      .filter((t) => t.name === name && (t.zones === undefined || t.zones.includes(this.zone)))
      .sort((a, b) => (b["created-at"] ?? "").localeCompare(a["created-at"] ?? ""));
    const found = matches[0];
    if (!found) {
      const similar = all
        .map((t) => t.name ?? "")
        .filter((n) => n.toLowerCase().includes(name.toLowerCase().split(" ").slice(0, 2).join(" ")))
        .slice(0, 5);
      throw new Error(
        `no ${visibility} Exoscale template named "${name}" in zone ${this.zone}` +
          (similar.length ? `; similar names: ${similar.map((s) => `"${s}"`).join(", ")}` : ""),
      );
    }
    return found;
  }
  async listInstanceTypes(): Promise<InstanceType[]> {
    const r = await this.request<{ "instance-types"?: InstanceType[] }>("GET", "/instance-type");
    return r["instance-types"] ?? [];
  }
  /** Looks up `family.size` (e.g. `standard.small`) among the types offered in the client's zone. */
  async findInstanceType(familySize: string): Promise<InstanceType> {
    const [family, size] = splitInstanceType(familySize);
    const all = await this.listInstanceTypes();
    const found = all.find(
      (t) => t.family === family && t.size === size && (t.zones === undefined || t.zones.includes(this.zone)),
    );
    if (!found) {
      const offered = all
        .filter((t) => t.zones === undefined || t.zones.includes(this.zone))
        .map((t) => `${t.family}.${t.size}`)
        .sort();
      throw new Error(
        `Exoscale instance type "${familySize}" is not offered in zone ${this.zone}; offered: ${offered.join(", ")}`,
      );
    }
    if (found.authorized === false) {
      throw new Error(
        `Exoscale instance type "${familySize}" needs an authorization on your organization first (ask Exoscale support), or pick another type`,
      );
    }
    return found;
  }

  // --- Compute instances ---
  /**
   * Creates an instance and waits for it. If the create operation fails or times out after the
   * API named the new instance, that instance is deleted (it would cost money while nobody owns it)
   * and the error says so.
   */
  async createInstance(body: Record<string, unknown>): Promise<string> {
    try {
      return requireId(await this.operate("POST", "/instance", body), "instance");
    } catch (err) {
      throw await this.cleanUpAfter(err, (id) => this.deleteInstance(id), "instance");
    }
  }
  getInstance(id: string): Promise<Instance> {
    return this.request<Instance>("GET", `/instance/${enc(id)}`);
  }
  async updateInstance(id: string, body: Record<string, unknown>): Promise<void> {
    await this.operate("PUT", `/instance/${enc(id)}`, body);
  }
  async resetInstanceLabels(id: string): Promise<void> {
    await this.operate("DELETE", `/instance/${enc(id)}/labels`);
  }
  async scaleInstance(id: string, instanceTypeId: string): Promise<void> {
    await this.operate("PUT", `/instance/${enc(id)}:scale`, { "instance-type": { id: instanceTypeId } });
  }
  async resizeInstanceDisk(id: string, diskSizeGb: number): Promise<void> {
    await this.operate("PUT", `/instance/${enc(id)}:resize-disk`, { "disk-size": diskSizeGb });
  }
  async stopInstance(id: string): Promise<void> {
    await this.operate("PUT", `/instance/${enc(id)}:stop`);
  }
  async startInstance(id: string): Promise<void> {
    await this.operate("PUT", `/instance/${enc(id)}:start`, {});
  }
  async deleteInstance(id: string): Promise<void> {
    await this.operate("DELETE", `/instance/${enc(id)}`);
  }

  // --- Elastic IPs ---
  /** Like createInstance: a half-created elastic IP (billed while reserved) is released on failure. */
  async createElasticIp(body: Record<string, unknown>): Promise<string> {
    try {
      return requireId(await this.operate("POST", "/elastic-ip", body), "elastic IP");
    } catch (err) {
      throw await this.cleanUpAfter(err, (id) => this.deleteElasticIp(id), "elastic IP");
    }
  }
  getElasticIp(id: string): Promise<ElasticIp> {
    return this.request<ElasticIp>("GET", `/elastic-ip/${enc(id)}`);
  }
  async updateElasticIp(id: string, body: Record<string, unknown>): Promise<void> {
    await this.operate("PUT", `/elastic-ip/${enc(id)}`, body);
  }
  async attachElasticIp(id: string, instanceId: string): Promise<void> {
    await this.operate("PUT", `/elastic-ip/${enc(id)}:attach`, { instance: { id: instanceId } });
  }
  async detachElasticIp(id: string, instanceId: string): Promise<void> {
    await this.operate("PUT", `/elastic-ip/${enc(id)}:detach`, { instance: { id: instanceId } });
  }
  async deleteElasticIp(id: string): Promise<void> {
    await this.operate("DELETE", `/elastic-ip/${enc(id)}`);
  }

  /** Best-effort delete of a half-created resource named by a failed operation; returns the error to throw. */
  private async cleanUpAfter(err: unknown, remove: (id: string) => Promise<void>, what: string): Promise<unknown> {
    const id = typeof err === "object" && err !== null ? (err as ExoscaleOperationError).referenceId : undefined;
    if (!id) return err;
    try {
      await remove(id);
      (err as Error).message += ` (the half-created ${what} ${id} was deleted)`;
    } catch (cleanup) {
      if (!isNotFound(cleanup)) {
        (err as Error).message +=
          ` (the half-created ${what} ${id} could not be deleted: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}; delete it in the Exoscale portal)`;
      }
    }
    return err;
  }

  private backoff(attempt: number, retryAfter: string | null | undefined): number {
    const fromHeader = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
    if (fromHeader !== undefined) return Math.min(this.retry.maxDelayMs, fromHeader);
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(this.random() * ceiling);
  }

  /** The secret must never leave in an error or a log line, even if an API echoes it. */
  private redact(s: string): string {
    return this.creds.apiSecret ? s.split(this.creds.apiSecret).join("[redacted]") : s;
  }
}

/** `standard.small` → ["standard", "small"], with a clear error otherwise. */
export function splitInstanceType(familySize: string): [string, string] {
  const m = /^([a-z0-9]+)\.([a-z0-9-]+)$/.exec(familySize);
  if (!m)
    throw new Error(`Exoscale instance type must look like "family.size" (e.g. "standard.small"), got "${familySize}"`);
  return [m[1]!, m[2]!];
}

function errorMessage(text: string, statusText: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; detail?: unknown; title?: unknown };
    for (const v of [j.message, j.detail, j.title]) if (typeof v === "string" && v !== "") return v;
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 500) || statusText || "no message";
}

function requireId(id: string | undefined, what: string): string {
  if (!id) throw new Error(`Exoscale API did not return the new ${what}'s id (operation reference missing)`);
  return id;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
