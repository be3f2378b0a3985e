/**
 * Monthly cost estimate of a Fargate fleet, from its configuration alone (no AWS call).
 *
 * Prices are on-demand list prices for US East (N. Virginia), us-east-1, as published on
 * https://aws.amazon.com/fargate/pricing/ and https://aws.amazon.com/efs/pricing/ and
 * https://aws.amazon.com/vpc/pricing/ (public IPv4), checked for `PRICES_AS_OF`. Other regions
 * are typically 10–30% higher. The estimate is a planning figure, not a bill: it leaves out data
 * transfer, CloudWatch Logs ingestion ($0.50/GB) and ECR storage ($0.10/GB-month).
 */

export const PRICES_AS_OF = "2026-06";
export const PRICES_REGION = "us-east-1";
/** Hours in an average month, as AWS's own calculator uses. */
export const HOURS_PER_MONTH = 730;

export const FARGATE_PRICES = {
  X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 },
  ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 },
} as const;

/** EFS Standard storage, per GB-month (billed on what is stored, so it is noted, not estimated). */
export const EFS_STANDARD_GB_MONTH = 0.3;
/** Every public IPv4 address (one per task when `assignPublicIp`), per hour. */
export const PUBLIC_IPV4_HOUR = 0.005;

export type CpuArchitecture = keyof typeof FARGATE_PRICES;

export interface CostInputAgent {
  name: string;
  /** Task CPU units (1024 = 1 vCPU). */
  cpu: number;
  /** Task memory, MiB. */
  memory: number;
  /** This agent alone is paused (desiredCount 0). */
  paused?: boolean;
}

export interface AgentCost {
  agent: string;
  vcpu: number;
  memoryGb: number;
  /** 0 when the fleet or this agent is paused. */
  runningTasks: number;
  computeUsd: number;
  publicIpv4Usd: number;
  totalUsd: number;
}

export interface FleetCostEstimate {
  currency: "USD";
  region: string;
  pricesAsOf: string;
  architecture: CpuArchitecture;
  hoursPerMonth: number;
  prices: { vcpuHour: number; gbHour: number; publicIpv4Hour: number; efsStandardGbMonth: number };
  agents: AgentCost[];
  /** Fargate compute plus public IPv4 addresses, all agents. */
  monthlyUsd: number;
  notes: string[];
}

const cents = (x: number) => Math.round(x * 100) / 100;

export function estimateMonthlyCost(o: {
  agents: CostInputAgent[];
  architecture: CpuArchitecture;
  paused: boolean;
  assignPublicIp: boolean;
}): FleetCostEstimate {
  const p = FARGATE_PRICES[o.architecture];
  const agents = o.agents.map((a): AgentCost => {
    const tasks = o.paused || a.paused === true ? 0 : 1;
    const vcpu = a.cpu / 1024;
    const memoryGb = a.memory / 1024;
    const computeUsd = tasks * HOURS_PER_MONTH * (vcpu * p.vcpuHour + memoryGb * p.gbHour);
    const publicIpv4Usd = o.assignPublicIp ? tasks * HOURS_PER_MONTH * PUBLIC_IPV4_HOUR : 0;
    return {
      agent: a.name,
      vcpu,
      memoryGb,
      runningTasks: tasks,
      computeUsd: cents(computeUsd),
      publicIpv4Usd: cents(publicIpv4Usd),
      totalUsd: cents(computeUsd + publicIpv4Usd),
    };
  });
  const monthlyUsd = cents(agents.reduce((s, a) => s + a.computeUsd + a.publicIpv4Usd, 0));
  return {
    currency: "USD",
    region: PRICES_REGION,
    pricesAsOf: PRICES_AS_OF,
    architecture: o.architecture,
    hoursPerMonth: HOURS_PER_MONTH,
    prices: {
      vcpuHour: p.vcpuHour,
      gbHour: p.gbHour,
      publicIpv4Hour: PUBLIC_IPV4_HOUR,
      efsStandardGbMonth: EFS_STANDARD_GB_MONTH,
    },
    agents,
    monthlyUsd,
    notes: [
      `EFS storage is extra: $${EFS_STANDARD_GB_MONTH} per GB-month stored (Standard class); agent code and the shared dir are usually well under 1 GB.`,
      "Not included: data transfer, CloudWatch Logs ingestion ($0.50/GB), ECR image storage ($0.10/GB-month), the on-demand operator task (0.25 vCPU / 0.5 GB, about $0.012 per hour while it runs).",
      `Prices: ${PRICES_REGION} on-demand list prices as of ${PRICES_AS_OF}; other regions are typically 10–30% higher.`,
      ...(o.paused ? ["The fleet is paused (desiredCount 0): no task runs, only storage is billed."] : []),
    ],
  };
}
