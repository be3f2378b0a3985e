/**
 * Prints the `e2e-hosts:` line for .ci/run: whether the real-CLI scenarios (test/e2e/hosts/) ran as
 * part of the e2e suite, or what the machine lacks for them (hostPieces.ts decides).
 *
 *   node --import tsx test/harness/engine/printHostPieces.ts [repo-root]
 */
import { findHostPieces, hostPiecesLine } from "./hostPieces.js";

console.log(hostPiecesLine(findHostPieces(process.argv[2] ?? process.cwd())));
