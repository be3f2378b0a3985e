import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { AGENTCTL_BIN, type World } from "./helpers.js";

/** The console (`agentctl serve`) as a real process on a world's dirs, and a client that checks every answer against docs/console-api.yaml. */
export const API_DOC = fileURLToPath(new URL("../../docs/console-api.yaml", import.meta.url));

/** `agentctl serve` with these arguments (after `serve`). */
export function serveArgs(args: string[]): string[] {
  return [AGENTCTL_BIN, "serve", ...args];
}
export const TOKENS = { alice: "alice-token-0123456789abcdef", bob: "bob-token-0123456789abcdef0" } as const;

export interface RunningConsole {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function writeTokens(w: World, text?: string): string {
  const file = path.join(w.dir, "console-tokens");
  fs.writeFileSync(file, text ?? `# console identities\nalice:${TOKENS.alice}\n\nbob:${TOKENS.bob}\n`, { mode: 0o600 });
  return file;
}

/** Start `agentctl serve` on a free loopback port; resolves once it prints its URL. */
export async function startConsole(w: World, extraArgs: string[] = []): Promise<RunningConsole> {
  const tokens = writeTokens(w);
  const child = spawn(
    process.execPath,
    serveArgs([
      "--listen",
      "127.0.0.1:0",
      "--tokens",
      tokens,
      "--shared",
      w.shared,
      "--decisions",
      w.decisions,
      ...extraArgs,
    ]),
    {
      env: { PATH: process.env.PATH },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`console did not start: ${out}`)), 30_000);
    // With --operator-socket the socket starts listening after the HTTP server: wait for both
    // lines, or a test may reach for a socket that is not there yet (and the wrapper falls back).
    const wantsSocket = extraArgs.includes("--operator-socket");
    const check = () => {
      const m = /serve: listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m && (!wantsSocket || out.includes("agentctl serve: operator socket "))) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`console exited with ${code}: ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One HTTP request (node:http: any Host header, any body); the answer is checked against the API doc. */
export async function request(
  c: RunningConsole,
  method: string,
  target: string,
  opts: {
    token?: string | null;
    body?: unknown;
    raw?: string | Buffer;
    headers?: Record<string, string>;
    check?: boolean;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? TOKENS.alice : opts.token;
  if (token !== null) headers.Authorization ??= `Bearer ${token}`;
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers["Content-Type"] ??= "application/json";
  } else if (opts.raw !== undefined) payload = Buffer.from(opts.raw);
  if (payload) headers["Content-Length"] ??= String(payload.length);
  const reply = await new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: c.port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
  if (opts.check !== false) checkReply(method, target, reply);
  return reply;
}

// ---------------------------------------------------------------- the API doc as the oracle

const doc = parseYaml(fs.readFileSync(API_DOC, "utf8")) as any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "console-api");

/** (operationId, status) pairs the tests have seen: each file checks it exercised every documented response it should. */
export const seen = new Set<string>();

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** The path template of the doc that matches an /api/v1 path, and its operation for the method. */
export function operationOf(method: string, target: string): { template: string; op: any } | undefined {
  const pathname = new URL(target, "http://x").pathname;
  if (!pathname.startsWith("/api/v1/")) return undefined;
  const sub = pathname.slice("/api/v1".length);
  for (const template of Object.keys(doc.paths)) {
    const re = new RegExp("^" + template.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(sub)) {
      const op = doc.paths[template][method.toLowerCase()];
      return op ? { template, op } : undefined;
    }
  }
  return undefined;
}

/** Validate a JSON value against a schema of the doc, by JSON pointer. */
export function validateDoc(ref: string, value: unknown): string[] {
  const validate = ajv.getSchema(`console-api#${ref}`) ?? ajv.compile({ $ref: `console-api#${ref}` });
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}

/**
 * Every answer of a documented operation must be documented: its status, its content type, and
 * (JSON) its body must validate against the schema; problems must say what is wrong.
 */
