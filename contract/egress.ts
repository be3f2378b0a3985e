/**
 * An agent's network access, shared by the config, the container spec, the egress proxy in the
 * image and the Fargate security groups:
 *
 * - `none`: loopback only. The container has no interface besides `lo`.
 * - `full`: the host's default network, any address (what every container had before).
 * - `allow`: loopback only, plus an HTTP proxy that admits exactly these `host:port` targets.
 *   Docker hosts enforce it with the fleet's egress proxy (the agent has no route to bypass it);
 *   Fargate can only filter by port and CIDR (see docs/aws.md).
 */
export type NetworkSetting = { mode: "none" } | { mode: "full" } | { mode: "allow"; allow: EgressTarget[] };

export interface EgressTarget {
  /** Lowercase DNS name or IPv4 address (an IPv6 address without brackets). */
  host: string;
  port: number;
}

/** Where the agent's forwarder listens (loopback in the agent container) and the socket's name. */
export const EGRESS = {
  /** Loopback port of the in-container forwarder that HTTP(S)_PROXY name. */
  proxyPort: 3128,
  /** The proxy's socket in each agent's egress folder (mounted at CONTAINER_PATHS.egress). */
  socketName: "proxy.sock",
  /** Most entries in one agent's allow-list. */
  maxEntries: 64,
} as const;

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/;

/** An IPv4 literal (dotted quad). */
export function isIpv4(host: string): boolean {
  return IPV4.test(host);
}

/**
 * Parses one allow-list entry `host:port` (`[v6]:port` for IPv6). Returns the target, or a
 * message saying what is wrong. No wildcards, no schemes, no paths: an entry is one endpoint.
 */
export function parseEgressTarget(entry: string): EgressTarget | { error: string } {
  const bad = (why: string) => ({
    error: `${JSON.stringify(entry)} ${why}; write host:port, e.g. "api.anthropic.com:443"`,
  });
  if (typeof entry !== "string" || entry.length > 300) return bad("is not a host:port string");
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry) ?? /^([^:[\]]+):(\d{1,5})$/.exec(entry);
  if (!m) return bad("is not host:port");
  const host = m[1]!.toLowerCase();
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad("has a port outside 1-65535");
  const bracketed = entry.startsWith("[");
  if (
    bracketed
      ? !IPV6.test(host) || !host.includes(":")
      : !(IPV4.test(host) || (DNS_NAME.test(host) && !/^[\d.]+$/.test(host)))
  ) {
    return bad("does not name a host (a DNS name or an IP address)");
  }
  return { host, port };
}

/** The canonical `host:port` form of a target (brackets around IPv6). */
export function egressTargetString(t: EgressTarget): string {
  return t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
