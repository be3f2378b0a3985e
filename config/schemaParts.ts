import { z } from "zod";
import { DNS_LABEL, DNS_LABEL_MAX } from "../contract/names.js";

/** Small zod building blocks shared by the common settings and the targets' sections. */

/**
 * What `pulumi config set` stores (pulumi/sdk go/common/resource/config/object.go, `coerce`): a
 * top-level value is always a string; a `--path` value that is "true"/"false" becomes a boolean
 * and one of base-10 digits without a leading zero an integer; anything else (e.g. "0.5",
 * "0123") stays a string. The schema takes each documented key in every form the CLI produces.
 */

/** Pulumi hands top-level scalars to programs as strings; stack files hold real booleans. */
export const bool = () =>
  z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" }));

/** A decimal number written as text ("0.5", "0123", or any top-level value). */
const NUMERIC_TEXT = /^\d{1,15}(\.\d{1,15})?$/;

/** A number, also when the CLI stored it as text. */
export const numeric = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && NUMERIC_TEXT.test(v) ? Number(v) : v), schema);

/** A string, also when `config set --path` turned it into a number or a boolean (e.g. codeRevision 2). */
export const text = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v), schema);

export const dnsLabel = () =>
  text(
    z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") }).regex(DNS_LABEL, {
      error: `must be a lowercase DNS label: 1-${DNS_LABEL_MAX} characters a-z, 0-9 and "-", not starting or ending with "-"`,
    }),
  );

export const positiveInt = (min: number, max: number) =>
  numeric(
    z
      .number({ error: "must be a number" })
      .int({ error: "must be a whole number" })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` }),
  );
