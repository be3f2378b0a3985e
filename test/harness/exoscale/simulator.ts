import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hmacSignature, parseAuthorization, signatureMessage } from "../../../targets/exoscale/signing.js";
import type {
  ElasticIp,
  Instance,
  InstanceType,
  SecurityGroup,
  SecurityGroupRule,
  Template,
} from "../../../targets/exoscale/types.js";
import { OpenApiRequestValidator } from "./openapi.js";

/**
 * A local Exoscale API v2 for tests: an HTTP server on 127.0.0.1 (random port) that
 *   - validates every request (path, query, body) against openapi-v2.json with openapi-backend,
 *   - verifies the EXO2-HMAC-SHA256 signature and its expiry,
 *   - answers the compute operations agent-fleet uses, with asynchronous operations
 *     (`pending` for `pendingPolls` polls, then `success`) and a resource inventory,
 *   - answers errors in the API's shape (`{"message": "..."}` with the HTTP status),
 *   - can be told which public IP the next instance gets, and to fail the next requests.
 *
 * Test-only endpoints live outside `/v2` and need no signature:
 *   GET  /_sim/inventory          the inventory as JSON
 *   GET  /_sim/requests           every request seen: method, path, status, operationId
 *   POST /_sim/next-public-ip     {"ip": "127.0.0.1"}: the next instance(s) get this public IP
 */

export const SIMULATOR_CREDENTIALS = {
  apiKey: "EXOsimulatorkey0000000000000",
  apiSecret: "simulator-secret-simulator-secret-simulator",
} as const;

export interface SimulatorOptions {
  credentials?: { apiKey: string; apiSecret: string };
  /** How many `GET /operation/{id}` answers stay `pending` before `success`; default 1. */
  pendingPolls?: number;
  /** Public IP for new instances; default a fresh one from 198.51.100.0/24 (TEST-NET-2). */
  publicIp?: string;
  /** Clock in ms (for expiry tests); default Date.now. */
  now?: () => number;
  templates?: Template[];
  instanceTypes?: InstanceType[];
}

export interface InjectedFailure {
  status: number;
  message: string;
  method?: string;
  /** Substring of the path (after /v2) to match. */
  pathIncludes?: string;
  remaining: number;
  /** Sent as a `Retry-After` header (seconds). */
  retryAfterSeconds?: number;
}

export interface SimSecurityGroup extends SecurityGroup {
  id: string;
  rules: SecurityGroupRule[];
}

export interface SimInstance extends Instance {
  id: string;
}

export interface SimElasticIp extends ElasticIp {
  id: string;
  instanceIds: string[];
}

export interface Inventory {
  sshKeys: { name: string; "public-key": string; fingerprint: string }[];
  securityGroups: SimSecurityGroup[];
  instances: SimInstance[];
  elasticIps: SimElasticIp[];
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  operationId?: string;
  body?: unknown;
}

const ALL_ZONES = ["ch-gva-2", "ch-dk-2", "de-fra-1", "de-muc-1", "at-vie-1", "at-vie-2", "bg-sof-1", "hr-zag-1"];

/** Templates as the real API names them (`Linux <Distro> <version> 64-bit`), available in every zone. */
export function defaultTemplates(): Template[] {
  return [
    {
      id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2404",
      name: "Linux Ubuntu 24.04 LTS 64-bit",
      family: "ubuntu",
      "default-user": "ubuntu",
      zones: ALL_ZONES,
      "created-at": "2026-10-01T00:00:00Z",
    },
    {
      id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2403",
      name: "Linux Ubuntu 24.04 LTS 64-bit",
      family: "ubuntu",
      "default-user": "ubuntu",
      zones: ALL_ZONES,
      "created-at": "2026-09-01T00:00:00Z",
    },
    {
      id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2204",
      name: "Linux Ubuntu 22.04 LTS 64-bit",
      family: "ubuntu",
      "default-user": "ubuntu",
      zones: ALL_ZONES,
      "created-at": "2026-10-01T00:00:00Z",
    },
    {
      id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1ed012",
      name: "Linux Debian 12 (Bookworm) 64-bit",
      family: "debian",
      "default-user": "debian",
      zones: ALL_ZONES,
      "created-at": "2026-10-01T00:00:00Z",
    },
  ];
}

