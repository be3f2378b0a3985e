import * as fs from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import { InvalidInput, type OperatorDirs } from "../operator/index.js";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from "./limits.js";
import type { ServeOptions } from "./serveOptions.js";
import { createConsoleServer } from "./server.js";
import { loadTokens } from "./tokens.js";
import { ledgerFile } from "../notify/ledger.js";
import { Notifier } from "../notify/notifier.js";
import { NotifyFileError, readNotifyFile } from "../notify/sinks.js";

/**
 * `agentctl serve`: the options checked with errors that name the option (InvalidInput: exit 2),
 * then the server listening until SIGTERM/SIGINT.
 */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(s.trim());
  if (!m)
    throw new InvalidInput("--listen", `--listen must be HOST:PORT (e.g. 127.0.0.1:8080), got ${JSON.stringify(s)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidInput("--listen", `--listen port must be 0 to 65535, got ${port}`);
  return { host: m[1] ?? m[2]!, port };
}

function dir(p: string, option: string): string {
  const d = path.resolve(p);
  let st: fs.Stats;
  try {
    st = fs.statSync(d);
  } catch {
    throw new Error(`${option} ${d} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${option} ${d} is not a directory`);
  return d;
}

/** Start the console; resolves with the server once it listens (its URL goes to `out`). */
export async function serve(o: ServeOptions, out: (s: string) => void, err: (s: string) => void): Promise<http.Server> {
  const { host, port } = parseListen(o.listen);
  let requestTimeoutSeconds = DEFAULT_REQUEST_TIMEOUT_SECONDS;
  if (o.requestTimeout !== undefined) {
    requestTimeoutSeconds = Number(o.requestTimeout);
    if (!/^\d+$/.test(o.requestTimeout) || requestTimeoutSeconds < 1 || requestTimeoutSeconds > 3600) {
      throw new InvalidInput(
        "--request-timeout",
        `--request-timeout must be whole seconds from 1 to 3600, got ${JSON.stringify(o.requestTimeout)}`,
      );
    }
  }
  const tokens = loadTokens(o.tokens);
  const st = fs.statSync(o.tokens);
  if ((st.mode & 0o077) !== 0)
    err(
      `agentctl serve: warning: tokens file ${o.tokens} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it\n`,
    );
  const dirs: OperatorDirs = { shared: dir(o.shared, "--shared"), decisions: dir(o.decisions, "--decisions") };
  let notifier: Notifier | undefined;
  if (o.notify !== undefined) {
    let file: ReturnType<typeof readNotifyFile>;
    try {
      file = readNotifyFile(o.notify);
    } catch (e) {
      if (e instanceof NotifyFileError) throw new InvalidInput("--notify", `--notify ${e.message}`);
      throw e;
    }
    notifier = new Notifier({ ...dirs, fleet: file.fleet, sinks: file.sinks, log: (line) => err(line + "\n") });
  } else if (fs.existsSync(ledgerFile(dirs.decisions))) {
    // Notifications were turned off: status no longer lists the old sinks (their history stays).
    void new Notifier({ ...dirs, fleet: "none", sinks: [], log: (line) => err(line + "\n") }).stop();
  }
  const server = createConsoleServer({
    dirs,
    tokens,
    requestTimeoutSeconds,
    allowedHosts: o.allowHost ?? [],
    log: (line) => err(line + "\n"),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${o.listen}: ${err.code ?? err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const shown =
    typeof addr === "object" && addr
      ? `${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`
      : o.listen;
  if (notifier) {
    // Before the "listening" line, which callers wait for.
    out(`agentctl serve: notifications to ${notifier.sinkCount} sink${notifier.sinkCount === 1 ? "" : "s"}\n`);
    notifier.start();
    server.once("close", () => void notifier.stop());
  }
  out(
    `agentctl serve: listening on http://${shown}/ (${tokens.length} token${tokens.length === 1 ? "" : "s"}; shared ${dirs.shared}, decisions ${dirs.decisions})\n`,
  );
  const stop = () => {
    void notifier?.stop();
    server.close();
    server.closeAllConnections();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return server;
}
