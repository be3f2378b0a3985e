/** The patch hash (one definition, shared with the runtime, which checks it before applying). */
export { patchSha256 } from "../proposals/patchHash.js";
