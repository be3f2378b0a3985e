import { describe, expect, it } from "vitest";
import {
  HOURS_PER_MONTH,
  INSTANCE_HOURLY_EUR,
  monthlyCostEstimate,
  PRICES_RECORDED_ON,
} from "../../../../targets/exoscale/pricing.js";

describe("monthly cost estimate", () => {
  it("adds instance, disk and elastic IP over 730 hours, with the price date in its basis", () => {
    const small = monthlyCostEstimate({ instanceType: "standard.small", diskSizeGb: 50 });
    expect(small.monthly).toBe(18.69);
    expect(small.currency).toBe("EUR");
    expect(small.basis).toContain(PRICES_RECORDED_ON);
    const withEip = monthlyCostEstimate({ instanceType: "standard.small", diskSizeGb: 50, elasticIp: true });
    expect(withEip.monthly! - small.monthly!).toBeCloseTo(3.0, 1);
    expect(monthlyCostEstimate({ instanceType: "standard.small", diskSizeGb: 100 }).monthly).toBeGreaterThan(
      small.monthly!,
    );
  });

  it("grows with the size within the standard family", () => {
    const order = ["micro", "tiny", "small", "medium", "large", "extra-large", "huge", "mega", "titan", "jumbo"].map(
      (s) => INSTANCE_HOURLY_EUR[`standard.${s}`]!,
    );
    expect(order.every((p, i) => i === 0 || p > order[i - 1]!)).toBe(true);
    expect(HOURS_PER_MONTH).toBe(730);
  });

  it("says so when a type has no recorded price, instead of guessing", () => {
    const r = monthlyCostEstimate({ instanceType: "gpu3.huge", diskSizeGb: 50 });
    expect(r.monthly).toBeUndefined();
    expect(r.basis).toMatch(/no recorded list price for gpu3.huge/);
  });
});
