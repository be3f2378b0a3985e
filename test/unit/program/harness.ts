import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as pulumiSettings from "@pulumi/pulumi/runtime/settings.js";
import { parse as parseShell } from "shell-quote";
import { PROJECT } from "../../../config/fleetConfig.js";
import { stackExports } from "../../../fleet/stackOutputs.js";
import { stackProgram } from "../../../program.js";
import { tempDir } from "./tmp.js";

/**
 * Runs the real program (program.ts, what index.ts calls) under
 * `pulumi.runtime.setMocks` and records every resource registration with its inputs as the engine
 * would receive them (secret values stay wrapped in Pulumi's secret envelope).
 */

/** Pulumi's wire marker for secret values (sdk/nodejs/runtime/rpc.ts). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The URN the mock monitor gave the resource. */
  urn?: string;
  /** Parent URN, as the SDK sent it ("" for none). */
  parent?: string;
  /**
   * URNs this resource depends on, as the SDK sent them to the engine
   * (RegisterResourceRequest.dependencies: `dependsOn`, expanded through components, plus the
   * resources its inputs come from). The engine orders creates and deletes by these.
   */
  dependencies?: string[];
}

export interface ProgramRun {
  resources: Registered[];
  outputs: Record<string, unknown>;
  byName(name: string): Registered;
  ofType(type: string): Registered[];
}

export interface StackConfig {
  /** `agent-fleet` namespace, values as in a stack file (objects are sent as JSON, like Pulumi does). */
  config: Record<string, unknown>;
  /** Full keys whose values are secrets (e.g. "agent-fleet:OPENAI_KEY", "agent-fleet:ssh"). */
  secretKeys?: string[];
  /** Other namespaces, full keys. */
  foreign?: Record<string, string>;
}

let registered: Registered[] = [];

/** Registrations of the last run, also when the program threw. */
export async function lastRegistrations(): Promise<Registered[]> {
  await (pulumiSettings as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
  return registered;
}

export async function runProgram(
  projectDir: string,
  stack: StackConfig,
  opts: { stackName?: string; preview?: boolean } = {},
): Promise<ProgramRun> {
  const resources: Registered[] = [];
  registered = resources;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, stdout: "", stderr: "", ...computed(args.type, args.name, args.inputs) },
        };
      },
      call(args) {
        return {
          ...args.inputs,
          region: "eu-central-1",
          accountId: "123456789012",
          partition: "aws",
          names: ["eu-central-1a", "eu-central-1b"],
          zoneIds: ["euc1-az1", "euc1-az2"],
        };
      },
    },
    PROJECT,
    opts.stackName ?? "test",
    opts.preview ?? false,
  );
  recordDependencies(resources);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(stack.config))
    flat[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(stack.foreign ?? {})) flat[k] = v;
  pulumi.runtime.setAllConfig(flat, stack.secretKeys ?? []);

  // What index.ts exports: the stack outputs Pulumi sees.
  const out = stackExports(stackProgram({ stack: opts.stackName ?? "test", projectDir }));
  const outputs = await resolveOutputs(out);
  await (pulumiSettings as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
  return {
    resources,
    outputs,
    byName(name) {
      const r = resources.find((x) => x.name === name);
      if (!r) throw new Error(`no resource named ${name}; have: ${resources.map((x) => x.name).join(", ")}`);
      return r;
    },
    ofType(type) {
      return resources.filter((x) => x.type === type);
    },
  };
}

/**
 * The mocks' `newResource` sees type, name and inputs only; the request the SDK sends carries the
 * parent and the dependencies too. Wraps the mock monitor's registerResource to copy them (and the
 * URN it answers with) onto the matching registration.
 */
function recordDependencies(resources: Registered[]): void {
  const monitor = (pulumiSettings as unknown as { getMonitor: () => any }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
    register(req, (err: unknown, resp: any) => {
      const r = [...resources].reverse().find((x) => x.type === req.getType() && x.name === req.getName());
      if (r && !err) {
        r.urn = resp.getUrn();
        r.parent = req.getParent();
        r.dependencies = req.getDependenciesList();
      }
      callback(err, resp);
    });
  };
}

