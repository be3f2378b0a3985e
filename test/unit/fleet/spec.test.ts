import { DEFAULT_RESOURCES, DEFAULT_NETWORK } from "../../../config/defaults.js";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, quote } from "shell-quote";
import { afterAll, describe, expect, it } from "vitest";
import { containerSpec, dockerRunArgs, dockerRunCommand, type AgentContainerSettings } from "../../../fleet/spec.js";
import { runtimeEnvironment } from "../../../contract/env.js";

function settings(over: Partial<AgentContainerSettings> = {}): AgentContainerSettings {
  return {
    name: "agent-1",
    fleet: "prod",
    image: "agent-fleet/agent:1.0",
    hostRoot: "/srv/agent-fleet",
    approvalRequired: true,
    capabilities: ["python", "docs"],
    env: { LOG_LEVEL: "info", ZED: "last", ALPHA: "first" },
    hasSecrets: true,
    resources: { ...DEFAULT_RESOURCES },
    network: DEFAULT_NETWORK,
    ...over,
  };
}

/** Paths (a.b[2].c) where two JSON-like values differ. */
function differences(a: unknown, b: unknown, at = ""): string[] {
  if (Object.is(a, b)) return [];
  if (
    typeof a !== "object" ||
    typeof b !== "object" ||
    a === null ||
    b === null ||
    Array.isArray(a) !== Array.isArray(b)
  ) {
    return [at || "(root)"];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    differences(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k,
    ),
  );
}

