import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from "./limits.js";

/**
 * The options of `agentctl serve`, as its command line gives them (kept apart from the server so
 * that agentctl's other commands never load it).
 */
export interface ServeOptions {
  /** HOST:PORT, e.g. 127.0.0.1:8080 ([::1]:8080 for IPv6; port 0 picks a free one). */
  listen: string;
  tokens: string;
  shared: string;
  decisions: string;
  allowHost?: string[];
  requestTimeout?: string;
  /** The notifications file (JSON { fleet, sinks }); absent: no notifications. */
  notify?: string;
}

export const SERVE_HELP = {
  description: "the review console: web UI and HTTP API on one port (docs/console.md); runs until SIGTERM/SIGINT",
  listen: "HOST:PORT to listen on (127.0.0.1:PORT, reached through an SSH tunnel; port 0 picks a free one)",
  tokens: "file of name:token lines (# comments); the name is recorded as Approved-By",
  allowHost: "a Host name accepted besides localhost, 127.0.0.1 and ::1 (repeatable)",
  notify: "notifications file (JSON { fleet, sinks }, docs/console.md): deliver the fleet's events to these sinks",
  requestTimeout: `seconds a client has to send a whole request (default ${DEFAULT_REQUEST_TIMEOUT_SECONDS})`,
};
