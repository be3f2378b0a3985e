import * as crypto from "node:crypto";

/**
 * The sha256 that binds an approval to a patch: of the patch file's bytes, as stored in the
 * shared dir. Kept in operator code: the runtime's start-up path does not load node:crypto (see
 * docs/runtime.md "Memory").
 */
export function patchSha256(patch: Uint8Array): string {
  return crypto.createHash("sha256").update(patch).digest("hex");
}
