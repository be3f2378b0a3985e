import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { EGRESS, egressTargetString, parseEgressTarget, type EgressTarget } from "../../contract/egress.js";

/**
 * The fleet's egress proxy (Docker hosts): one HTTP proxy per allow-listed agent, each on a unix
 * socket in that agent's folder (`<dir>/<agent>/proxy.sock`, mounted into the agent's container,
 * which has no network interface besides loopback). It admits `CONNECT host:port` and plain
 * `GET http://host:port/…` requests whose `host:port` is on that agent's list, exactly as written
 * (a name on the list does not admit its IP address, nor the other way round), and answers 403 to
 * everything else. The proxy resolves names itself; the agent never needs DNS.
 */

/** Bound on a request head and on concurrent connections per agent: the agent is hostile. */
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_CONNECTIONS = 256;
const CONNECT_TIMEOUT_MS = 15_000;

export type EgressRules = Record<string, EgressTarget[]>;

/** Parses `{ agent: ["host:port", …] }` (the AGENT_EGRESS_RULES value); throws naming the entry. */
export function parseEgressRules(json: string): EgressRules {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new Error(`egress rules are not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error("egress rules must be an object { agent: [host:port, ...] }");
  const rules: EgressRules = {};
  for (const [agent, list] of Object.entries(v)) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(agent))
      throw new Error(`egress rules: ${JSON.stringify(agent)} is not an agent name`);
    if (!Array.isArray(list)) throw new Error(`egress rules.${agent} must be a list of host:port`);
    rules[agent] = list.map((e, i) => {
      const t = parseEgressTarget(String(e));
      if ("error" in t) throw new Error(`egress rules.${agent}[${i}]: ${t.error}`);
      return t;
    });
  }
  return rules;
}

/** Is `host:port` on the list? Hosts compare case-insensitively, brackets stripped. */
export function isAllowed(list: EgressTarget[], host: string, port: number): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  return list.some((t) => t.host === h && t.port === port);
}

/** `host:port` of a CONNECT request target, or undefined when malformed. */
function connectTarget(target: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(target) ?? /^([^:[\]/@\s]+):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

export interface EgressLog {
  (agent: string, verdict: "allow" | "deny", target: string, why?: string): void;
}

/** One agent's proxy server (not listening yet). */
export function agentProxyServer(agent: string, list: EgressTarget[], log: EgressLog): http.Server {
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("egress proxy: absolute http:// URLs only\n");
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    const target = `${url.hostname}:${port}`;
    if (url.protocol !== "http:" || url.username || url.password || !isAllowed(list, url.hostname, port)) {
      log(agent, "deny", target, url.protocol !== "http:" ? "not http" : "not on the allow-list");
      res
        .writeHead(403, { "content-type": "text/plain" })
        .end(`egress proxy: ${target} is not on agent ${agent}'s allow-list\n`);
      return;
    }
    log(agent, "allow", target);
    const headers = { ...req.headers };
    for (const h of ["proxy-connection", "proxy-authorization", "connection", "keep-alive"]) delete headers[h];
    const upstream = http.request(
      {
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        timeout: CONNECT_TIMEOUT_MS,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("timeout", () => upstream.destroy(new Error("upstream timed out")));
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end(`egress proxy: ${err.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const t = connectTarget(req.url ?? "");
    const shown = (req.url ?? "").slice(0, 300);
    if (!t || !isAllowed(list, t.host, t.port)) {
      log(agent, "deny", shown, t ? "not on the allow-list" : "malformed CONNECT target");
      client.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\negress proxy: ${shown} is not on agent ${agent}'s allow-list\n`,
      );
      return;
    }
    log(agent, "allow", shown);
    const upstream = net.connect({
      host: t.host.replace(/^\[(.*)\]$/, "$1"),
      port: t.port,
      timeout: CONNECT_TIMEOUT_MS,
    });
    upstream.once("connect", () => {
      upstream.setTimeout(0);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("timeout", () => upstream.destroy(new Error("connect timed out")));
    upstream.on("error", (err) => {
      if (!client.destroyed)
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\negress proxy: ${err.message}\n`);
    });
    client.on("error", () => upstream.destroy());
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return server;
}

/**
 * Starts one proxy per agent of `rules` on `<dir>/<agent>/proxy.sock` (mode 0666: the agent's
 * runtime is root without CAP_DAC_OVERRIDE and its program runs as another uid; the folder is the
 * agent's alone, so whoever reaches the socket is that agent). Resolves once all listen.
 */
export async function startEgressProxy(dir: string, rules: EgressRules, log: EgressLog): Promise<http.Server[]> {
  const servers: http.Server[] = [];
  for (const [agent, list] of Object.entries(rules).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const agentDir = path.join(dir, agent);
    fs.mkdirSync(agentDir, { recursive: true, mode: 0o755 });
    const socket = path.join(agentDir, EGRESS.socketName);
    fs.rmSync(socket, { force: true });
    const server = agentProxyServer(agent, list, log);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => resolve());
    });
    fs.chmodSync(socket, 0o666);
    servers.push(server);
  }
  return servers;
}

export { egressTargetString };
