import { z } from "zod";
import type { CommonFleetConfig } from "../../config/fleetConfig.js";
import { bool, positiveInt } from "../../config/schemaParts.js";
import type { TargetConfigPart } from "../../config/targetPart.js";
import { EXOSCALE_ZONES, type ExoscaleZone } from "./zones.js";

/** Instance type families and sizes, from the `instance-type` schema of the Exoscale OpenAPI v2 document. */
export const EXOSCALE_FAMILIES = [
  "standard",
  "cpu",
  "memory",
  "storage",
  "colossus",
  "gpu",
  "gpu2",
  "gpu3",
  "gpua30",
  "gpu3080ti",
  "gpua5000",
  "gpub300",
  "gpurtx6000pro",
] as const;
export const EXOSCALE_SIZES = [
  "micro",
  "tiny",
  "small",
  "medium",
  "large",
  "extra-large",
  "huge",
  "mega",
  "titan",
  "titan48c",
  "jumbo",
  "colossus",
] as const;

export const EXOSCALE_DEFAULTS = {
  instanceType: "standard.small",
  diskSizeGb: 50,
  template: "Linux Ubuntu 24.04 LTS 64-bit",
  elasticIp: false,
} as const;

/** `agent-fleet:exoscale`: the target exoscale's section of the stack config. */
export const exoscaleSchema = z.strictObject({
  zone: z.enum(EXOSCALE_ZONES, { error: `must be one of ${EXOSCALE_ZONES.join(", ")}` }).optional(),
  instanceType: z
    .string()
    .refine(
      (t) => {
        const [family, size, extra] = t.split(".");
        return (
          extra === undefined &&
          (EXOSCALE_FAMILIES as readonly string[]).includes(family ?? "") &&
          (EXOSCALE_SIZES as readonly string[]).includes(size ?? "")
        );
      },
      {
        error: `must be "family.size", e.g. standard.small; families: ${EXOSCALE_FAMILIES.join(", ")}; sizes: ${EXOSCALE_SIZES.join(", ")}`,
      },
    )
    .default(EXOSCALE_DEFAULTS.instanceType),
  diskSizeGb: positiveInt(10, 51_200).default(EXOSCALE_DEFAULTS.diskSizeGb),
  template: z
    .string()
    .min(1, { error: "must name a template, e.g. Linux Ubuntu 24.04 LTS 64-bit" })
    .default(EXOSCALE_DEFAULTS.template),
  elasticIp: bool().default(EXOSCALE_DEFAULTS.elasticIp),
});

type ExoscaleSection = z.output<typeof exoscaleSchema>;

export interface ExoscaleFleetConfig extends CommonFleetConfig {
  target: "exoscale";
  exoscale: Omit<ExoscaleSection, "zone"> & { zone: ExoscaleZone };
  /** The new instance is created with this key (authorized for ssh.user by cloud-init). */
  sshPublicKey: string;
}

export const exoscaleConfig: TargetConfigPart<ExoscaleFleetConfig> = {
  name: "exoscale",
  section: { key: "exoscale", schema: exoscaleSchema, defaults: { ...EXOSCALE_DEFAULTS } },
  hostRoot: "remote",
  usesSsh: true,
  build(common, section, add, given) {
    const exoscale = section as ExoscaleSection;
    if (given.ssh?.bootstrapUser !== undefined) {
      add(
        ["ssh", "bootstrapUser"],
        "does not apply to target exoscale: cloud-init creates ssh.user on the new machine and root cannot log in",
      );
    }
    if (given.ssh && common.ssh.publicKey === undefined) {
      add(["ssh", "publicKey"], "is required for target exoscale (the instance is created with it)");
    }
    if (exoscale.zone === undefined)
      add(["exoscale", "zone"], `is required for target exoscale; one of ${EXOSCALE_ZONES.join(", ")}`);
    if (exoscale.zone === undefined || common.ssh.publicKey === undefined || given.ssh?.bootstrapUser !== undefined)
      return undefined;
    return {
      ...common,
      target: "exoscale",
      exoscale: { ...exoscale, zone: exoscale.zone },
      sshPublicKey: common.ssh.publicKey,
    };
  },
};
