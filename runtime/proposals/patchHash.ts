import type * as Crypto from "node:crypto";

/**
 * The sha256 that binds an approval to a patch: of the patch file's bytes, as stored in the
 * shared dir. agentctl and the console record it in a decision; the runtime records it when it
 * proposes (its own autonomous approval binds to it) and checks it before every apply.
 * node:crypto is loaded on first use only: an idle runtime never hashes, and does not pay for
 * the module (see docs/runtime.md, resource use).
 */
let crypto: typeof Crypto | undefined;

export function patchSha256(patch: Uint8Array): string {
  crypto ??= process.getBuiltinModule("node:crypto");
  return crypto.createHash("sha256").update(patch).digest("hex");
}