/** Attributes AWS would compute, for the aws target (deterministic, derived from the inputs). */
function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  if (type === "docker:index/image:Image") {
    const digest = crypto
      .createHash("sha256")
      .update(JSON.stringify(inputs.build ?? {}))
      .digest("hex");
    return { repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${digest}` };
  }
  if (type.startsWith("pulumi-nodejs:dynamic")) {
    // What the Exoscale providers would return; the simulator tests cover the real values.
    return {
      publicIp: "203.0.113.77",
      instanceId: `${name}-uuid`,
      securityGroupId: `${name}-uuid`,
      elasticIpId: `${name}-uuid`,
      ip: "203.0.113.88",
    };
  }
  if (!type.startsWith("aws:")) return {};
  const arn =
    type === "aws:ssm/parameter:Parameter"
      ? `arn:aws:ssm:eu-central-1:123456789012:parameter${inputs.name ?? `/${name}`}`
      : `arn:aws:mock:eu-central-1:123456789012:${type.split(":")[1]}/${inputs.name ?? name}`;
  return {
    arn,
    name: inputs.name ?? name,
    ...(type === "aws:ecr/repository:Repository"
      ? {
          repositoryUrl: `123456789012.dkr.ecr.eu-central-1.amazonaws.com/${inputs.name ?? name}`,
          registryId: "123456789012",
        }
      : {}),
  };
}

/** Awaits every Output of the program's result, keeping track of which values were secret. */
export async function resolveOutputs(out: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(out).map(async ([k, v]) => [k, pulumi.Output.isInstance(v) ? await unwrap(v) : v] as const),
  );
  return Object.fromEntries(entries);
}

function unwrap<T>(o: pulumi.Output<T>): Promise<unknown> {
  return new Promise((resolve) => {
    pulumi.all([o, pulumi.isSecret(o)]).apply(([value, secret]) => {
      resolve(secret ? { [SECRET_SIG_KEY]: SECRET_SIG, value } : value);
    });
  });
}

/** Every string in a value, with whether it sits inside a secret envelope. */
export function strings(
  value: unknown,
  inSecret = false,
  acc: Array<{ text: string; secret: boolean; path: string }> = [],
  at = "",
): typeof acc {
  if (typeof value === "string") acc.push({ text: value, secret: inSecret, path: at });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, inSecret, acc, `${at}[${i}]`));
  else if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[SECRET_SIG_KEY] === SECRET_SIG) return strings(o.value, true, acc, at);
    for (const [k, v] of Object.entries(o)) strings(v, inSecret, acc, `${at}.${k}`);
  }
  return acc;
}

/** The value with every secret envelope removed (for reading inputs in assertions). */
export function plain(value: unknown): any {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[SECRET_SIG_KEY] === SECRET_SIG) return plain(o.value);
    if (Object.getPrototypeOf(o) !== Object.prototype) return value;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** A throw-away project: agents/<name>/agent.json, agent-image/Dockerfile, runtime/, .dockerignore. */
export function makeProject(agentNames: string[]): string {
  const dir = tempDir("program-");
  for (const name of agentNames) {
    fs.mkdirSync(path.join(dir, "agents", name), { recursive: true });
    fs.writeFileSync(path.join(dir, "agents", name, "agent.json"), JSON.stringify({ command: ["node", "agent.js"] }));
    fs.writeFileSync(path.join(dir, "agents", name, "agent.js"), `console.log("${name}");\n`);
  }
  fs.mkdirSync(path.join(dir, "agent-image"));
  fs.writeFileSync(
    path.join(dir, "agent-image", "Dockerfile"),
    "ARG BASE_IMAGE=node:22-bookworm-slim\nFROM ${BASE_IMAGE}\nCOPY runtime /opt/runtime\n",
  );
  fs.mkdirSync(path.join(dir, "runtime"));
  fs.writeFileSync(path.join(dir, "runtime", "main.ts"), "export const version = 1;\n");
  fs.writeFileSync(path.join(dir, ".dockerignore"), "*\n!agent-image/\n!runtime/\n");
  return dir;
}

/** Resource names whose inputs differ between two runs (and names present in only one). */
export function changedResources(a: ProgramRun, b: ProgramRun): string[] {
  const index = (r: ProgramRun) => new Map(r.resources.map((x) => [`${x.type}::${x.name}`, JSON.stringify(x.inputs)]));
  const ia = index(a);
  const ib = index(b);
  const keys = new Set([...ia.keys(), ...ib.keys()]);
  return [...keys]
    .filter((k) => ia.get(k) !== ib.get(k))
    .map((k) => k.split("::")[1]!)
    .sort();
}

/** The program inside `sudo -n sh -c '<program>'` (or `sh -c`), as the host's shell receives it. */
export function programOf(command: string): string {
  const words = parseShell(command);
  const i = words.indexOf("-c");
  if (i < 0 || typeof words[i + 1] !== "string") throw new Error(`not an sh -c command: ${command.slice(0, 80)}`);
  return words[i + 1] as string;
}
