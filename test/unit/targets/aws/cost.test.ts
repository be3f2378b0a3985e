import { describe, expect, test } from "vitest";
import {
  FARGATE_PRICES,
  HOURS_PER_MONTH,
  PRICES_AS_OF,
  PRICES_REGION,
  estimateMonthlyCost,
} from "../../../../targets/aws/cost.js";

describe("monthly cost estimate", () => {
  test("prices are documented constants with their date and region", () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}$/);
    expect(PRICES_REGION).toBe("us-east-1");
    expect(FARGATE_PRICES.X86_64).toEqual({ vcpuHour: 0.04048, gbHour: 0.004445 });
    expect(HOURS_PER_MONTH).toBe(730);
  });

  test("one 1 vCPU / 2 GB agent with a public IP", () => {
    const e = estimateMonthlyCost({
      agents: [{ name: "a", cpu: 1024, memory: 2048 }],
      architecture: "X86_64",
      paused: false,
      assignPublicIp: true,
    });
    // 730 h × (1 × 0.04048 + 2 × 0.004445) = 36.04; public IPv4: 730 × 0.005 = 3.65
    expect(e.agents[0]).toMatchObject({
      agent: "a",
      vcpu: 1,
      memoryGb: 2,
      computeUsd: 36.04,
      publicIpv4Usd: 3.65,
      totalUsd: 39.69,
    });
    expect(e.monthlyUsd).toBe(39.69);
    expect(e.notes.join(" ")).toMatch(/EFS storage is extra: \$0.3 per GB-month/);
  });

  test("three agents add up; ARM prices apply; no public IP costs nothing extra", () => {
    const agents = [
      { name: "a", cpu: 256, memory: 512 },
      { name: "b", cpu: 512, memory: 1024 },
      { name: "c", cpu: 2048, memory: 4096 },
    ];
    const e = estimateMonthlyCost({ agents, architecture: "ARM64", paused: false, assignPublicIp: false });
    const expected = agents.reduce((s, a) => s + 730 * ((a.cpu / 1024) * 0.03238 + (a.memory / 1024) * 0.00356), 0);
    expect(e.monthlyUsd).toBeCloseTo(expected, 1);
    expect(e.agents.every((a) => a.publicIpv4Usd === 0)).toBe(true);
  });

  test("a paused fleet runs nothing", () => {
    const e = estimateMonthlyCost({
      agents: [{ name: "a", cpu: 1024, memory: 2048 }],
      architecture: "X86_64",
      paused: true,
      assignPublicIp: true,
    });
    expect(e.monthlyUsd).toBe(0);
    expect(e.agents[0]?.runningTasks).toBe(0);
    expect(e.notes.join(" ")).toMatch(/paused/);
  });
});
