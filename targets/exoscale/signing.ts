import { createHmac } from "node:crypto";

/**
 * `EXO2-HMAC-SHA256` request signing, as the OpenAPI document's `x-topics` → "API Request Signature"
 * describes it. The signed message is five lines joined by `\n`:
 *
 *   1. `METHOD /path` (the URL path only, including the `/v2` prefix)
 *   2. the request body (empty when there is none)
 *   3. the query parameter values, concatenated without separator, in the order of their names
 *      listed in the `signed-query-args=` pragma (sorted by name, like the reference implementation)
 *   4. signed header values (none at the moment: empty)
 *   5. the expiry as a UNIX timestamp
 *
 * signature = base64(HMAC-SHA256(secret, message)).
 */
export interface SignInput {
  method: string;
  /** URL path, e.g. `/v2/zone` (no query string). */
  path: string;
  /** Exact body bytes sent (a JSON string), or "" without a body. */
  body: string;
  /** Query parameters (decoded values). */
  query?: Record<string, string>;
  /** UNIX seconds after which the API refuses the request. */
  expires: number;
}

export interface SignedMessage {
  /** Names of the signed query parameters, in signing order. */
  signedQueryArgs: string[];
  /** The exact text that is HMAC'ed. */
  message: string;
}

/** The message to sign (pure; exposed so the simulator verifies with the very same rules). */
export function signatureMessage(input: SignInput): SignedMessage {
  const query = input.query ?? {};
  const names = Object.keys(query).sort();
  const values = names.map((n) => query[n]).join("");
  const message = [`${input.method.toUpperCase()} ${input.path}`, input.body, values, "", String(input.expires)].join(
    "\n",
  );
  return { signedQueryArgs: names, message };
}

export function hmacSignature(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message, "utf8").digest("base64");
}

/** The value of the `Authorization` header for one request. */
export function authorizationHeader(apiKey: string, apiSecret: string, input: SignInput): string {
  const { signedQueryArgs, message } = signatureMessage(input);
  const parts = [`EXO2-HMAC-SHA256 credential=${apiKey}`];
  if (signedQueryArgs.length > 0) parts.push(`signed-query-args=${signedQueryArgs.join(";")}`);
  parts.push(`expires=${input.expires}`, `signature=${hmacSignature(apiSecret, message)}`);
  return parts.join(",");
}

export interface ParsedAuthorization {
  credential: string;
  signedQueryArgs: string[];
  expires: number;
  signature: string;
}

/** Parses an `Authorization` header; returns an error message instead of throwing. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | string {
  if (header === undefined || header === "") return "missing Authorization header";
  const prefix = "EXO2-HMAC-SHA256 ";
  if (!header.startsWith(prefix)) return "Authorization header must start with EXO2-HMAC-SHA256";
  const fields = new Map<string, string>();
  for (const part of header.slice(prefix.length).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `malformed Authorization pragma "${part}"`;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const credential = fields.get("credential");
  const expires = fields.get("expires");
  const signature = fields.get("signature");
  if (!credential || !expires || !signature) return "Authorization header lacks credential, expires or signature";
  if (!/^\d+$/.test(expires)) return "Authorization expires must be a UNIX timestamp";
  const sqa = fields.get("signed-query-args");
  return {
    credential,
    expires: Number(expires),
    signature,
    signedQueryArgs: sqa === undefined || sqa === "" ? [] : sqa.split(";"),
  };
}
