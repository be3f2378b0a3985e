/**
 * Serializes the Exoscale dynamic providers exactly as `pulumi.dynamic.Resource` does
 * (`pulumi.runtime.serializeFunction(() => provider)`) and prints them as JSON
 * `{ "<name>": "<module text>" }`. Run it with tsx, in its own process, the way a Pulumi program
 * runs; the unit test then loads each text in a plain `node` (as the dynamic-provider host does)
 * and drives it against the simulator. This proves the providers survive serialization: nothing
 * they need is lost, and no big module (zod, yaml, the Pulumi SDK) is captured by value.
 */
import * as pulumi from "@pulumi/pulumi";
import { elasticIpAttachmentProvider, elasticIpProvider } from "../../../targets/exoscale/providers/elasticIp.js";
import { instanceProvider } from "../../../targets/exoscale/providers/instance.js";
import { securityGroupProvider } from "../../../targets/exoscale/providers/securityGroup.js";
import { sshKeyProvider } from "../../../targets/exoscale/providers/sshKey.js";

const fast = { poll: { initialIntervalMs: 1, maxIntervalMs: 5 } };
const providers: Record<string, unknown> = {
  sshKey: sshKeyProvider(fast),
  securityGroup: securityGroupProvider(fast),
  instance: instanceProvider(fast),
  elasticIp: elasticIpProvider(fast),
  elasticIpAttachment: elasticIpAttachmentProvider(fast),
};

async function main(): Promise<void> {
  const out: Record<string, string> = {};
  for (const [name, provider] of Object.entries(providers)) {
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
    out[name] = sf.text;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