export function defaultInstanceTypes(): InstanceType[] {
  const sizes: [string, number, number][] = [
    ["micro", 1, 512],
    ["tiny", 1, 1024],
    ["small", 2, 2048],
    ["medium", 2, 4096],
    ["large", 4, 8192],
    ["extra-large", 4, 16384],
    ["huge", 8, 32768],
  ];
  return sizes
    .map(([size, cpus, mib], i) => ({
      id: `5f0b7a5e-1c1d-4e8f-8a6b-00000000000${i}`,
      family: "standard",
      size,
      cpus,
      memory: mib * 1024 * 1024,
      authorized: true,
      zones: ALL_ZONES,
    }))
    .concat([
      {
        id: "5f0b7a5e-1c1d-4e8f-8a6b-0000000000c1",
        family: "cpu",
        size: "medium",
        cpus: 4,
        memory: 4096 * 1024 * 1024,
        authorized: true,
        zones: ALL_ZONES,
      },
      {
        id: "5f0b7a5e-1c1d-4e8f-8a6b-0000000000f1",
        family: "gpu3",
        size: "small",
        cpus: 12,
        memory: 56 * 1024 * 1024 * 1024,
        authorized: false,
        zones: ["ch-gva-2"],
      },
    ]);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

interface SimOperation {
  id: string;
  pollsLeft: number;
  final: "success" | "failure";
  reason?: string;
  message?: string;
  reference: { id: string; link: string; command: string };
}

export class ExoscaleSimulator {
  readonly inventory: Inventory = { sshKeys: [], securityGroups: [], instances: [], elasticIps: [] };
  readonly requests: RequestRecord[] = [];
  private readonly failures: InjectedFailure[] = [];
  private readonly operations = new Map<string, SimOperation>();
  private readonly templates: Template[];
  private readonly instanceTypes: InstanceType[];
  private readonly creds: { apiKey: string; apiSecret: string };
  private readonly now: () => number;
  private nextIp: string | undefined;
  private ipCounter = 10;
  private failNextOperationWith: { reason: string; message: string } | undefined;
  pendingPolls: number;

  private constructor(
    private readonly server: Server,
    private readonly validator: OpenApiRequestValidator,
    o: SimulatorOptions,
  ) {
    this.creds = o.credentials ?? { ...SIMULATOR_CREDENTIALS };
    this.pendingPolls = o.pendingPolls ?? 1;
    this.nextIp = o.publicIp;
    this.now = o.now ?? Date.now;
    this.templates = o.templates ?? defaultTemplates();
    this.instanceTypes = o.instanceTypes ?? defaultInstanceTypes();
  }

  static async start(o: SimulatorOptions = {}): Promise<ExoscaleSimulator> {
    const validator = await OpenApiRequestValidator.load();
    const server = createServer();
    const sim = new ExoscaleSimulator(server, validator, o);
    server.on("request", (req, res) => void sim.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return sim;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The API base URL, to use as `EXOSCALE_API_ENDPOINT`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/v2`;
  }

  get credentials(): { apiKey: string; apiSecret: string } {
    return { ...this.creds };
  }

  /** New instances get this public IP (e.g. 127.0.0.1 to point SSH at a local host). */
  setNextPublicIp(ip: string | undefined): void {
    this.nextIp = ip;
  }

  /** Answer the next `count` matching requests with `status` (before any validation). */
  injectFailure(f: {
    status: number;
    count?: number;
    message?: string;
    method?: string;
    pathIncludes?: string;
    retryAfterSeconds?: number;
  }): void {
    this.failures.push({
      status: f.status,
      message: f.message ?? (f.status === 429 ? "Too many requests" : "Internal server error"),
      remaining: f.count ?? 1,
      ...(f.method ? { method: f.method.toUpperCase() } : {}),
      ...(f.pathIncludes ? { pathIncludes: f.pathIncludes } : {}),
      ...(f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds } : {}),
    });
  }

  /** The next asynchronous operation ends in `failure` with this reason. */
  failNextOperation(reason = "unavailable", message = "simulated failure"): void {
    this.failNextOperationWith = { reason, message };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams.entries());
    const record: RequestRecord = { method, path: url.pathname, query, status: 0 };
    const send = (status: number, body: unknown, extraHeaders: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { "content-type": "application/json", ...extraHeaders });
      res.end(JSON.stringify(body));
    };
    try {
      if (url.pathname.startsWith("/_sim/")) {
        send(200, this.testEndpoint(method, url.pathname, raw));
        return;
      }
      this.requests.push(record);
      const injected = this.failures.find(
        (f) =>
          f.remaining > 0 &&
          (!f.method || f.method === method) &&
          (!f.pathIncludes || url.pathname.includes(f.pathIncludes)),
      );
      if (injected) {
        injected.remaining--;
        throw new HttpError(injected.status, injected.message, injected.retryAfterSeconds);
      }
      if (!url.pathname.startsWith("/v2/")) throw new HttpError(404, `no such endpoint ${url.pathname}`);
      this.authenticate(req, method, url.pathname, raw, query);
      let body: unknown;
      if (raw !== "") {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, "Invalid request: body is not valid JSON");
        }
      }
      record.body = body;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const validation = this.validator.validate({
        method: method.toLowerCase(),
        path: url.pathname,
        query,
        body,
        headers,
      });
      if (validation.operationId) record.operationId = validation.operationId;
      if (!validation.operationId) throw new HttpError(404, validation.errors[0] ?? "not found");
      if (validation.errors.length > 0) throw new HttpError(400, `Invalid request: ${validation.errors.join("; ")}`);
      const params = pathParams(url.pathname);
      const answer = this.dispatch(validation.operationId, params, query, body as Record<string, unknown> | undefined);
      // The simulator holds its own answers to the document too: a mismatch is a simulator bug.
      const responseErrors = this.validator.validateResponse(validation.operationId, answer);
      if (responseErrors.length > 0)
        throw new Error(
          `answer to ${validation.operationId} does not match the document: ${responseErrors.join("; ")}`,
        );
      send(200, answer);
    } catch (err) {
      if (err instanceof HttpError) {
        send(
          err.status,
          { message: err.message },
          err.retryAfterSeconds !== undefined ? { "retry-after": String(err.retryAfterSeconds) } : {},
        );
      } else send(500, { message: `simulator error: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private authenticate(
    req: IncomingMessage,
    method: string,
    path: string,
    body: string,
    query: Record<string, string>,
  ): void {
    const auth = parseAuthorization(req.headers.authorization);
    if (typeof auth === "string") throw new HttpError(401, auth);
    if (auth.credential !== this.creds.apiKey) throw new HttpError(403, "Invalid API key");
    if (auth.expires * 1000 < this.now()) throw new HttpError(401, "Request expired");
    const names = Object.keys(query).sort();
    if (names.join(";") !== [...auth.signedQueryArgs].sort().join(";")) {
      throw new HttpError(401, "signed-query-args does not list exactly the request's query parameters");
    }
    const signed: Record<string, string> = {};
    for (const n of auth.signedQueryArgs) signed[n] = query[n] ?? "";
    const { message } = signatureMessage({ method, path, body, query: signed, expires: auth.expires });
    if (hmacSignature(this.creds.apiSecret, message) !== auth.signature)
      throw new HttpError(403, "Invalid request signature");
  }

  private testEndpoint(method: string, path: string, raw: string): unknown {
    if (method === "GET" && path === "/_sim/inventory") return this.inventory;
    if (method === "GET" && path === "/_sim/requests") return this.requests;
    if (method === "POST" && path === "/_sim/next-public-ip") {
      const ip = (JSON.parse(raw || "{}") as { ip?: string }).ip;
      this.setNextPublicIp(ip);
      return { ip };
    }
    throw new HttpError(404, `no such simulator endpoint ${method} ${path}`);
  }

  private operation(command: string, refId: string, kind: string): unknown {
    const id = randomUUID();
    // `reference.id` is a UUID in the document; SSH keys are addressed by name, so their
    // reference carries a fresh id and the name only in the link.
    const refUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(refId) ? refId : randomUUID();
    const fail = this.failNextOperationWith;
    this.failNextOperationWith = undefined;
    const op: SimOperation = {
      id,
      pollsLeft: this.pendingPolls,
      final: fail ? "failure" : "success",
      ...(fail ? { reason: fail.reason, message: fail.message } : {}),
      reference: { id: refUuid, link: `/v2/${kind}/${encodeURIComponent(refId)}`, command },
    };
    this.operations.set(id, op);
    return this.renderOperation(op, op.pollsLeft > 0);
  }

  private renderOperation(op: SimOperation, pending: boolean): unknown {
    return {
      id: op.id,
      state: pending ? "pending" : op.final,
      reference: op.reference,
      ...(!pending && op.reason ? { reason: op.reason } : {}),
      ...(!pending && op.message ? { message: op.message } : {}),
    };
  }

  private dispatch(
    op: string,
    p: string[],
    query: Record<string, string>,
    body: Record<string, unknown> | undefined,
  ): unknown {
    const inv = this.inventory;
    const b = body ?? {};
    switch (op) {
      case "get-operation": {
        const o = this.operations.get(p[1]!);
        if (!o) throw new HttpError(404, `operation ${p[1]} not found`);
        const pending = o.pollsLeft > 0;
        if (pending) o.pollsLeft--;
        return this.renderOperation(o, pending);
      }
      case "list-zones":
        return { zones: ALL_ZONES.map((name) => ({ name, "api-endpoint": `https://api-${name}.exoscale.com/v2` })) };
      case "list-templates": {
        const visibility = query.visibility ?? "public";
        return { templates: visibility === "public" ? this.templates : [] };
      }
      case "list-instance-types":
        return { "instance-types": this.instanceTypes };

      case "register-ssh-key": {
        const name = b.name as string;
        if (inv.sshKeys.some((k) => k.name === name)) throw new HttpError(409, `SSH key "${name}" already exists`);
        const publicKey = b["public-key"] as string;
        if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(publicKey.trim())) {
          throw new HttpError(400, "Invalid request: public-key is not an OpenSSH public key");
        }
        inv.sshKeys.push({ name, "public-key": publicKey, fingerprint: fingerprintOf(publicKey) });
        return this.operation("register-ssh-key", name, "ssh-key");
      }
      case "get-ssh-key": {
        const k = inv.sshKeys.find((x) => x.name === p[1]);
        if (!k) throw new HttpError(404, `SSH key "${p[1]}" not found`);
        return { name: k.name, fingerprint: k.fingerprint };
      }
      case "delete-ssh-key": {
        const i = inv.sshKeys.findIndex((x) => x.name === p[1]);
        if (i < 0) throw new HttpError(404, `SSH key "${p[1]}" not found`);
        inv.sshKeys.splice(i, 1);
        return this.operation("delete-ssh-key", p[1]!, "ssh-key");
      }

      case "create-security-group": {
        if (inv.securityGroups.some((g) => g.name === b.name))
          throw new HttpError(409, `security group "${String(b.name)}" already exists`);
        const id = randomUUID();
        inv.securityGroups.push({
          id,
          name: b.name as string,
          ...(b.description ? { description: b.description as string } : {}),
          rules: [],
        });
        return this.operation("create-security-group", id, "security-group");
      }
      case "get-security-group":
        return this.securityGroup(p[1]!);
      case "delete-security-group": {
        const g = this.securityGroup(p[1]!);
        const users = inv.instances.filter((i) => i["security-groups"]?.some((s) => s.id === g.id));
        if (users.length > 0)
          throw new HttpError(
            409,
            `security group ${g.id} is in use by instance(s) ${users.map((u) => u.id).join(", ")}`,
          );
        inv.securityGroups.splice(inv.securityGroups.indexOf(g), 1);
        return this.operation("delete-security-group", g.id, "security-group");
      }
      case "add-rule-to-security-group": {
        const g = this.securityGroup(p[1]!);
        if (b.network !== undefined && !isCidr(b.network as string))
          throw new HttpError(400, `Invalid request: network "${String(b.network)}" is not a CIDR`);
        const rule: SecurityGroupRule = { id: randomUUID(), ...(b as SecurityGroupRule) };
        g.rules.push(rule);
        return this.operation("add-rule-to-security-group", g.id, "security-group");
      }
      case "delete-rule-from-security-group": {
        const g = this.securityGroup(p[1]!);
        const i = g.rules.findIndex((r) => r.id === p[3]);
        if (i < 0) throw new HttpError(404, `rule ${p[3]} not found`);
        g.rules.splice(i, 1);
        return this.operation("delete-rule-from-security-group", g.id, "security-group");
      }
      case "attach-instance-to-security-group":
      case "detach-instance-from-security-group": {
        const g = this.securityGroup(p[1]!);
        const inst = this.instance(((b.instance as { id?: string }) ?? {}).id ?? "");
        const list = (inst["security-groups"] ??= []);
        if (op.startsWith("attach")) {
          if (!list.some((s) => s.id === g.id)) list.push({ id: g.id });
        } else {
          inst["security-groups"] = list.filter((s) => s.id !== g.id);
        }
        return this.operation(op, g.id, "security-group");
      }

      case "create-instance": {
        const template = this.templates.find((t) => t.id === (b.template as { id?: string }).id);
        if (!template) throw new HttpError(400, `Invalid request: template ${JSON.stringify(b.template)} not found`);
        const type = this.instanceTypes.find((t) => t.id === (b["instance-type"] as { id?: string }).id);
        if (!type)
          throw new HttpError(400, `Invalid request: instance type ${JSON.stringify(b["instance-type"])} not found`);
        const sgs = ((b["security-groups"] as { id?: string }[] | undefined) ?? []).map((s) =>
          this.securityGroup(s.id ?? "", 400),
        );
        const keys = [
          ...((b["ssh-keys"] as { name?: string }[] | undefined) ?? []),
          ...(b["ssh-key"] ? [b["ssh-key"] as { name?: string }] : []),
        ];
        for (const k of keys) {
          if (!inv.sshKeys.some((x) => x.name === k.name))
            throw new HttpError(400, `Invalid request: SSH key "${k.name}" not found`);
        }
        if (b["user-data"] !== undefined) checkUserData(b["user-data"] as string);
        if (b.labels) checkLabels(b.labels as Record<string, string>);
        const id = randomUUID();
        const inst: SimInstance = {
          id,
          name: (b.name as string | undefined) ?? `vm-${id.slice(0, 8)}`,
          state: b["auto-start"] === false ? "stopped" : "running",
          "public-ip-assignment": (b["public-ip-assignment"] as Instance["public-ip-assignment"]) ?? "inet4",
          "disk-size": b["disk-size"] as number,
          "instance-type": { id: type.id! },
          template: { id: template.id! },
          "security-groups": sgs.map((g) => ({ id: g.id })),
          "ssh-keys": keys.map((k) => ({ name: k.name! })),
          labels: (b.labels as Record<string, string> | undefined) ?? {},
          ...(b["user-data"] ? { "user-data": b["user-data"] as string } : {}),
        };
        if (inst["public-ip-assignment"] !== "none") inst["public-ip"] = this.allocateIp();
        inv.instances.push(inst);
        return this.operation("create-instance", id, "instance");
      }
      case "get-instance":
        return this.instance(p[1]!);
      case "update-instance": {
        const inst = this.instance(p[1]!);
        if (b.name !== undefined) inst.name = b.name as string;
        if (b["user-data"] !== undefined) {
          checkUserData(b["user-data"] as string);
          inst["user-data"] = b["user-data"] as string;
        }
        if (b.labels !== undefined) {
          if (b.labels !== null) checkLabels(b.labels as Record<string, string>);
          inst.labels = (b.labels as Record<string, string> | null) ?? {};
        }
        if (b["public-ip-assignment"] !== undefined)
          inst["public-ip-assignment"] = b["public-ip-assignment"] as Instance["public-ip-assignment"];
        return this.operation("update-instance", inst.id, "instance");
      }
      case "reset-instance-field": {
        const inst = this.instance(p[1]!);
        inst.labels = {};
        return this.operation("reset-instance-field", inst.id, "instance");
      }
      case "scale-instance": {
        const inst = this.instance(p[1]!);
        const type = this.instanceTypes.find((t) => t.id === (b["instance-type"] as { id?: string }).id);
        if (!type) throw new HttpError(400, "Invalid request: instance type not found");
        const current = this.instanceTypes.find((t) => t.id === inst["instance-type"]?.id);
        if (current && current.family !== type.family)
          throw new HttpError(400, `Invalid request: cannot scale from ${current.family} to ${type.family}`);
        if (inst.state !== "stopped") throw new HttpError(409, "Instance must be stopped to be scaled");
        inst["instance-type"] = { id: type.id! };
        return this.operation("scale-instance", inst.id, "instance");
      }
      case "resize-instance-disk": {
        const inst = this.instance(p[1]!);
        if ((b["disk-size"] as number) <= (inst["disk-size"] ?? 0))
          throw new HttpError(400, "Invalid request: the disk can only grow");
        inst["disk-size"] = b["disk-size"] as number;
        return this.operation("resize-instance-disk", inst.id, "instance");
      }
      case "stop-instance":
      case "start-instance": {
        const inst = this.instance(p[1]!);
        inst.state = op === "stop-instance" ? "stopped" : "running";
        return this.operation(op, inst.id, "instance");
      }
      case "delete-instance": {
        const inst = this.instance(p[1]!);
        inv.instances.splice(inv.instances.indexOf(inst), 1);
        for (const e of inv.elasticIps) e.instanceIds = e.instanceIds.filter((i) => i !== inst.id);
        return this.operation("delete-instance", inst.id, "instance");
      }

      case "create-elastic-ip": {
        const id = randomUUID();
        if (b.labels) checkLabels(b.labels as Record<string, string>);
        inv.elasticIps.push({
          id,
          ip: `203.0.113.${inv.elasticIps.length + 10}`,
          ...(b.description ? { description: b.description as string } : {}),
          labels: (b.labels as Record<string, string> | undefined) ?? {},
          instanceIds: [],
        });
        return this.operation("create-elastic-ip", id, "elastic-ip");
      }
      case "get-elastic-ip": {
        const { instanceIds: _ignored, ...e } = this.elasticIp(p[1]!);
        return e;
      }
      case "update-elastic-ip": {
        const e = this.elasticIp(p[1]!);
        if (b.description !== undefined) e.description = b.description as string;
        if (b.labels !== undefined) e.labels = b.labels as Record<string, string>;
        return this.operation("update-elastic-ip", e.id, "elastic-ip");
      }
      case "attach-instance-to-elastic-ip":
      case "detach-instance-from-elastic-ip": {
        const e = this.elasticIp(p[1]!);
        const inst = this.instance(((b.instance as { id?: string }) ?? {}).id ?? "", 400);
        if (op.startsWith("attach")) {
          if (e.instanceIds.includes(inst.id))
            throw new HttpError(409, `elastic IP ${e.id} is already attached to ${inst.id}`);
          e.instanceIds.push(inst.id);
          (inst["elastic-ips"] ??= []).push({ id: e.id });
        } else {
          if (!e.instanceIds.includes(inst.id))
            throw new HttpError(404, `elastic IP ${e.id} is not attached to ${inst.id}`);
          e.instanceIds = e.instanceIds.filter((i) => i !== inst.id);
          inst["elastic-ips"] = (inst["elastic-ips"] ?? []).filter((x) => x.id !== e.id);
        }
        return this.operation(op, e.id, "elastic-ip");
      }
      case "delete-elastic-ip": {
        const e = this.elasticIp(p[1]!);
        if (e.instanceIds.length > 0) throw new HttpError(409, `elastic IP ${e.id} is attached to instance(s)`);
        inv.elasticIps.splice(inv.elasticIps.indexOf(e), 1);
        return this.operation("delete-elastic-ip", e.id, "elastic-ip");
      }
      default:
        throw new HttpError(501, `operation ${op} is valid but not implemented by the simulator`);
    }
  }

  private securityGroup(id: string, status = 404): SimSecurityGroup {
    const g = this.inventory.securityGroups.find((x) => x.id === id);
    if (!g) throw new HttpError(status, `security group ${id} not found`);
    return g;
  }

  private instance(id: string, status = 404): SimInstance {
    const i = this.inventory.instances.find((x) => x.id === id);
    if (!i) throw new HttpError(status, `instance ${id} not found`);
    return i;
  }

  private elasticIp(id: string): SimElasticIp {
    const e = this.inventory.elasticIps.find((x) => x.id === id);
    if (!e) throw new HttpError(404, `elastic IP ${id} not found`);
    return e;
  }

  private allocateIp(): string {
    if (this.nextIp) return this.nextIp;
    return `198.51.100.${this.ipCounter++}`;
  }
}

/** `/v2/instance/<id>:scale` → ["instance", "<id>"] (the action suffix stripped). */
function pathParams(pathname: string): string[] {
  return pathname
    .replace(/^\/v2\//, "")
    .split("/")
    .map((s) => decodeURIComponent(s.replace(/:[a-z-]+$/, "")));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function checkUserData(b64: string): void {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new HttpError(400, "Invalid request: user-data must be base64 encoded");
  }
}

function checkLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== "string") throw new HttpError(400, `Invalid request: label ${k} must be a string`);
  }
}

function isCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (m) return m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
  return /^[0-9a-fA-F:]+\/\d{1,3}$/.test(s) && Number(s.split("/")[1]) <= 128;
}

function fingerprintOf(publicKey: string): string {
  let h = 0;
  for (const ch of publicKey) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `sim:${h.toString(16)}`;
}
