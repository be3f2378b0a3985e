/**
 * Monthly cost estimate of an Exoscale VPS, from documented list-price constants.
 *
 * Source: https://www.exoscale.com/pricing/ (Compute → Standard instances, Storage → Local SSD,
 * Network → Elastic IP), EUR, excluding VAT, pay-as-you-go. Recorded 2026-11-21 while building this
 * module, WITHOUT live access to the page (the build machine has no internet): the figures are
 * the published list prices as we last knew them. Prices change and differ slightly per currency
 * and zone; treat the output as an order of magnitude and check the page before budgeting.
 * A month is 730 hours (8760 / 12), the convention of most cloud price lists.
 */
export const PRICES_RECORDED_ON = "2026-11-21";
export const PRICES_CURRENCY = "EUR";
export const HOURS_PER_MONTH = 730;

/** Hourly price per instance type (`family.size`), EUR excl. VAT. */
export const INSTANCE_HOURLY_EUR: Readonly<Record<string, number>> = {
  "standard.micro": 0.00694,
  "standard.tiny": 0.01181,
  "standard.small": 0.01875,
  "standard.medium": 0.03681,
  "standard.large": 0.06944,
  "standard.extra-large": 0.13472,
  "standard.huge": 0.26806,
  "standard.mega": 0.53472,
  "standard.titan": 1.06806,
  "standard.jumbo": 1.87222,
};

/** Local SSD root disk, per GiB per hour (≈ 0.10 EUR per GiB-month). */
export const DISK_GIB_HOURLY_EUR = 0.000137;
/** One elastic IP, per hour (≈ 3 EUR per month). */
export const ELASTIC_IP_HOURLY_EUR = 0.00411;

export interface CostEstimate {
  /** Total per month (730 h), rounded to cents; undefined when the type has no recorded price. */
  monthly?: number;
  currency: string;
  /** How the figure was made, including the date of the constants; always set. */
  basis: string;
}

export function monthlyCostEstimate(o: {
  instanceType: string;
  diskSizeGb: number;
  elasticIp?: boolean;
}): CostEstimate {
  const hourly = INSTANCE_HOURLY_EUR[o.instanceType];
  if (hourly === undefined) {
    return {
      currency: PRICES_CURRENCY,
      basis: `no recorded list price for ${o.instanceType} (known: ${Object.keys(INSTANCE_HOURLY_EUR).join(", ")}); see https://www.exoscale.com/pricing/`,
    };
  }
  const parts = [hourly, o.diskSizeGb * DISK_GIB_HOURLY_EUR, o.elasticIp ? ELASTIC_IP_HOURLY_EUR : 0];
  const monthly = Math.round(parts.reduce((a, b) => a + b, 0) * HOURS_PER_MONTH * 100) / 100;
  return {
    monthly,
    currency: PRICES_CURRENCY,
    basis:
      `${o.instanceType} + ${o.diskSizeGb} GiB disk${o.elasticIp ? " + elastic IP" : ""} × ${HOURS_PER_MONTH} h, ` +
      `list prices recorded ${PRICES_RECORDED_ON} (EUR excl. VAT; verify at https://www.exoscale.com/pricing/)`,
  };
}
