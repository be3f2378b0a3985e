import { parse as parseShell } from "shell-quote";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, programOf, runProgram, strings, type ProgramRun, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * The review console on Docker hosts under mocks: its own container with the port published on the
 * host's 127.0.0.1 only, tokens that travel only as secrets (stdin of a step that logs nothing),
 * the host agentctl pointed at its operator socket, and the tunnel command as a stack output.
 */

const ALICE = "alice-token-Zq81hX0vPL3mN7wR2eT5";
const BOB = "bob-token-R4nd0mT0k3nV4lu3F0rT3st";
const dir = makeProject(["a1"]);
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nconsole-test-only-key\n-----END OPENSSH PRIVATE KEY-----\n";

function vps(console: unknown, secret = true): StackConfig {
  return {
    config: {
      target: "vps",
      vps: { host: "192.0.2.10" },
      ssh: { allowedCidrs: ["198.51.100.7/32"], privateKey: PRIVATE_KEY, port: 2222 },
      agents: [{ name: "a1" }],
      console,
    },
    secretKeys: ["agent-fleet:ssh", ...(secret ? ["agent-fleet:console"] : [])],
  };
}

function local(console: unknown): StackConfig {
  return {
    config: { target: "local", agents: [{ name: "a1" }], console },
    secretKeys: ["agent-fleet:console"],
  };
}

function plainTokenPlaces(run: ProgramRun, values: string[]): string[] {
  const places: string[] = [];
  for (const r of run.resources)
    for (const s of strings(r.inputs))
      for (const v of values) if (s.text.includes(v) && !s.secret) places.push(`${r.name}${s.path}`);
  for (const s of strings(run.outputs))
    for (const v of values) if (s.text.includes(v)) places.push(`output${s.path}`);
  return places;
}

/** The docker create words of the console's create program. */
function createWords(run: ProgramRun): string[] {
  const program = programOf(run.byName("fleet-console").inputs.create as string);
  const line = program.split("\n").find((l) => l.startsWith("docker create "));
  expect(line).toBeDefined();
  return parseShell(line!) as string[];
}

describe("console on a Docker host", () => {
  it("publishes its port on the host's 127.0.0.1 only, on a network of its own", async () => {
    const run = await runProgram(dir, vps({ port: 8443, tokens: { alice: ALICE, bob: BOB } }));
    const words = createWords(run);
    const published = words.flatMap((w, i) => (w === "--publish" || w === "-p" ? [words[i + 1]] : []));
    expect(published).toEqual(["127.0.0.1:8443:8443"]);
    expect(words.some((w) => /^--publish-all|^-P$/.test(w))).toBe(false);
    expect(words[words.indexOf("--network") + 1]).toBe("agent-fleet-test-console");
    const spec = run.byName("fleet-console").inputs.triggers[0];
    expect(spec.publish).toEqual([{ hostIp: "127.0.0.1", hostPort: 8443, containerPort: 8443 }]);
    expect(spec.capDrop).toEqual(["ALL"]);
    expect(spec.capAdd).toEqual([]);
    expect(spec.readOnlyRootFs).toBe(true);
    // It decides: decisions are writable here, and read-only in every agent's container.
    expect(spec.mounts).toContainEqual({ source: "/srv/agent-fleet/decisions", target: "/decisions", readOnly: false });
    expect(run.byName("fleet-a1-container").inputs.triggers[0].mounts).toContainEqual({
      source: "/srv/agent-fleet/decisions",
      target: "/decisions",
      readOnly: true,
    });
    // Agents publish nothing and are not on the console's network.
    const agentCreate = programOf(run.byName("fleet-a1-container").inputs.create as string);
    expect(agentCreate).not.toMatch(/--publish|--network/);
    expect(spec.command).toEqual([
      "agentctl",
      "serve",
      "--listen",
      "0.0.0.0:8443",
      "--tokens",
      "/run/console/tokens",
      "--operator-socket",
      "/run/agentctl/agentctl.sock",
    ]);
  });

  it("never has a token in plain state: only the secret stdin of a step that logs nothing", async () => {
    const run = await runProgram(dir, vps({ tokens: { alice: ALICE, bob: BOB } }));
    expect(plainTokenPlaces(run, [ALICE, BOB])).toEqual([]);
    const step = run.byName("fleet-console-tokens").inputs;
    expect(step.logging).toBe("none");
    const stdin = strings(step.stdin);
    expect(stdin).toEqual([{ text: `alice:${ALICE}\nbob:${BOB}\n`, secret: true, path: "" }]);
    expect(programOf(step.create as string)).toContain("umask 077");
    // The console is recreated when the tokens file is.
    expect(run.byName("fleet-console").inputs.triggers[1]).toBe("fleet-console-tokens-id");
  });

  it("outputs the exact SSH tunnel and the URL; the host agentctl uses its operator socket", async () => {
    const run = await runProgram(dir, vps({ tokens: { alice: ALICE } }));
    expect(run.outputs.consoleTunnel).toBe("ssh -N -L 8080:127.0.0.1:8080 -p 2222 ops@192.0.2.10");
    expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:8080/");
    const wrapper = strings(run.byName("fleet-agentctl").inputs.stdin)[0]!.text;
    expect(wrapper).toContain("sock=/srv/agent-fleet/run/agentctl.sock");
  });

  it("locally: just the URL, and the socket shared with the operator's group", async () => {
    const run = await runProgram(dir, local({ tokens: { alice: ALICE } }));
    expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:8080/");
    expect(run.outputs.consoleTunnel).toBeUndefined();
    const spec = run.byName("fleet-console").inputs.triggers[0];
    expect(spec.groupAdd).toEqual([process.getgid!()]);
    expect(spec.command.slice(-2)).toEqual(["--operator-socket-group", String(process.getgid!())]);
    expect(plainTokenPlaces(run, [ALICE])).toEqual([]);
  });

  it("runs no console without tokens, and the host agentctl has no fast path then", async () => {
    const run = await runProgram(dir, vps({}, false));
    expect(run.resources.some((r) => r.name.startsWith("fleet-console"))).toBe(false);
    expect(run.outputs.consoleUrl).toBeUndefined();
    expect(strings(run.byName("fleet-agentctl").inputs.stdin)[0]!.text).not.toContain("sock=");
  });

  it("refuses plain, misnamed or missing tokens by key path", async () => {
    await expect(runProgram(dir, vps({ tokens: { alice: ALICE } }, false))).rejects.toThrow(
      /agent-fleet:console\.tokens\.alice: must be stored as a secret, not in plain text; set it with `pulumi config set --secret --path 'console\.tokens\.alice' <token>`/,
    );
    await expect(runProgram(dir, vps({ tokens: { "bad name": ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.tokens\.bad name: is not a token name/,
    );
    await expect(runProgram(dir, vps({ port: 9000 }))).rejects.toThrow(
      /agent-fleet:console\.tokens: is required to run the console/,
    );
    await expect(runProgram(dir, vps({ port: 80, tokens: { alice: ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.port: must be at least 1024/,
    );
    await expect(runProgram(dir, vps({ prot: 9000, tokens: { alice: ALICE } }))).rejects.toThrow(
      /agent-fleet:console\.prot: unknown setting; did you mean "port"\?/,
    );
  });
});
