import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig as parseFleetConfig } from "../../../../targets/index.js";
import { rawConfigFromStackFile } from "../../../../config/stackFile.js";
import { secret } from "../../config/fixtures.js";

const repo = path.resolve(__dirname, "../../../..");

describe("stacks/Pulumi.exoscale.yaml", () => {
  it("only lacks the private key, which must be set as a secret; the rest is a valid exoscale stack", () => {
    const raw = rawConfigFromStackFile(path.join(repo, "stacks", "Pulumi.exoscale.yaml"));
    expect(() => parseFleetConfig(raw.ns, { stack: "exoscale", projectDir: repo, foreign: raw.foreign })).toThrow(
      /^Invalid stack config: 1 problem .*\n {2}agent-fleet:ssh\.privateKey: is required for target exoscale/,
    );
    (raw.ns.ssh as Record<string, unknown>).privateKey = secret();
    const c = parseFleetConfig(raw.ns, { stack: "exoscale", projectDir: repo, foreign: raw.foreign });
    if (c.target !== "exoscale") throw new Error(`target ${c.target}`);
    expect(c.exoscale).toMatchObject({
      zone: "ch-gva-2",
      instanceType: "standard.small",
      diskSizeGb: 50,
      template: "Linux Ubuntu 24.04 LTS 64-bit",
      elasticIp: false,
    });
    expect(c.ssh.allowedCidrs).toEqual(["198.51.100.7/32"]);
  });
});
