import { afterAll, describe, expect, it } from "vitest";
import { makeProject, programOf, runProgram, strings, type ProgramRun, type StackConfig } from "./harness.js";
import { removeTempDirs } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * Notifications under mocks: the stack's `notify` sinks reach the console container as a secret
 * file (the stdin of a step that logs nothing) and its `--notify` argument; the SMTP password is
 * never plain in state; bad sinks are refused by key path.
 */

const ALICE = "alice-token-Zq81hX0vPL3mN7wR2eT5";
const PASSWORD = "smtp-pass-9f8e7d6c5b4a";
const HOOK = "https://hooks.example.com/services/T000/B000/XXXXXXXX";
const dir = makeProject(["a1"]);
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnotify-test-only-key\n-----END OPENSSH PRIVATE KEY-----\n";

const SINKS = [
  { on: ["proposal-pending", "agent-unhealthy"], webhook: HOOK },
  {
    on: ["task-failed", "budget-exceeded"],
    smtp: {
      host: "smtp.example.com",
      port: 587,
      from: "fleet@example.com",
      to: "ops@example.com",
      user: "fleet",
      password: PASSWORD,
    },
  },
  { on: ["conflict", "rolled-back"], command: ["/usr/local/bin/page-oncall", "--team", "agents"] },
];

function vps(notify: unknown, opts: { secret?: boolean; console?: boolean } = {}): StackConfig {
  return {
    config: {
      target: "vps",
      vps: { host: "192.0.2.10" },
      ssh: { allowedCidrs: ["198.51.100.7/32"], privateKey: PRIVATE_KEY },
      agents: [{ name: "a1" }],
      ...(opts.console === false ? {} : { console: { tokens: { alice: ALICE } } }),
      notify,
    },
    secretKeys: [
      "agent-fleet:ssh",
      ...(opts.console === false ? [] : ["agent-fleet:console"]),
      ...(opts.secret === false ? [] : ["agent-fleet:notify"]),
    ],
  };
}

function plainPlaces(run: ProgramRun, values: string[]): string[] {
  const places: string[] = [];
  for (const r of run.resources)
    for (const s of strings(r.inputs))
      for (const v of values) if (s.text.includes(v) && !s.secret) places.push(`${r.name}${s.path}`);
  for (const s of strings(run.outputs)) for (const v of values) if (s.text.includes(v)) places.push(`output${s.path}`);
  return places;
}

describe("notifications on a Docker host", () => {
  it("the sinks reach the console as a secret file and --notify; the password and the webhook are never plain", async () => {
    const run = await runProgram(dir, vps(SINKS));
    const step = run.byName("fleet-console-notify").inputs;
    expect(step.logging).toBe("none");
    const stdin = strings(step.stdin);
    expect(stdin).toHaveLength(1);
    expect(stdin[0]!.secret).toBe(true);
    const file = JSON.parse(stdin[0]!.text);
    expect(file).toEqual({
      fleet: "agent-fleet-test",
      sinks: [
        { on: ["proposal-pending", "agent-unhealthy"], webhook: HOOK },
        {
          on: ["task-failed", "budget-exceeded"],
          smtp: {
            host: "smtp.example.com",
            port: 587,
            from: "fleet@example.com",
            to: ["ops@example.com"],
            user: "fleet",
            password: PASSWORD,
          },
        },
        { on: ["conflict", "rolled-back"], command: ["/usr/local/bin/page-oncall", "--team", "agents"] },
      ],
    });
    const program = programOf(step.create as string);
    expect(program).toContain("AF_FILE=notify.json");
    expect(program).toContain("umask 077");
    expect(plainPlaces(run, [PASSWORD, HOOK])).toEqual([]);

    const console = run.byName("fleet-console").inputs;
    const spec = console.triggers[0];
    expect(spec.command.slice(-2)).toEqual(["--notify", "/run/console/notify.json"]);
    // The file sits in the console's read-only folder, next to the tokens.
    expect(spec.mounts).toContainEqual({ source: "/srv/agent-fleet/console", target: "/run/console", readOnly: true });
    // A changed sink is a new file and a new console (it reads the file at start).
    expect(console.triggers).toContain("fleet-console-notify-id");
  });

  it("without notify: no file, no --notify", async () => {
    const run = await runProgram(dir, vps([], { secret: false }));
    expect(run.resources.some((r) => r.name === "fleet-console-notify")).toBe(false);
    expect(run.byName("fleet-console").inputs.triggers[0].command).not.toContain("--notify");
  });

  it("refuses bad sinks by key path, a plain password, and notify without the console", async () => {
    await expect(runProgram(dir, vps(SINKS, { secret: false }))).rejects.toThrow(
      /agent-fleet:notify\[1\]\.smtp\.password: must be stored as a secret, not in plain text; set it with `pulumi config set --secret --path 'notify\[1\]\.smtp\.password' <password>`/,
    );
    const bad = [
      { on: ["proposal-pending", "deployed"], webhook: "ftp://example.com/x" },
      { on: ["task-failed"], webhook: HOOK, command: ["x"] },
      {
        on: [],
        smtp: {
          host: "smtp.example.com",
          port: 99999,
          from: "not an address",
          to: ["ops@example.com", "x"],
          user: "u",
        },
      },
      { on: ["conflict"], command: [] },
      { on: ["conflict"], sms: "+41" },
    ];
    const err = await runProgram(dir, vps(bad)).then(
      () => undefined,
      (e: Error) => e.message,
    );
    for (const line of [
      "agent-fleet:notify[0].on[1]: must be one of proposal-pending, task-failed, conflict, rolled-back, agent-unhealthy, budget-exceeded",
      "agent-fleet:notify[0].webhook: must be an http:// or https:// URL",
      "agent-fleet:notify[1]: needs exactly one of webhook, command, smtp",
      "agent-fleet:notify[2].on: must list events",
      "agent-fleet:notify[2].smtp.port: must be a port from 1 to 65535",
      "agent-fleet:notify[2].smtp.from: must be an e-mail address",
      "agent-fleet:notify[2].smtp.to[1]: must be an e-mail address",
      "agent-fleet:notify[2].smtp.password: user and password go together",
      "agent-fleet:notify[3].command: must be a list of 1 to 64 arguments",
      "agent-fleet:notify[4].sms: unknown setting",
    ])
      expect(err).toContain(line);
    await expect(runProgram(dir, vps(SINKS.slice(0, 1), { console: false }))).rejects.toThrow(
      /agent-fleet:notify: needs the review console, which delivers notifications/,
    );
  });

  it("is refused on Fargate for now, by key path", async () => {
    const fargate: StackConfig = {
      config: {
        target: "aws",
        aws: { region: "eu-central-1" },
        image: { ref: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/agents:1" },
        agents: [{ name: "a1" }],
        console: { tokens: { alice: ALICE } },
        notify: SINKS.slice(0, 1),
      },
      secretKeys: ["agent-fleet:console", "agent-fleet:notify"],
    };
    await expect(runProgram(dir, fargate)).rejects.toThrow(
      /agent-fleet:notify: notifications are not supported on target aws yet/,
    );
  });
});
