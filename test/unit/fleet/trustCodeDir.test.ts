import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "../program/tmp.js";
import { makeProject, runProgram } from "../program/harness.js";

afterAll(removeTempDirs);

/**
 * fleet/scripts/trust-code-dir.sh: on a host the fleet owns, the seed step adds the agent's
 * root-owned code folder (and nothing else) to the system gitconfig's safe.directory, so that the
 * operator's `git -C <dir> log` works without sudo.
 */
const repo = path.resolve(__dirname, "../../..");
const SCRIPT = path.join(repo, "fleet", "scripts", "trust-code-dir.sh");

function trust(dir: string, gitconfig: string) {
  return spawnSync("/bin/sh", [SCRIPT], {
    env: { PATH: process.env.PATH, AF_DIR: dir, AF_GITCONFIG: gitconfig },
    encoding: "utf8",
  });
}

function git(args: string[], gitconfig: string) {
  return spawnSync("git", args, {
    env: { PATH: process.env.PATH, HOME: tempDir("home-"), GIT_CONFIG_SYSTEM: gitconfig, GIT_CONFIG_NOSYSTEM: "" },
    encoding: "utf8",
  });
}

describe("trust-code-dir.sh", () => {
  it("adds exactly the folder, once, in a form git reads back (spaces, quotes, backslashes)", () => {
    const conf = path.join(tempDir("gitconfig-"), "gitconfig");
    const odd = '/srv/agent fleet/a"b\\c/agents/a1';
    for (const d of ["/srv/agent-fleet/agents/a1", odd, "/srv/agent-fleet/agents/a1"])
      expect(trust(d, conf).status).toBe(0);
    const r = git(["config", "--system", "--get-all", "safe.directory"], conf);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["/srv/agent-fleet/agents/a1", odd]);
    expect(fs.readFileSync(conf, "utf8")).not.toContain("*");
  });

  it("refuses a relative or multi-line path", () => {
    const conf = path.join(tempDir("gitconfig-"), "gitconfig");
    expect(trust("agents/a1", conf).status).not.toBe(0);
    expect(trust("/srv/a\n[core]\n\tfsmonitor = evil", conf).status).not.toBe(0);
    expect(fs.existsSync(conf)).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)("makes `git -C <dir> log` work for a user who does not own the folder", () => {
    const conf = path.join(tempDir("gitconfig-"), "gitconfig");
    const dir = tempDir("code-");
    for (const args of [
      ["init", "-q", dir],
      ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "seeded"],
    ]) {
      expect(git(args, conf).status).toBe(0);
    }
    // Owned by someone else than the (root) user running git: git's dubious-ownership case.
    spawnSync("chown", ["-R", "12345:12345", dir]);
    const before = git(["-C", dir, "log", "--oneline"], conf);
    expect(before.status).not.toBe(0);
    expect(before.stderr).toContain("dubious ownership");
    expect(trust(dir, conf).status).toBe(0);
    const after = git(["-C", dir, "log", "--oneline"], conf);
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toContain("seeded");
    // Only that folder: a sibling owned by someone else stays refused.
    const other = tempDir("code-");
    expect(git(["init", "-q", other], conf).status).toBe(0);
    spawnSync("chown", ["-R", "12345:12345", other]);
    expect(git(["-C", other, "log"], conf).stderr).toContain("dubious ownership");
  });

  it("is used on hosts the fleet owns only, never on the local machine", async () => {
    const dir = makeProject(["a1"]);
    const local = await runProgram(dir, { config: { target: "local", agents: [{ name: "a1" }] } });
    expect(String(local.byName("fleet-a1-code").inputs.create)).not.toContain("AF_TRUST=");
  });
});
