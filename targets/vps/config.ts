import { z } from "zod";
import type { CommonFleetConfig } from "../../config/fleetConfig.js";
import type { TargetConfigPart } from "../../config/targetPart.js";

/** `agent-fleet:vps`: the target vps's section of the stack config. */
export const vpsSchema = z.strictObject({
  host: z
    .string({ error: "must be the machine's IP address or DNS name" })
    .regex(/^[A-Za-z0-9.:-]+$/, { error: "must be an IP address or DNS name" })
    .optional(),
});

export interface VpsFleetConfig extends CommonFleetConfig {
  target: "vps";
  vps: { host: string };
}

export const vpsConfig: TargetConfigPart<VpsFleetConfig> = {
  name: "vps",
  section: { key: "vps", schema: vpsSchema, defaults: {} },
  hostRoot: "remote",
  usesSsh: true,
  build(common, section, add) {
    const { host } = section as z.output<typeof vpsSchema>;
    if (!host) {
      add(["vps", "host"], "is required for target vps: the address of the machine to manage");
      return undefined;
    }
    return { ...common, target: "vps", vps: { host } };
  },
};
