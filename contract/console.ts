/**
 * The review console's contract, shared by `agentctl serve` (runtime/console) and the targets that
 * run it as its own container or service: the token rules (the config layer checks names when a
 * stack is validated, the fleet checks values before they are written), where the container finds
 * its tokens and the operator socket, and the default port.
 */

/** Token names appear in decisions and commit trailers: letters, digits and . _ @ - only. */
export const CONSOLE_TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const CONSOLE_TOKEN_NAME_RULE = "letters, digits, . _ @ -, starting with a letter or digit, at most 64";
/** Tokens: printable ASCII without spaces (they travel in an `Authorization: Bearer` header). */
export const CONSOLE_TOKEN = /^[\x21-\x7e]+$/;
/** Shortest token accepted. */
export const MIN_CONSOLE_TOKEN_LENGTH = 20;

/** What is wrong with a token value (never quoting it), or undefined when it is fine. */
export function consoleTokenProblem(token: string): string | undefined {
  if (!CONSOLE_TOKEN.test(token)) return "is empty or has spaces or non-ASCII characters";
  if (token.length < MIN_CONSOLE_TOKEN_LENGTH) return `is shorter than ${MIN_CONSOLE_TOKEN_LENGTH} characters`;
  return undefined;
}

/**
 * The console's name next to the agents': its container is `<fleet>-console`, its Fargate service
 * `console`, so no agent may have this name while the console runs.
 */
export const CONSOLE_NAME = "console";

/** The port the console listens on (inside its container, and on the host's 127.0.0.1) by default. */
export const DEFAULT_CONSOLE_PORT = 8080;

/** The operator socket's file name, in the host's `<root>/run/` and the container's socket folder. */
export const OPERATOR_SOCKET_NAME = "agentctl.sock";

/** Paths inside the console container / task. */
export const CONSOLE_PATHS = {
  /** The tokens file (`name:token` lines), mounted read-only (Docker hosts) or written at start (Fargate). */
  tokens: "/run/console/tokens",
  /** Folder of the operator socket the host `agentctl` talks to (Docker hosts). */
  socketDir: "/run/agentctl",
  /** The operator socket itself. */
  socket: `/run/agentctl/${OPERATOR_SOCKET_NAME}`,
} as const;

/** Environment variable carrying the tokens file's text into a Fargate console task (from Secrets Manager). */
export const CONSOLE_TOKENS_ENV = "AGENT_CONSOLE_TOKENS";

/**
 * The operator socket's frames (runtime/agentctl/operatorSocket.ts serves them, the host
 * `agentctl` wrapper's client reads them): a type byte, a 32-bit big-endian length, the payload.
 */
export const OPERATOR_FRAME = {
  /** Standard output bytes. */
  stdout: 0x6f,
  /** Standard error bytes. */
  stderr: 0x65,
  /** The exit code as decimal text; the last frame. */
  exit: 0x78,
  /** The only frame: run this command the slow way (payload: why). */
  fallback: 0x66,
} as const;

/** Exit code of the wrapper's socket client meaning "not answered here: run the command in a container" (EX_TEMPFAIL). */
export const OPERATOR_FALLBACK_EXIT = 75;