export function checkReply(method: string, target: string, r: Reply): void {
  const found = operationOf(method, target);
  if (!found) return; // UI files, unknown paths: checked by the tests themselves
  const { template, op } = found;
  const where = `${method} ${target} → ${r.status}`;
  let responsePointer = `/paths/${pointer(template)}/${method.toLowerCase()}/responses/${r.status}`;
  let response = op.responses[String(r.status)];
  if (!response) throw new Error(`${where}: status not documented for ${op.operationId}: ${r.text.slice(0, 300)}`);
  if (response.$ref) {
    responsePointer = String(response.$ref).slice(1);
    response = responsePointer
      .split("/")
      .slice(1)
      .reduce((o: any, k: string) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  const type = String(r.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim();
  if (!response.content?.[type])
    throw new Error(
      `${where}: content type ${JSON.stringify(type)} not documented (${Object.keys(response.content ?? {}).join(", ")})`,
    );
  for (const h of Object.keys(response.headers ?? {})) {
    if (r.headers[h.toLowerCase()] === undefined) throw new Error(`${where}: documented header ${h} missing`);
  }
  seen.add(`${op.operationId} ${r.status}`);
  if (type === "text/event-stream") return;
  const errors = validateDoc(`${responsePointer}/content/${pointer(type)}/schema`, r.json);
  if (errors.length > 0)
    throw new Error(
      `${where}: body does not match docs/console-api.yaml:\n  ${errors.join("\n  ")}\nbody: ${r.text.slice(0, 2000)}`,
    );
  if (r.status >= 400 && !/\S/.test(r.json.detail)) throw new Error(`${where}: problem without detail`);
}

// ---------------------------------------------------------------- server-sent events

export interface SseEvent {
  event: string;
  data: any;
}

export interface EventReader {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: number;
  ended: Promise<void>;
  close: () => void;
}

/**
 * Open an event stream; events are parsed as they come (data validated against LogEntry for
 * `log`, CommsMessage for `message`).
 */
export async function openEvents(
  c: RunningConsole,
  target: string,
  token: string = TOKENS.alice,
): Promise<EventReader> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: c.port, method: "GET", path: target, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        let buf = "";
        let ended!: () => void;
        const r: EventReader = {
          status: res.statusCode!,
          headers: res.headers,
          events: [],
          comments: 0,
          ended: new Promise<void>((done) => {
            ended = done;
          }),
          close: () => req.destroy(),
        };
        checkReply("GET", target, { status: r.status, headers: res.headers, text: "", json: undefined });
        res.on("data", (b: Buffer) => {
          buf += b.toString("utf8");
          let end: number;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            let event = "message";
            const data: string[] = [];
            for (const l of block.split("\n")) {
              if (l.startsWith(":")) r.comments++;
              else if (l.startsWith("event: ")) event = l.slice(7);
              else if (l.startsWith("data: ")) data.push(l.slice(6));
              else throw new Error(`unexpected line in event stream: ${JSON.stringify(l)}`);
            }
            if (data.length === 0) continue;
            if (data.length !== 1) throw new Error(`an event with ${data.length} data lines: ${JSON.stringify(block)}`);
            const value = JSON.parse(data[0]!);
            if (event === "log") {
              const errors = validateDoc("/components/schemas/LogEntry", value);
              if (errors.length) throw new Error(`log event does not match LogEntry: ${errors.join("; ")}: ${data[0]}`);
            }
            if (event === "message") {
              const errors = validateDoc("/components/schemas/CommsMessage", value);
              if (errors.length)
                throw new Error(`message event does not match CommsMessage: ${errors.join("; ")}: ${data[0]}`);
            }
            r.events.push({ event, data: value });
          }
        });
        res.on("end", () => ended());
        res.on("close", () => ended());
        resolve(r);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Bounded wait for an asynchronous condition (a ceiling, not a timing assertion). */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
