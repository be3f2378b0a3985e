import * as http from "node:http";
import { OperatorError, type OperatorDirs } from "../operator/index.js";
import * as api from "./api.js";
import { SECURITY_HEADERS, sendJson } from "./httpIo.js";
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  TOO_LARGE_LINGER_MS,
} from "./limits.js";
import { HttpError, sendProblem } from "./problem.js";
import { identify, type TokenEntry } from "./tokens.js";
import { loadUi } from "./uiFiles.js";

/**
 * The review console: the HTTP API under /api/v1 (docs/console-api.yaml) and the web UI, in one
 * node:http server over the operator library. Meant to listen on loopback only and be reached
 * through an SSH tunnel (docs/console.md).
 *
 * Defences: bearer tokens in a header (never cookies, so a cross-site request carries no
 * credential and CSRF has nothing to ride on); requests whose Host is not a loopback name (or one
 * allowed explicitly) are refused, which defeats DNS rebinding; a state-changing request from
 * another Origin is refused; bodies are bounded and must be JSON; slow requests are cut off;
 * a strict Content-Security-Policy on every response.
 */
export interface ConsoleOptions {
  dirs: OperatorDirs;
  tokens: readonly TokenEntry[];
  /** Whole-request deadline (headers and body); default DEFAULT_REQUEST_TIMEOUT_SECONDS. */
  requestTimeoutSeconds?: number;
  /** Host names accepted besides localhost, 127.0.0.1 and ::1 (e.g. a name in a tunnel). */
  allowedHosts?: readonly string[];
  /** Where request errors are reported (default: stderr). */
  log?: (line: string) => void;
}

const API = "/api/v1";
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"];

type Handler = (c: api.ApiContext, id: string) => api.ApiResult | Promise<api.ApiResult> | void;
interface Route {
  method: "GET" | "POST";
  path: RegExp;
  handler: Handler;
  public?: boolean;
}

const ROUTES: Route[] = [
  { method: "GET", path: /^\/health$/, handler: () => ({ status: 200, body: { status: "ok" } }), public: true },
  { method: "GET", path: /^\/agents$/, handler: api.agents },
  { method: "POST", path: /^\/agents\/([^/]+)\/pause$/, handler: (c, name) => api.agentPause(c, name, true) },
  { method: "POST", path: /^\/agents\/([^/]+)\/resume$/, handler: (c, name) => api.agentPause(c, name, false) },
  { method: "GET", path: /^\/tasks$/, handler: api.tasksList },
  { method: "POST", path: /^\/tasks$/, handler: api.taskAdd },
  { method: "GET", path: /^\/tasks\/([^/]+)$/, handler: api.taskGet },
  { method: "GET", path: /^\/proposals$/, handler: api.proposalsList },
  { method: "GET", path: /^\/proposals\/([^/]+)$/, handler: api.proposalGet },
  { method: "POST", path: /^\/proposals\/([^/]+)\/approve$/, handler: (c, id) => api.proposalDecide(c, id, "approve") },
  { method: "POST", path: /^\/proposals\/([^/]+)\/reject$/, handler: (c, id) => api.proposalDecide(c, id, "reject") },
  { method: "GET", path: /^\/logs$/, handler: api.logs },
  { method: "GET", path: /^\/comms$/, handler: api.comms },
  { method: "GET", path: /^\/notifications$/, handler: api.notifications },
];

const OPERATOR_STATUS: Record<OperatorError["kind"], number> = {
  "invalid-input": 400,
  "not-found": 404,
  conflict: 409,
  "hash-mismatch": 409,
};

function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof OperatorError) {
    const field =
      "field" in err ? String((err as { field: unknown }).field) : err.kind === "hash-mismatch" ? "sha256" : undefined;
    return new HttpError(OPERATOR_STATUS[err.kind], err.message, field);
  }
  return undefined;
}

/**
 * After a 413: read and drop what the client still sends (never buffered), so that the answer is
 * not lost to a connection reset; a body that ends in time leaves the connection usable, one that
 * does not is cut off after TOO_LARGE_LINGER_MS.
 */
function dropRestOfBody(req: http.IncomingMessage): void {
  req.resume();
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), TOO_LARGE_LINGER_MS);
  const done = () => clearTimeout(timer);
  req.once("end", done);
  req.socket.once("close", done);
}

