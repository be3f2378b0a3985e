import { z } from "zod";
import { DNS_LABEL, DNS_LABEL_MAX } from "../contract/names.js";

/** Small zod building blocks shared by the common settings and the targets' sections. */

/** Pulumi hands top-level scalars to programs as strings; stack files hold real booleans. */
export const bool = () =>
  z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" }));

export const dnsLabel = () =>
  z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") }).regex(DNS_LABEL, {
    error: `must be a lowercase DNS label: 1-${DNS_LABEL_MAX} characters a-z, 0-9 and "-", not starting or ending with "-"`,
  });

export const positiveInt = (min: number, max: number) =>
  z
    .number({ error: "must be a number" })
    .int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
