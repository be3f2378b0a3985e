/**
 * Public subnet CIDRs for a new fleet VPC: the first `count` blocks four bits longer than the VPC
 * (a /16 gives /20s of 4096 addresses), which leaves room for more subnets later. Pure.
 */
export function subnetCidrs(vpcCidr: string, count: number): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(vpcCidr);
  if (!m) throw new Error(`"${vpcCidr}" is not an IPv4 CIDR`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 28) throw new Error(`"${vpcCidr}" is not an IPv4 CIDR of /28 or larger`);
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const sub = Math.min(prefix + 4, 28);
  const size = 2 ** (32 - sub);
  const blocks = 2 ** (sub - prefix);
  if (count > blocks) throw new Error(`"${vpcCidr}" has room for ${blocks} /${sub} subnets, not ${count}`);
  const network = base - (base % 2 ** (32 - prefix));
  return Array.from({ length: count }, (_, i) => {
    const addr = network + i * size;
    const ip = [24, 16, 8, 0].map((s) => Math.floor(addr / 2 ** s) % 256).join(".");
    return `${ip}/${sub}`;
  });
}