/** The host name of a Host header (without port; IPv6 without brackets), lowercased. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  return h.replace(/:\d*$/, "");
}

export function createConsoleServer(o: ConsoleOptions): http.Server {
  const ui = loadUi();
  const allowedHosts = new Set([...LOOPBACK_HOSTS, ...(o.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const streams = { open: 0 };
  const timeoutMs = (o.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000;

  const server = http.createServer(
    {
      requestTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // How often Node looks for requests past their deadline (its default is 30 s).
      connectionsCheckingInterval: Math.min(1000, timeoutMs),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      handle(req, res).catch((err: unknown) => {
        const e = toHttpError(err);
        if (e) {
          if (e.status === 413) {
            answered.add(req.socket);
            res.on("finish", () => dropRestOfBody(req));
          }
          sendProblem(res, e);
          return;
        }
        log(`agentctl serve: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
        sendProblem(res, new HttpError(500, `internal error: ${(err as Error).message}`));
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  /** Sockets that were answered while their request was still arriving (413). */
  const answered = new WeakSet<object>();
  server.maxHeadersCount = 100;
  // A malformed request line or header: answer 400 and close (Node's default closes silently).
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === "ECONNRESET" || answered.has(socket)) {
      socket.destroy();
      return;
    }
    const status = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const body = JSON.stringify({
      type: "about:blank",
      title: status === 408 ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request",
      status,
      detail: `malformed or incomplete request: ${err.code ?? err.message}`,
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 408 ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = req.headers.host;
    if (!host || !allowedHosts.has(hostName(host))) {
      throw new HttpError(
        403,
        `Host ${JSON.stringify((host ?? "").slice(0, 100))} is not this console's (reach it through its loopback address, e.g. an SSH tunnel to 127.0.0.1)`,
        "Host",
      );
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://console.invalid");
    } catch {
      throw new HttpError(400, "the request target is not a valid URL");
    }
    if (!url.pathname.startsWith(API + "/")) return serveUi(req, res, url);

    if (req.method !== "GET" && req.method !== "HEAD") {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) {
        throw new HttpError(403, `requests from origin ${JSON.stringify(origin.slice(0, 100))} are refused`, "Origin");
      }
    }
    const sub = url.pathname.slice(API.length);
    const matching = ROUTES.map((r) => ({ r, m: r.path.exec(sub) })).filter((x) => x.m);
    if (matching.length === 0) throw new HttpError(404, `no such endpoint: ${url.pathname.slice(0, 200)}`);
    const hit = matching.find((x) => x.r.method === req.method);
    if (!hit) {
      throw new HttpError(405, `${req.method} is not allowed on ${url.pathname.slice(0, 200)}`, undefined, {
        Allow: matching.map((x) => x.r.method).join(", "),
      });
    }
    const operator = hit.r.public ? "" : authenticate(req);
    let id = "";
    if (hit.m![1] !== undefined) {
      try {
        id = decodeURIComponent(hit.m![1]);
      } catch {
        throw new HttpError(400, "the id in the path is not valid percent-encoding", "id");
      }
    }
    const ctx: api.ApiContext = { dirs: o.dirs, operator, url, req, res, streams };
    const result = await hit.r.handler(ctx, id);
    if (result) sendJson(res, result.status, result.body, result.headers);
  }

  function authenticate(req: http.IncomingMessage): string {
    const challenge = { "WWW-Authenticate": 'Bearer realm="agent-fleet console"' };
    const header = req.headers.authorization;
    if (!header)
      throw new HttpError(
        401,
        "this endpoint needs a token: send Authorization: Bearer TOKEN",
        "Authorization",
        challenge,
      );
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) throw new HttpError(401, "the Authorization header must be: Bearer TOKEN", "Authorization", challenge);
    const name = identify(o.tokens, m[1]!);
    if (!name) throw new HttpError(401, "the token is not valid", "Authorization", challenge);
    return name;
  }

  function serveUi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (url.pathname === "/favicon.ico" && (req.method === "GET" || req.method === "HEAD")) {
      // Browsers ask for it on their own; there is none (and no 404 in the console for it).
      res.writeHead(204);
      res.end();
      return;
    }
    const file = ui.get(url.pathname);
    if (!file) throw new HttpError(404, `no such page: ${url.pathname.slice(0, 200)}`);
    if (req.method !== "GET" && req.method !== "HEAD")
      throw new HttpError(405, `${req.method} is not allowed on ${url.pathname.slice(0, 200)}`, undefined, {
        Allow: "GET, HEAD",
      });
    res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length });
    res.end(req.method === "HEAD" ? undefined : file.body);
  }

  return server;
}
