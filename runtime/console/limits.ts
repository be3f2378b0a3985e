/**
 * The console's limits and defaults, defined once: the server enforces them, docs/console-api.yaml
 * states them (a test checks that both agree), and the CLI's help prints the defaults.
 */

/** Largest request body (a task's instructions and context travel in it). */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * After a 413 the rest of the body is read and dropped for at most this long, then the connection
 * is closed: closing at once, with the client still sending, would reset the connection and could
 * destroy the 413 before the client reads it.
 */
export const TOO_LARGE_LINGER_MS = 2_000;
/** Longest task title (characters). */
export const MAX_TITLE_LENGTH = 200;
/** Longest approval note or rejection reason (characters). */
export const MAX_NOTE_LENGTH = 2000;
/** Most context files one task may carry (their bytes count against MAX_BODY_BYTES). */
export const MAX_CONTEXT_FILES = 32;
/** Longest context file name. */
export const MAX_CONTEXT_NAME_LENGTH = 100;

/** Seconds a client has to send a whole request (headers and body): slow senders are cut off. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
/** Idle keep-alive connections are closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Most open connections (event streams included); more are refused by the kernel backlog. */
export const MAX_CONNECTIONS = 128;
/** Most event streams (logs, comms) open at once; one more gets 503. */
export const MAX_STREAMS = 32;
/** A comment line on every open event stream this often, so proxies and tunnels keep it open. */
export const STREAM_KEEPALIVE_MS = 15_000;
/** How often a followed stream looks for new lines. */
export const STREAM_POLL_MS = 250;
/** Lines a log or comms stream starts with (the newest), unless `lines` says otherwise. */
export const DEFAULT_STREAM_LINES = 200;
/** Most lines a stream may start with. */
export const MAX_STREAM_LINES = 5000;
/** Shortest token accepted in the tokens file (the contract's rule, shared with the fleet). */
export { MIN_CONSOLE_TOKEN_LENGTH as MIN_TOKEN_LENGTH } from "../../contract/console.js";
