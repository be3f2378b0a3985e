import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  addEditTask,
  ctl,
  IS_ROOT,
  makeApp,
  makeWorld,
  RUNTIME_BIN,
  runtimeEnv,
  startAgent,
  task,
  tasks,
  tearDown,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

let w: World;
const running: RunningAgent[] = [];
afterEach(() => tearDown(running, w));

/** Run the runtime expecting it to refuse to start. */
function startFails(env: NodeJS.ProcessEnv, opts: { uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [RUNTIME_BIN], { env, encoding: "utf8", timeout: 60_000, ...opts });
  return { code: r.status, stderr: r.stderr };
}

describe("bad inputs: each a clear error, nothing lost", () => {
  it("malformed, truncated and misnamed task files go to failed/ with the reason and their bytes; the loop goes on", async () => {
    w = makeWorld();
    makeApp(w, "b1");
    const agent = startAgent(w, "b1");
    running.push(agent);
    await waitFor("agent up", () => agent.output().includes('"started"'));
    // Writers stage in tmp/ and rename, as the protocol says, but with bad content.
    const drop = (name: string, content: string) => {
      const tmp = path.join(w.shared, "tasks", "tmp", `.tmp-${name}`);
      fs.writeFileSync(tmp, content);
      fs.renameSync(tmp, path.join(w.shared, "tasks", "pending", name));
    };
    drop("5_t-261121-101010-abcdef_any_0.json", "{ this is not json");
    drop("5_t-261121-101011-bcdefg_any_0.json", '{"id": "t-261121-101011-bcdefg", "title": "cut o');
    drop("5_t-261121-101012-cdefgh_any_0.json", JSON.stringify({ id: "t-261121-101012-cdefgh" }));
    drop("hand-written.json", JSON.stringify({ title: "dropped by hand" }));
    const good = addEditTask(w, "after the bad ones", [{ write: { path: "good.txt", content: "g" } }]);
    await waitFor("good done", () => task(w, good).status === "done");
    const failed = await waitFor("4 failed", () => {
      const f = tasks(w, "failed");
      return f.length === 4 ? f : undefined;
    });
    const byId = new Map(failed.map((t) => [t.id, t]));
    expect(byId.get("t-261121-101010-abcdef")?.last_error).toMatch(/malformed JSON/);
    expect(byId.get("t-261121-101011-bcdefg")?.last_error).toMatch(/malformed JSON/);
    expect(byId.get("t-261121-101012-cdefgh")?.last_error).toMatch(/"title" is missing/);
    const hand = failed.find((t) => String(t.id).startsWith("bad-"));
    expect(hand?.last_error).toMatch(/not a queue file name/);
    // Nothing lost: the original bytes are kept.
    const kept = JSON.parse(
      fs.readFileSync(path.join(w.shared, "tasks", "failed", "t-261121-101011-bcdefg.json"), "utf8"),
    );
    expect(kept.raw).toBe('{"id": "t-261121-101011-bcdefg", "title": "cut o');
    expect(tasks(w, "pending")).toEqual([]);
  });

  it("an unknown APPROVAL_REQUIRED stops the runtime at start with an error naming it", () => {
    w = makeWorld();
    makeApp(w, "b2");
    for (const v of ["yes", "TRUE", "1", ""]) {
      const r = startFails(runtimeEnv(w, "b2", { APPROVAL_REQUIRED: v }));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/APPROVAL_REQUIRED/);
      expect(r.stderr).toMatch(/`true` or `false`/);
    }
    const bad = startFails(runtimeEnv(w, "b2", { AGENT_LEASE_SECONDS: "soon" }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/AGENT_LEASE_SECONDS must be a whole number/);
    const name = startFails(runtimeEnv(w, "b2", { AGENT_NAME: "Bad Name" }));
    expect(name.stderr).toMatch(/AGENT_NAME "Bad Name" is not valid/);
    const exclusive = startFails(runtimeEnv(w, "b2", { AGENT_EXCLUSIVE_RUN_AS: "yes" }));
    expect(exclusive.stderr).toMatch(/AGENT_EXCLUSIVE_RUN_AS must be exactly `true` or `false`, got "yes"/);
  });

  it("missing dirs: each a clear error naming the dir and its setting", () => {
    w = makeWorld();
    makeApp(w, "b3");
    const missing = path.join(w.dir, "nope");
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ AGENT_APP_DIR: missing }, /app dir .*nope does not exist \(set AGENT_APP_DIR\)/],
      [{ AGENT_SHARED_DIR: missing }, /shared dir .*nope does not exist/],
      [{ AGENT_DECISIONS_DIR: missing }, /decisions dir .*nope does not exist \(set AGENT_DECISIONS_DIR\)/],
      [{ AGENT_RUN_AS: "no-such-user-here" }, IS_ROOT ? /AGENT_RUN_AS=no-such-user-here: no such user/ : /./],
    ];
    for (const [extra, msg] of cases) {
      if (!IS_ROOT && extra.AGENT_RUN_AS) continue; // not root: nobody to switch to, the setting is unused
      const r = startFails(runtimeEnv(w, "b3", extra));
      expect(r.code, JSON.stringify(extra)).toBe(1);
      expect(r.stderr).toMatch(msg);
    }
    fs.writeFileSync(path.join(w.dir, "afile"), "");
    const notDir = startFails(runtimeEnv(w, "b3", { AGENT_APP_DIR: path.join(w.dir, "afile") }));
    expect(notDir.stderr).toMatch(/is not a directory/);
  });

  it("unwritable dirs: a clear error at start", () => {
    w = makeWorld();
    makeApp(w, "b4");
    // As an ordinary user (or as root running the runtime as nobody) these dirs are read-only.
    const ro = path.join(w.dir, "readonly-shared");
    fs.mkdirSync(ro, { mode: 0o555 });
    fs.chmodSync(ro, 0o555);
    const opts = IS_ROOT ? { uid: 65534, gid: 65534 } : {};
    const env = runtimeEnv(w, "b4", { AGENT_SHARED_DIR: ro });
    const r = startFails(env, opts);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot create .*readonly-shared.*|not writable/);
    // The app dir must be writable by the runtime too.
    const roApp = path.join(w.dir, "readonly-app");
    fs.mkdirSync(roApp);
    fs.writeFileSync(path.join(roApp, "agent.json"), "{}");
    fs.chmodSync(roApp, 0o555);
    const sharedOk = path.join(w.dir, "shared-for-nobody");
    fs.mkdirSync(sharedOk, { mode: 0o777 });
    fs.chmodSync(sharedOk, 0o777);
    const r2 = startFails({ ...runtimeEnv(w, "b4", { AGENT_APP_DIR: roApp, AGENT_SHARED_DIR: sharedOk }) }, opts);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/app dir .*readonly-app is not writable by the runtime/);
  });

  it("agentctl: bad arguments are usage errors that say what is wrong, and nothing is queued", () => {
    w = makeWorld();
    const cases: Array<[string[], RegExp]> = [
      [["task", "add", "--instructions", "x.md"], /needs --title/],
      [["task", "add", "--title", "t"], /needs --instructions FILE/],
      [
        ["task", "add", "--title", "t", "--description", "d", "--priority", "11"],
        /--priority must be a whole number from 0/,
      ],
      [
        ["task", "add", "--title", "t", "--description", "d", "--agent", "a", "--capability", "c"],
        /option '--agent <name>' cannot be used with option '--capability <name>'/,
      ],
      [
        ["task", "add", "--title", "t", "--description", "d", "--agent", "Not_Valid"],
        /--agent "Not_Valid" is not valid/,
      ],
      [["tasks", "--state", "finished"], /--state must be one of pending, claimed, done, failed/],
      [["proposals", "--state", "maybe"], /--state must be one of pending, approved/],
      [["approve", "nonsense"], /"nonsense" is not a proposal id/],
      [["retry", "nonsense"], /"nonsense" is not a task id/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["tasks", "--bogus"], /unknown option '--bogus'/],
      [["logs", "--lines", "many"], /--lines must be a whole number/],
      [["approve", "p-261121-101010-abcdef", "--sha256", "beef"], /--sha256 must be 64 hexadecimal digits/],
      [["task"], /Usage: agentctl task/],
    ];
    for (const [args, msg] of cases) {
      const r = ctl(w, args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const missing = ctl(w, ["task", "add", "--title", "t", "--instructions", "does-not-exist.md"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read --instructions does-not-exist.md: no such file/);
    const noProposal = ctl(w, ["approve", "p-261121-101010-abcdef"]);
    expect(noProposal.code).toBe(1);
    expect(noProposal.stderr).toMatch(/no proposal p-261121-101010-abcdef/);
    const noShared = ctl(w, ["tasks", "--shared", path.join(w.dir, "missing")]);
    expect(noShared.code).toBe(1);
    expect(noShared.stderr).toMatch(/shared dir .*missing does not exist/);
    expect(tasks(w)).toEqual([]);
  });
});
