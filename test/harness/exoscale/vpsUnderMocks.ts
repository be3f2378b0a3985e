/**
 * Runs `new ExoscaleVps(...)` under `pulumi.runtime.setMocks` in its own tsx process (as a Pulumi
 * TypeScript program runs: the dynamic providers must serialize, which they cannot inside vitest's
 * module runner) and prints `{ outputs, recorded }` as JSON: every registered resource with its
 * inputs (the serialized `__provider` text left out) and the component's outputs.
 *
 *   tsx test/harness/exoscale/vpsUnderMocks.ts '<ExoscaleVpsArgs as JSON, sshPrivateKey as plain text>'
 */
import * as pulumi from "@pulumi/pulumi";
import { ExoscaleVps, type ExoscaleVpsArgs } from "../../../targets/exoscale/vps.js";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  providerBytes?: number;
}

function computed(type: string, name: string): Record<string, unknown> {
  switch (type) {
    case "pulumi-nodejs:dynamic/exoscale:Instance":
      return { instanceId: `${name}-uuid`, publicIp: "198.51.100.7", state: "running" };
    case "pulumi-nodejs:dynamic/exoscale:SecurityGroup":
      return { securityGroupId: "sg-uuid", rules: [] };
    case "pulumi-nodejs:dynamic/exoscale:SshKey":
      return { fingerprint: "fp" };
    case "pulumi-nodejs:dynamic/exoscale:ElasticIp":
      return { elasticIpId: "eip-uuid", ip: "203.0.113.50" };
    default:
      return {};
  }
}

function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) =>
    o.apply((v) => {
      resolve(v);
      return v;
    }),
  );
}

async function main(): Promise<void> {
  const raw = JSON.parse(process.argv[2] ?? "{}") as ExoscaleVpsArgs & { sshPrivateKey?: string };
  const recorded: Recorded[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(a) {
        const { __provider, ...inputs } = a.inputs as Record<string, unknown>;
        recorded.push({
          type: a.type,
          name: a.name,
          inputs,
          ...(typeof __provider === "string" ? { providerBytes: __provider.length } : {}),
        });
        return {
          id: a.type.endsWith(":SshKey") ? String(inputs.name) : `${a.name}-id`,
          state: { ...a.inputs, ...computed(a.type, a.name) },
        };
      },
      call() {
        throw new Error("no invokes expected");
      },
    },
    "agent-fleet",
    "prod",
    false,
  );
  const vps = new ExoscaleVps("host", {
    ...raw,
    ...(raw.sshPrivateKey ? { sshPrivateKey: pulumi.secret(raw.sshPrivateKey) } : {}),
  });
  const outputs = {
    publicIp: await valueOf(vps.publicIp),
    sshCommand: await valueOf(vps.sshCommand),
    instanceId: await valueOf(vps.instanceId),
    zone: await valueOf(vps.zone),
    monthly: await valueOf(vps.monthlyCostEstimate),
    basis: await valueOf(vps.costBasis),
    readyType: vps.ready.constructor.name,
  };
  // Let the last registrations reach the mock monitor.
  let last = -1;
  for (let quiet = 0, round = 0; quiet < 50 && round < 5000; round++) {
    await new Promise((r) => setTimeout(r, 2));
    if (recorded.length === last) quiet++;
    else {
      quiet = 0;
      last = recorded.length;
    }
  }
  process.stdout.write(JSON.stringify({ outputs, recorded }));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
