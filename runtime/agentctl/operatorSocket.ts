import * as fs from "node:fs";
import * as net from "node:net";
import { ENV } from "../../contract/env.js";
import type { OperatorDirs } from "../operator/dirs.js";
import { main, type Io } from "./program.js";

/**
 * The operator socket: agentctl's commands answered by a process that is already running (the
 * console container on a Docker host), so that the host's `agentctl` wrapper answers in
 * milliseconds instead of starting a container per call. The wrapper's client (a few lines of
 * Perl, fleet/agentctlWrapper.ts) sends the arguments; the command runs in-process through the
 * same `main()` as the CLI, and its output comes back byte for byte.
 *
 * Protocol (all lengths 32-bit big-endian):
 *   request   count, then `count` fields of length + bytes: the operator's name, then the arguments
 *   response  frames of type (1 byte) + length + payload: `o` standard output, `e` standard error,
 *             `x` the exit code (decimal text, the last frame), or `f` (the only frame): run this
 *             command the slow way (it reads the caller's files, or names other folders).
 *
 * Who may connect is the socket file's business: mode 0600 (root only), or 0660 with the local
 * operator's group. What a caller may do is what `agentctl` on the host may do anyway.
 */

export { OPERATOR_FRAME as FRAME } from "../../contract/console.js";
import { OPERATOR_FRAME as FRAME } from "../../contract/console.js";
/** Largest request (arguments) accepted. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Most fields in a request. */
export const MAX_REQUEST_FIELDS = 512;
/** A client has this long to send its request. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Most connections at once (a `logs --follow` holds one). */
export const MAX_SOCKET_CONNECTIONS = 32;

/**
 * Commands the socket does not run: those that read files from the caller's folder or standard
 * input (`task add`), name other fleet folders (`--shared`, `--decisions`), or start a server.
 * The wrapper runs them in a throw-away container as before, with the caller's folder mounted.
 */
export function fallbackReason(argv: readonly string[]): string | undefined {
  const task = argv.indexOf("task");
  if (task >= 0 && argv.indexOf("add", task + 1) > task) return "task add reads the caller's files";
  if (argv.includes("serve")) return "serve starts a server";
  if (argv.some((a) => /^--(shared|decisions)(=|$)/.test(a))) return "--shared/--decisions name other folders";
  return undefined;
}

/** Parses a complete request; undefined while more bytes are needed; throws on a malformed one. */
export function parseRequest(buf: Buffer): { user: string; argv: string[] } | undefined {
  if (buf.length < 4) return undefined;
  const count = buf.readUInt32BE(0);
  if (count < 1 || count > MAX_REQUEST_FIELDS) throw new Error(`bad field count ${count}`);
  const fields: string[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (buf.length < at + 4) return undefined;
    const len = buf.readUInt32BE(at);
    if (len > MAX_REQUEST_BYTES) throw new Error("field too long");
    if (buf.length < at + 4 + len) return undefined;
    fields.push(buf.subarray(at + 4, at + 4 + len).toString("utf8"));
    at += 4 + len;
  }
  if (at !== buf.length) throw new Error("trailing bytes after the request");
  return { user: fields[0]!, argv: fields.slice(1) };
}

export function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const head = Buffer.alloc(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

export interface OperatorSocketOptions {
  path: string;
  dirs: OperatorDirs;
  /** Group allowed to connect besides the owner (mode 0660); default none (0600). */
  group?: number;
  log: (line: string) => void;
}

export interface OperatorSocket {
  server: net.Server;
  /** Stops listening and ends every connection (a followed log included). */
  close(): void;
}

/** Listens on the socket (replacing a stale one); resolves once it accepts connections. */
export async function listenOperatorSocket(o: OperatorSocketOptions): Promise<OperatorSocket> {
  try {
    if (fs.lstatSync(o.path).isSocket()) fs.unlinkSync(o.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    serveConnection(socket, o);
  });
  server.maxConnections = MAX_SOCKET_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on operator socket ${o.path}: ${err.code ?? err.message}`)),
    );
    server.listen(o.path, () => resolve());
  });
  // The socket is created with the process umask; narrow it at once (the folder is root's anyway).
  if (o.group !== undefined) {
    fs.chownSync(o.path, -1, o.group);
    fs.chmodSync(o.path, 0o660);
  } else {
    fs.chmodSync(o.path, 0o600);
  }
  return {
    server,
    close() {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}

function serveConnection(socket: net.Socket, o: OperatorSocketOptions): void {
  let buf = Buffer.alloc(0);
  let started = false;
  const abort = new AbortController();
  const timer = setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS);
  socket.on("error", () => undefined);
  socket.on("close", () => {
    clearTimeout(timer);
    abort.abort();
  });
  socket.on("data", (chunk: Buffer) => {
    if (started) return; // nothing more is read once a command runs
    buf = Buffer.concat([buf, chunk]);
    let req: ReturnType<typeof parseRequest>;
    try {
      if (buf.length > MAX_REQUEST_BYTES) throw new Error("request too large");
      req = parseRequest(buf);
    } catch (err) {
      o.log(`agentctl serve: operator socket: refused a malformed request (${(err as Error).message})`);
      socket.destroy();
      return;
    }
    if (!req) return;
    started = true;
    clearTimeout(timer);
    void run(socket, req, o, abort.signal);
  });
}

async function run(
  socket: net.Socket,
  req: { user: string; argv: string[] },
  o: OperatorSocketOptions,
  signal: AbortSignal,
): Promise<void> {
  const reason = fallbackReason(req.argv);
  if (reason) {
    socket.end(frame(FRAME.fallback, reason));
    return;
  }
  const write = (type: number) => (s: string) => {
    if (!socket.destroyed) socket.write(frame(type, s));
  };
  const io: Io = {
    out: write(FRAME.stdout),
    err: write(FRAME.stderr),
    env: {
      ...(req.user ? { AGENTCTL_USER: req.user } : {}),
      [ENV.sharedDir]: o.dirs.shared,
      [ENV.decisionsDir]: o.dirs.decisions,
    },
    readStdin: () => {
      throw new Error("standard input is not available through the operator socket");
    },
    signal,
  };
  let code: number;
  try {
    code = await main(req.argv, io);
  } catch (err) {
    io.err(`agentctl: ${(err as Error).message}\n`);
    code = 1;
  }
  if (!socket.destroyed) socket.end(frame(FRAME.exit, String(code)));
}