/** Option tokens of a docker run argv (everything before the image, every option takes one value). */
function options(args: string[]): Array<[string, string]> {
  expect(args[0]).toBe("run");
  const pairs: Array<[string, string]> = [];
  let i = 1;
  while (i < args.length - 1) {
    const opt = args[i]!;
    if (opt === "--detach" || opt === "--read-only") {
      pairs.push([opt, ""]);
      i += 1;
    } else {
      expect(opt.startsWith("--"), `argv[${i}] = ${opt} should be an option`).toBe(true);
      pairs.push([opt, args[i + 1]!]);
      i += 2;
    }
  }
  expect(i).toBe(args.length - 1); // the last token is the image
  return pairs;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "spec-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for docker that prints the argv it received, NUL-separated. */
const argvPrinter = path.join(tmp, "print-argv");
writeFileSync(argvPrinter, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n');
chmodSync(argvPrinter, 0o755);

const NASTY_VALUES = [
  "two words",
  "new\nline",
  "tab\there",
  "$HOME",
  "$(id)",
  "`id`",
  "it's",
  '"double"',
  "*",
  "?",
  "[a]",
  "a;b",
  "a|b",
  "a&b",
  "a>b",
  "#hash",
  "~",
  "{a,b}",
  "back\\slash",
  "-p 80:80",
  "--privileged",
  "é ü ∆",
  "",
];

describe("containerSpec", () => {
  it("is deterministic, with env and labels sorted by key", () => {
    const a = containerSpec(settings());
    const b = containerSpec(settings({ capabilities: ["docs", "python"] }));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const keys = Object.keys(a.env);
    expect(keys).toEqual([...keys].sort());
    expect(Object.keys(a.labels)).toEqual([...Object.keys(a.labels)].sort());
    expect(a.env.AGENT_CAPABILITIES).toBe("docs,python");
  });

  it("flipping approvalRequired changes only APPROVAL_REQUIRED", () => {
    const on = containerSpec(settings({ approvalRequired: true }));
    const off = containerSpec(settings({ approvalRequired: false }));
    expect(differences(on, off)).toEqual(["env.APPROVAL_REQUIRED"]);
    expect(on.env.APPROVAL_REQUIRED).toBe("true");
    expect(off.env.APPROVAL_REQUIRED).toBe("false");
    // ...and the docker run argv differs in exactly that one token.
    const [a, b] = [dockerRunArgs(on), dockerRunArgs(off)];
    expect(a.length).toBe(b.length);
    const changed = a.map((t, i) => [t, b[i]]).filter(([x, y]) => x !== y);
    expect(changed).toEqual([["APPROVAL_REQUIRED=true", "APPROVAL_REQUIRED=false"]]);
  });

  it("another agent's spec is unaffected by this agent's settings", () => {
    const other = settings({ name: "agent-2" });
    expect(containerSpec(other)).toEqual(containerSpec({ ...other }));
    expect(
      differences(
        containerSpec(settings({ approvalRequired: false })),
        containerSpec(settings({ name: "agent-2", approvalRequired: false })),
      ),
    ).toEqual(["name", "hostname", "env.AGENT_NAME", "envFile", "mounts[0].source", "labels.agent-fleet.agent"]);
  });

  it("the runtime's variables win over the agent's own env (an agent cannot set its approval mode)", () => {
    const s = settings({
      approvalRequired: true,
      env: {
        APPROVAL_REQUIRED: "false",
        AGENT_NAME: "someone-else",
        AGENT_DECISIONS_DIR: "/shared",
        AGENT_APP_DIR: "/tmp",
      },
    });
    const env = containerSpec(s).env;
    expect(env.APPROVAL_REQUIRED).toBe("true");
    expect(env.AGENT_NAME).toBe("agent-1");
    expect(env.AGENT_DECISIONS_DIR).toBe("/decisions");
    expect(env.AGENT_APP_DIR).toBe("/app");
    expect(env).toEqual(runtimeEnvironment(s));
  });

  it("mounts code at /app, shared at /shared and decisions read-only; secrets only as an env-file", () => {
    const spec = containerSpec(settings({ hostRoot: "/srv/agent-fleet/" }));
    expect(spec.mounts).toEqual([
      { source: "/srv/agent-fleet/agents/agent-1", target: "/app", readOnly: false },
      { source: "/srv/agent-fleet/shared", target: "/shared", readOnly: false },
      { source: "/srv/agent-fleet/decisions", target: "/decisions", readOnly: true },
    ]);
    expect(spec.envFile).toBe("/srv/agent-fleet/secrets/agent-1.env");
    expect(containerSpec(settings({ hasSecrets: false })).envFile).toBeUndefined();
    expect(spec.user).toBe("root");
    expect(spec.readOnlyRootFs).toBe(true);
    expect(spec.capDrop).toEqual(["ALL"]);
    expect(spec.capAdd).toEqual(["KILL", "SETGID", "SETUID"]);
    expect(spec.securityOpt).toContain("no-new-privileges");
    expect(spec.restart).toBe("unless-stopped");
  });

  it("rejects a relative host root", () => {
    expect(() => containerSpec(settings({ hostRoot: "srv/agent-fleet" }))).toThrow(/absolute path.*srv\/agent-fleet/);
  });
});

describe("dockerRunArgs", () => {
  const variants: AgentContainerSettings[] = [
    settings(),
    settings({ hasSecrets: false, approvalRequired: false, capabilities: [] }),
    settings({ env: Object.fromEntries(NASTY_VALUES.map((v, i) => [`V${i}`, v])), taskTimeoutSeconds: 90 }),
    settings({ hostRoot: "/srv/with space/it's", resources: { cpus: 0.5, memoryMb: 256, pids: 64 } }),
  ];

  it("never publishes a port, never mounts a Docker socket, never widens privileges", () => {
    for (const s of variants) {
      const args = dockerRunArgs(containerSpec(s));
      const opts = options(args);
      const names = new Set(opts.map(([o]) => o));
      const allowed = new Set([
        "--detach",
        "--name",
        "--hostname",
        "--user",
        "--env",
        "--env-file",
        "--mount",
        "--tmpfs",
        "--read-only",
        "--cap-drop",
        "--cap-add",
        "--security-opt",
        "--cpus",
        "--memory",
        "--memory-swap",
        "--pids-limit",
        "--log-driver",
        "--log-opt",
        "--restart",
        "--label",
        "--network",
      ]);
      for (const n of names) expect(allowed, `unexpected option ${n}`).toContain(n);
      // --network only ever as "none" (no flag at all is the engine's default bridge: network full).
      for (const [opt, value] of opts) if (opt === "--network") expect(value).toBe("none");
      for (const forbidden of [
        "-p",
        "--publish",
        "-P",
        "--publish-all",
        "--privileged",
        "--pid",
        "--ipc",
        "--volume",
        "-v",
        "--device",
        "--userns",
      ]) {
        expect(names.has(forbidden)).toBe(false);
      }
      for (const [opt, value] of opts) {
        if (opt === "--mount") {
          expect(value).not.toMatch(/docker\.sock|containerd|\/var\/run|\/run\//);
          expect(value).toMatch(/^type=bind,source=\/.*,target=\/(app|shared|decisions)(,readonly)?$/);
        }
        if (opt === "--cap-add") expect(["KILL", "SETGID", "SETUID"]).toContain(value);
      }
      expect(opts).toContainEqual(["--cap-drop", "ALL"]);
      expect(opts).toContainEqual(["--security-opt", "no-new-privileges"]);
      expect(opts).toContainEqual(["--read-only", ""]);
      expect(opts).toContainEqual(["--restart", "unless-stopped"]);
      expect(opts).toContainEqual(["--log-driver", "json-file"]);
      expect(
        opts
          .filter(([o]) => o === "--log-opt")
          .map(([, v]) => v)
          .sort(),
      ).toEqual(["max-file=3", "max-size=10m"]);
      expect(opts.find(([o]) => o === "--memory")![1]).toBe(`${s.resources.memoryMb}m`);
      expect(opts.find(([o]) => o === "--memory-swap")![1]).toBe(`${s.resources.memoryMb}m`);
      expect(opts.find(([o]) => o === "--pids-limit")![1]).toBe(String(s.resources.pids));
      expect(opts.find(([o]) => o === "--cpus")![1]).toBe(String(s.resources.cpus));
      const tmpfs = opts.filter(([o]) => o === "--tmpfs").map(([, v]) => v);
      expect(tmpfs.find((t) => t.startsWith("/tmp:"))).toMatch(/noexec/);
      expect(tmpfs.find((t) => t.startsWith("/scratch:"))).toMatch(/nosuid/);
      const decisions = opts.find(([o, v]) => o === "--mount" && v.includes("target=/decisions"))!;
      expect(decisions[1].endsWith(",readonly")).toBe(true);
      expect(args.at(-1)).toBe(s.image);
    }
  });

  it("passes secrets only by --env-file: never as --env or anywhere else on the command line", () => {
    const spec = containerSpec(settings());
    const opts = options(dockerRunArgs(spec));
    expect(opts.filter(([o]) => o === "--env-file")).toEqual([["--env-file", "/srv/agent-fleet/secrets/agent-1.env"]]);
    const envKeys = opts.filter(([o]) => o === "--env").map(([, v]) => v.split("=")[0]);
    expect(envKeys.sort()).toEqual(Object.keys(spec.env).sort());
    expect(
      options(dockerRunArgs(containerSpec(settings({ hasSecrets: false })))).some(([o]) => o === "--env-file"),
    ).toBe(false);
  });

  it("dockerRunCommand round-trips through shell-quote's parse", () => {
    // shell-quote's parse turns an escaped glob (\*) back into a glob object, although sh reads
    // it as a literal: values with glob characters are covered by the real-shell test below.
    const plain = NASTY_VALUES.filter((v) => !/[*?[]/.test(v));
    const spec = containerSpec(
      settings({ env: Object.fromEntries(plain.map((v, i) => [`V${i}`, v])), hostRoot: "/srv/a b" }),
    );
    const parsed = parse(dockerRunCommand(spec, "/usr/bin/docker"));
    expect(parsed).toEqual(["/usr/bin/docker", ...dockerRunArgs(spec)]);
  });

  it("dockerRunCommand gives a real sh exactly the argv of dockerRunArgs", () => {
    for (const s of variants) {
      const spec = containerSpec(s);
      for (const shell of ["sh", "bash"]) {
        const out = execFileSync(shell, ["-c", dockerRunCommand(spec, argvPrinter)], { encoding: "utf8" });
        expect(out.split("\0").slice(0, -1)).toEqual(dockerRunArgs(spec));
      }
    }
    // The quoting is shell-quote's, not hand-made.
    const spec = containerSpec(settings());
    expect(dockerRunCommand(spec)).toBe(quote(["docker", ...dockerRunArgs(spec)]));
  });
});

describe("coordinators", () => {
  it("canCreateTasks: true sets AGENT_CAN_CREATE_TASKS=true; off or absent leaves the environment as it was", () => {
    const plain = containerSpec(settings()).env;
    expect(plain.AGENT_CAN_CREATE_TASKS).toBeUndefined();
    expect(containerSpec(settings({ canCreateTasks: false })).env).toEqual(plain);
    const coord = containerSpec(settings({ canCreateTasks: true })).env;
    expect(coord.AGENT_CAN_CREATE_TASKS).toBe("true");
    expect(differences(plain, coord)).toEqual(["AGENT_CAN_CREATE_TASKS"]);
    expect(
      runtimeEnvironment({ name: "c", approvalRequired: true, capabilities: [], env: {}, canCreateTasks: true }),
    ).toHaveProperty("AGENT_CAN_CREATE_TASKS", "true");
  });
});
