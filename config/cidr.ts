import * as net from "node:net";

/**
 * CIDR checks for `ssh.allowedCidrs`. Pure functions; the firewall script, the Exoscale security
 * group and the tests all rely on the normalised form returned here.
 */
export interface Cidr {
  /** The address as written (IPv4 dotted quad or IPv6). */
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Addresses that open SSH to the whole internet; accepted only when written out in full. */
export const WORLD_CIDRS = ["0.0.0.0/0", "::/0"] as const;

/**
 * Parses "a.b.c.d/n" or "x::y/n". Returns an error message instead of throwing so that the schema
 * can report every bad entry at once. A prefix is mandatory: "203.0.113.4" alone is rejected so
 * that nobody opens more (or less) than they wrote.
 */
export function parseCidr(text: string): Cidr | { error: string } {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) {
    return { error: `"${text}" is not a CIDR block: write an address and a prefix length, e.g. "203.0.113.4/32"` };
  }
  const address = m[1]!;
  const prefix = Number(m[2]);
  const family = net.isIP(address);
  if (family === 0) return { error: `"${text}": "${address}" is not an IPv4 or IPv6 address` };
  const max = family === 4 ? 32 : 128;
  if (prefix > max) return { error: `"${text}": prefix length must be at most ${max} for IPv${family}` };
  const hostBits = networkAddress(address, family as 4 | 6, prefix);
  if (hostBits !== null && hostBits !== normaliseAddress(address, family as 4 | 6)) {
    return { error: `"${text}" has host bits set; did you mean "${hostBits}/${prefix}"?` };
  }
  return { address, prefix, family: family as 4 | 6 };
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) {
    return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  // Expand "::" and any embedded IPv4 tail, then read 8 groups of 16 bits.
  let a = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const n = toBigInt(v4[1]!, 4);
    a = a.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = a.includes("::") ? a.split("::") : [a, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(n: bigint, family: 4 | 6): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 says.
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

function normaliseAddress(address: string, family: 4 | 6): string {
  return fromBigInt(toBigInt(address, family), family);
}

function networkAddress(address: string, family: 4 | 6, prefix: number): string | null {
  const bits = family === 4 ? 32 : 128;
  const n = toBigInt(address, family);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return fromBigInt(n & mask, family);
}
