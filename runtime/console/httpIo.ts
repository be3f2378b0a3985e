import type * as http from "node:http";
import { HttpError, badRequest } from "./problem.js";

/**
 * Headers on every response. The UI is static files from this server only: scripts and styles
 * from 'self' (no inline script or style), nothing framed or framing, no referrer, and Trusted
 * Types required, so even a bug that reached for innerHTML could not turn text into markup.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Read a JSON object body of at most `maxBytes`: a declared Content-Length above it is refused
 * before reading, a chunked body as soon as it passes it (413 either way; the server discards
 * whatever the client still sends, never buffering it, and closes the connection if the body does
 * not end within TOO_LARGE_LINGER_MS). Anything but `application/json` is 415 — which also means a
 * cross-site form can never post here without a CORS preflight this server does not answer.
 */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(
      415,
      `the body must be JSON (Content-Type: application/json), got ${type ? JSON.stringify(type) : "no Content-Type"}`,
      "Content-Type",
    );
  }
  const tooLarge = () => new HttpError(413, `the body is larger than ${maxBytes} bytes`);
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
  // Events, not `for await`: leaving an async iterator destroys the request, and with it the
  // socket the 413 must still be written to.
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw badRequest("body", `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw badRequest("body", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

/** Field readers for a parsed body: each throws a 400 naming the field. */
export class Fields {
  private readonly used = new Set<string>();

  constructor(private readonly o: Record<string, unknown>) {}

  string(
    name: string,
    opts: { required?: boolean; max?: number; pattern?: RegExp; patternHelp?: string; nonEmpty?: boolean } = {},
  ): string | undefined {
    this.used.add(name);
    const v = this.o[name];
    if (v === undefined || v === null) {
      if (opts.required) throw badRequest(name, `"${name}" is required`);
      return undefined;
    }
    if (typeof v !== "string") throw badRequest(name, `"${name}" must be a string`);
    if ((opts.required || opts.nonEmpty) && v.trim() === "") throw badRequest(name, `"${name}" must not be empty`);
    if (opts.max !== undefined && v.length > opts.max)
      throw badRequest(name, `"${name}" is longer than ${opts.max} characters`);
    if (opts.pattern && !opts.pattern.test(v))
      throw badRequest(name, `"${name}" ${opts.patternHelp ?? `must match ${opts.pattern.source}`}`);
    return v;
  }

  integer(name: string, min: number, max: number): number | undefined {
    this.used.add(name);
    const v = this.o[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw badRequest(name, `"${name}" must be a whole number from ${min} to ${max}`);
    return v;
  }

  raw(name: string): unknown {
    this.used.add(name);
    return this.o[name];
  }

  /** After reading every known field: any other field is an error (a typo must not be ignored). */
  noOthers(): void {
    for (const k of Object.keys(this.o)) {
      if (!this.used.has(k)) throw badRequest(k, `unknown field "${k.slice(0, 80)}"`);
    }
  }
}

/** Query parameters: only the listed ones, each at most once. */
export function queryParams(url: URL, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of new Set(url.searchParams.keys())) {
    if (!allowed.includes(key))
      throw badRequest(
        key,
        `unknown query parameter "${key.slice(0, 80)}"${allowed.length ? ` (known: ${allowed.join(", ")})` : ""}`,
      );
    const all = url.searchParams.getAll(key);
    if (all.length > 1) throw badRequest(key, `query parameter "${key}" is given more than once`);
    out[key] = all[0];
  }
  return out;
}
