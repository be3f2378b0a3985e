/**
 * Exoscale zones and their API endpoints.
 *
 * The list is the `zone-name` enum of the API's own OpenAPI document (servers[0].variables.zone),
 * so a typo in stack config is caught before any request is made.
 */
export const EXOSCALE_ZONES = [
  "ch-gva-2",
  "ch-dk-2",
  "de-fra-1",
  "de-muc-1",
  "at-vie-1",
  "at-vie-2",
  "bg-sof-1",
  "hr-zag-1",
] as const;

export type ExoscaleZone = (typeof EXOSCALE_ZONES)[number];

export function isExoscaleZone(zone: string): zone is ExoscaleZone {
  return (EXOSCALE_ZONES as readonly string[]).includes(zone);
}

/** Throws a clear error naming the bad zone and the valid ones. */
export function requireExoscaleZone(zone: string): ExoscaleZone {
  if (!isExoscaleZone(zone)) {
    throw new Error(`unknown Exoscale zone "${zone}"; expected one of: ${EXOSCALE_ZONES.join(", ")}`);
  }
  return zone;
}

/**
 * The API base URL of a zone: `https://api-<zone>.exoscale.com/v2`.
 *
 * `override` (from `EXOSCALE_API_ENDPOINT` or config `exoscale:endpoint`) replaces it, e.g. with the
 * local simulator's `http://127.0.0.1:PORT/v2`; a `{zone}` placeholder in it is filled in.
 */
export function apiEndpoint(zone: ExoscaleZone, override?: string): string {
  if (override !== undefined && override !== "") {
    return override.replace("{zone}", zone).replace(/\/+$/, "");
  }
  return `https://api-${zone}.exoscale.com/v2`;
}
