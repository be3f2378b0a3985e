import * as crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { buildProgram, main, type Io } from "../../../runtime/agentctl/program.js";
import { readDecision } from "../../../runtime/proposals/decision.js";
import { gitPatch, operatorWorld, writeProposal, type OperatorWorld } from "../operator/fixtures.js";

let w: OperatorWorld;
afterEach(() => w?.cleanup());

interface Run {
  code: number;
  out: string;
  err: string;
}

/** agentctl in-process, with its own output buffers and environment. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}, stdin = ""): Promise<Run> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    env: { AGENTCTL_USER: "tester", ...env },
    readStdin: () => Buffer.from(stdin),
  };
  const code = await main(argv, io);
  return { code, out, err };
}

const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
const PATCH = "diff --git a/hello.txt b/hello.txt\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello\n";
/* eslint-disable no-control-regex -- control characters are exactly what this test looks for */
const TERMINAL_HAZARD = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/* eslint-enable no-control-regex */

describe("agentctl: commander front end", () => {
  it("global options are accepted before or after the command (and between `task` and `add`)", async () => {
    w = operatorWorld();
    const add = await run([
      "--shared",
      w.shared,
      "task",
      "--json",
      "add",
      "--title",
      "t",
      "--description",
      "d",
      "--by",
      "alice",
    ]);
    expect(add.code, add.err).toBe(0);
    expect(JSON.parse(add.out)).toMatchObject({ title: "t", created_by: "alice" });
    for (const argv of [
      ["--shared", w.shared, "tasks"],
      ["tasks", "--shared", w.shared],
      ["--json", "tasks", `--shared=${w.shared}`],
    ]) {
      const r = await run(argv);
      expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(0);
      expect(r.out).toContain("t-");
    }
    // The environment is the fallback for --shared.
    expect((await run(["tasks"], { AGENT_SHARED_DIR: w.shared })).code).toBe(0);
  });

  it("unknown options, unknown commands, bad values and missing arguments exit 2 with a message naming the problem", async () => {
    w = operatorWorld();
    const cases: Array<[string[], RegExp]> = [
      [["tasks", "--bogus"], /unknown option '--bogus'/],
      [["--bogus", "tasks"], /unknown option '--bogus'/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [
        ["task", "add", "--title", "t", "--description", "d", "--priority", "x"],
        /--priority must be a whole number from 0 \(lowest\) to 9/,
      ],
      [
        ["task", "add", "--title", "t", "--description", "d", "--max-attempts", "0"],
        /--max-attempts must be a whole number from 1 to 100/,
      ],
      [["logs", "--lines", "-3"], /--lines must be a whole number/],
      [["tasks", "--state", "finished"], /--state must be one of pending, claimed, done, failed/],
      [["diff"], /missing required argument 'id'/],
      [["diff", "p-261129-101010-abcdef", "extra"], /too many arguments/],
      [["approve", "p-261129-101010-abcdef", "--sha256", "xyz"], /--sha256 must be 64 hexadecimal digits/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(["--shared", w.shared, ...argv]);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toMatch(msg);
    }
    expect((await run([])).code).toBe(2);
  });

  it("--help works on every command and subcommand, exits 0, and documents every option (tasks --agent too)", async () => {
    const io: Io = { out: () => undefined, err: () => undefined, env: {}, readStdin: () => Buffer.alloc(0) };
    const paths: string[][] = [];
    const walk = (cmd: Command, prefix: string[]) => {
      for (const sub of cmd.commands) {
        if (sub.name() === "help") continue;
        paths.push([...prefix, sub.name()]);
        walk(sub, [...prefix, sub.name()]);
      }
    };
    const program = buildProgram(io);
    walk(program, []);
    expect(paths.map((p) => p.join(" "))).toEqual(
      expect.arrayContaining([
        "task add",
        "task show",
        "tasks",
        "status",
        "health",
        "proposals",
        "diff",
        "approve",
        "reject",
        "logs",
      ]),
    );
    for (const p of [[], ...paths]) {
      const r = await run([...p, "--help"]);
      expect(r.code, p.join(" ")).toBe(0);
      expect(r.out, p.join(" ")).toContain(`Usage: agentctl${p.length ? " " + p.join(" ") : ""}`);
      expect(r.out, p.join(" ")).toContain("--shared <dir>");
      const cmd = p.reduce((c: Command, n) => c.commands.find((s) => s.name() === n)!, program);
      for (const o of cmd.options) expect(r.out, `${p.join(" ")} ${o.long}`).toContain(o.long!);
    }
    expect((await run(["tasks", "--help"])).out).toMatch(/--agent <name>\s+only tasks for or claimed by this agent/);
    expect((await run(["help", "approve"])).out).toContain("--sha256 <hex>");
  });

  it("diff prints the patch's sha256; approve --sha256 refuses a mismatch (exit 1, nothing written) and records the hash it approved", async () => {
    w = operatorWorld();
    const p = writeProposal(w, PATCH);
    const g = ["--shared", w.shared, "--decisions", w.decisions];
    const diff = await run([...g, "diff", p.id]);
    expect(diff.code, diff.err).toBe(0);
    expect(diff.out).toContain(`# sha256 ${sha(PATCH)}`);
    expect(diff.out.endsWith(PATCH)).toBe(true);
    const wrong = await run([...g, "approve", p.id, "--sha256", sha("other")]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(new RegExp(`the patch's sha256 is ${sha(PATCH)}, not ${sha("other")}`));
    expect(readDecision(w.decisions, p.id)).toEqual({ kind: "none" });
    const ok = await run([...g, "approve", p.id, "--sha256", sha(PATCH), "--note", "fine", "--json"]);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      proposal: p.id,
      decision: "approve",
      by: "tester",
      note: "fine",
      sha256: sha(PATCH),
    });
    const again = await run([...g, "approve", p.id]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already has a decision \(approve by tester/);
    // Without --sha256, approve records the patch's current hash.
    const q = writeProposal(w, PATCH + "+more\n");
    expect((await run([...g, "approve", q.id])).out).toContain(`sha256 ${sha(PATCH + "+more\n")}`);
    expect(readDecision(w.decisions, q.id)).toMatchObject({ decision: { sha256: sha(PATCH + "+more\n") } });
    const noReason = await run([...g, "reject", writeProposal(w, PATCH).id]);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toMatch(/reject needs --reason/);
  });

  it("diff and proposals show binary files and symlinks loudly, with sizes and escaped link targets", async () => {
    w = operatorWorld();
    const g = ["--shared", w.shared, "--decisions", w.decisions];
    const bin = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const patch = gitPatch({ "a.txt": "a\n" }, (d) => {
      fs.writeFileSync(path.join(d, "logo.bin"), bin);
      fs.symlinkSync("docs/\x1b[2K\u202eevil", path.join(d, "latest"));
      fs.writeFileSync(path.join(d, "a.txt"), "a\nb\n");
    });
    const p = writeProposal(w, patch, {
      special_files: [
        { path: "latest", kind: "symlink", bytes: 13, target: "docs/\x1b[2K\u202eevil" },
        { path: "logo.bin", kind: "binary", bytes: 3000 },
      ],
    });
    const plain = writeProposal(w, PATCH);
    const diff = await run([...g, "diff", p.id]);
    expect(diff.code, diff.err).toBe(0);
    expect(TERMINAL_HAZARD.test(diff.out)).toBe(false);
    const header = diff.out.slice(0, diff.out.indexOf("diff --git"));
    expect(header).toContain("# WARNING: this change writes 1 BINARY file(s) and 1 SYMLINK(s)");
    expect(header).toContain('#   BINARY  "logo.bin": 3000 bytes');
    expect(header).toContain('#   SYMLINK "latest" -> "docs/\\x1b[2K[BIDI U+202E RLO]evil"');
    expect(diff.err).toMatch(new RegExp(`WARNING: proposal ${p.id} writes 2 binary file\\(s\\) or symlink\\(s\\)`));
    expect(JSON.parse((await run([...g, "diff", p.id, "--json"])).out).special).toHaveLength(2);
    // A text-only patch: no such warning.
    const quiet = await run([...g, "diff", plain.id]);
    expect(quiet.out).not.toContain("BINARY");
    expect(quiet.err).toBe("");

    const list = await run([...g, "proposals"]);
    expect(list.code, list.err).toBe(0);
    const row = list.out.split("\n").find((l) => l.startsWith(p.id))!;
    expect(row).toContain("[1 BINARY, 1 SYMLINK]");
    expect(list.out.split("\n").find((l) => l.startsWith(plain.id))).not.toContain("[");
    expect(list.err).toMatch(new RegExp(`WARNING: 1 proposal\\(s\\) write binary files or symlinks .*: ${p.id}`));
  });

  it("agent-controlled text is escaped in diff, proposals, tasks, task show, status, logs and errors; bidi controls are flagged", async () => {
    w = operatorWorld();
    const g = ["--shared", w.shared, "--decisions", w.decisions];
    const evil = "fix\x1b[1A\x1b[2K\rtypo \u202edaolnwod\u202c \x1b]52;c;ZXZpbA==\x07\u009b31m";
    const hostilePatch = `diff --git a/a b/a\n+ok\n+\x1b[1A\x1b[2K+harmless\r\n+\u2066if admin\u2069\n+\xff`;
    const p = writeProposal(w, Buffer.concat([Buffer.from(hostilePatch), Buffer.from([0xff, 0x0a])]), {
      task_title: evil,
      agent: "agent-1",
    });
    expect((await run([...g, "task", "add", "--title", evil, "--description", evil])).code).toBe(0);
    const status = path.join(w.shared, "agents", "agent-1", "status.json");
    fs.mkdirSync(path.dirname(status), { recursive: true });
    fs.writeFileSync(
      status,
      JSON.stringify({
        agent: "agent-1",
        state: "running",
        heartbeat_at: new Date().toISOString(),
        lease_seconds: 30,
        last_error: evil,
        current_task: null,
        approval_required: true,
        tasks_done: 0,
        tasks_failed: 0,
      }),
    );
    fs.mkdirSync(path.join(w.shared, "logs"), { recursive: true });
    fs.writeFileSync(
      path.join(w.shared, "logs", "agent-1.jsonl"),
      JSON.stringify({
        time: "2026-01-01T00:00:00Z",
        agent: "agent-1",
        level: "info",
        event: "program-output",
        line: evil,
      }) +
        "\n" +
        evil +
        "\n",
    );

    for (const argv of [["diff", p.id], ["proposals"], ["tasks"], ["status"], ["logs"]]) {
      const r = await run([...g, ...argv]);
      expect(r.code, `${argv[0]}: ${r.err}`).toBe(0);
      expect(TERMINAL_HAZARD.test(r.out), `${argv[0]} stdout: ${JSON.stringify(r.out)}`).toBe(false);
      expect(r.out, argv[0]).toContain("[BIDI U+202E RLO]");
      expect(r.err, argv[0]).toMatch(/WARNING: \d+ bidirectional control character/);
    }
    const diff = (await run([...g, "diff", p.id])).out;
    expect(diff).toContain("+\\x1b[1A\\x1b[2K+harmless\\r\n");
    expect(diff).toContain("+[BIDI U+2066 LRI]if admin[BIDI U+2069 PDI]");
    expect(diff).toContain("\\xff");
    expect(diff).toMatch(/# WARNING: 4 bidirectional control character/); // two in the title, two in the patch
    // JSON output: the same values, every hazard as a \u escape.
    for (const argv of [
      ["tasks", "--json"],
      ["proposals", "--json"],
      ["status", "--json"],
      ["diff", p.id, "--json"],
      ["logs", "--json"],
    ]) {
      const r = await run([...g, ...argv]);
      expect(r.code, argv[0]).toBe(0);
      expect(TERMINAL_HAZARD.test(r.out), `${argv[0]} --json`).toBe(false);
      expect(r.out).toContain("\\u202e");
    }
    const tasks = JSON.parse((await run([...g, "tasks", "--json"])).out) as Array<{ id: string; title: string }>;
    expect(tasks[0]!.title).toBe(evil);
    const show = await run([...g, "task", "show", tasks[0]!.id]);
    expect(TERMINAL_HAZARD.test(show.out)).toBe(false);
    expect(JSON.parse(show.out).title).toBe(evil);
    // An error message quoting hostile input is escaped too.
    const err = await run([...g, "tasks", `--bogus\x1b[2K`]);
    expect(err.code).toBe(2);
    expect(TERMINAL_HAZARD.test(err.err)).toBe(false);
    expect(err.err).toContain("--bogus\\x1b[2K");
  });

  it("importing the module does no work; the bin file runs main (real processes, through tsx)", () => {
    const root = path.resolve(__dirname, "../../..");
    const node = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: root, encoding: "utf8" });
    const imported = node(["-e", `require("./runtime/agentctl/program.ts"); process.stdout.write("imported")`]);
    expect(imported.stdout + imported.stderr).toBe("imported");
    const help = node(["runtime/bin/agentctl.ts", "status", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage: agentctl status");
    const bad = node(["runtime/bin/agentctl.ts", "status", "--nope"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown option '--nope'");
  }, 120_000);
});
