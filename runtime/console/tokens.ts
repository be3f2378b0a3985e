import { createHash, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import { CONSOLE_TOKEN, CONSOLE_TOKEN_NAME } from "../../contract/console.js";
import { MIN_TOKEN_LENGTH } from "./limits.js";

/**
 * The console's identities: a tokens file with one `name:token` per line (`#` starts a comment
 * line, blank lines are ignored). The name is who decides: it is recorded in the decision and
 * becomes the commit's `Approved-By:` trailer.
 */
export interface TokenEntry {
  name: string;
  /** sha256 of the token: compared in constant time, and the token itself is not kept. */
  digest: Buffer;
}

/** Names appear in decisions and commit trailers (the contract's rule, shared with the fleet's config). */
export { CONSOLE_TOKEN_NAME as TOKEN_NAME_PATTERN } from "../../contract/console.js";

export class TokensFileError extends Error {}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Parse a tokens file's text; throws a TokensFileError naming the file and line. */
export function parseTokens(text: string, file: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const names = new Map<string, number>();
  const digests = new Map<string, number>();
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const bad = (why: string): never => {
      throw new TokensFileError(`tokens file ${file} line ${n}: ${why}`);
    };
    const colon = line.indexOf(":");
    if (colon < 0) bad(`expected name:token, found no ":"`);
    const name = line.slice(0, colon).trim();
    const token = line.slice(colon + 1).trim();
    if (!CONSOLE_TOKEN_NAME.test(name))
      bad(`name ${JSON.stringify(name.slice(0, 70))} is not valid (letters, digits, . _ @ -, at most 64)`);
    if (!CONSOLE_TOKEN.test(token)) bad(`the token of "${name}" is empty or has spaces or non-ASCII characters`);
    if (token.length < MIN_TOKEN_LENGTH) bad(`the token of "${name}" is shorter than ${MIN_TOKEN_LENGTH} characters`);
    if (names.has(name)) bad(`name "${name}" is already used on line ${names.get(name)}`);
    const d = digest(token);
    const key = d.toString("hex");
    if (digests.has(key)) bad(`the token of "${name}" is the same as the one on line ${digests.get(key)}`);
    names.set(name, n);
    digests.set(key, n);
    entries.push({ name, digest: d });
  });
  if (entries.length === 0) throw new TokensFileError(`tokens file ${file} holds no name:token line`);
  return entries;
}

export function loadTokens(file: string): TokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new TokensFileError(
      `cannot read tokens file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  return parseTokens(text, file);
}

/**
 * The name whose token this is, or undefined. Every entry is compared (no early exit) on
 * fixed-length digests with timingSafeEqual, so timing reveals neither which token nor how much
 * of one matched.
 */
export function identify(entries: readonly TokenEntry[], presented: string): string | undefined {
  const d = digest(presented);
  let found: string | undefined;
  for (const e of entries) {
    if (timingSafeEqual(e.digest, d) && found === undefined) found = e.name;
  }
  return found;
}
