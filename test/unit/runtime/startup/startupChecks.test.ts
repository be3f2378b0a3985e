import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { StatusBoard } from "../../../../runtime/agent/statusBoard.js";
import {
  checkDirectories,
  prepareScratchDir,
  privilegeSeparation,
  StartupError,
} from "../../../../runtime/startup/startupChecks.js";
import { makeWorld, MemoryLog, tempDir } from "../fixtures.js";

describe("checkDirectories", () => {
  it("passes on existing dirs and leaves no probe file behind", () => {
    const w = makeWorld();
    checkDirectories(w.settings);
    expect(fs.readdirSync(w.app)).toEqual([]);
  });

  it("the write probe never follows a link: an approved symlink named like the probe leaves its target intact (issue 10 §3)", () => {
    const w = makeWorld();
    const target = path.join(w.root, "precious.txt");
    fs.writeFileSync(target, "keep me\n");
    for (const name of [".agent-runtime-probe-4242", ".agent-runtime-probe-4242-x"])
      fs.symlinkSync(target, path.join(w.app, name));
    checkDirectories(w.settings, 4242);
    expect(fs.readFileSync(target, "utf8")).toBe("keep me\n");
    expect(fs.readdirSync(w.app).sort()).toEqual([".agent-runtime-probe-4242", ".agent-runtime-probe-4242-x"]);
  });

  it("a missing or non-directory app or decisions dir is an error naming the dir and its setting", () => {
    const w = makeWorld();
    const missing = path.join(w.root, "nope");
    expect(() => checkDirectories({ ...w.settings, appDir: missing })).toThrow(
      new StartupError(`app dir ${missing} does not exist (set AGENT_APP_DIR)`),
    );
    expect(() => checkDirectories({ ...w.settings, decisionsDir: missing })).toThrow(
      /decisions dir .* does not exist \(set AGENT_DECISIONS_DIR\)/,
    );
    const file = path.join(w.root, "file");
    fs.writeFileSync(file, "");
    expect(() => checkDirectories({ ...w.settings, appDir: file })).toThrow(
      /app dir .* is not a directory \(AGENT_APP_DIR\)/,
    );
  });
  // An app dir the runtime cannot write: test/runtime/badInputs.test.ts starts the runtime as
  // nobody for that (root writes a 0555 dir anyway, so an in-process check here would prove nothing).
});

describe("privilegeSeparation", () => {
  it("as root: the AGENT_RUN_AS user, recorded in the status; a root AGENT_RUN_AS is refused", () => {
    const w = makeWorld();
    const board = new StatusBoard(w.layout, w.settings);
    const log = new MemoryLog();
    const runAs = privilegeSeparation({ runAs: "4711:4712" }, board, log, 0);
    expect(runAs).toEqual({ uid: 4711, gid: 4712, name: "4711:4712" });
    expect(board.status).toMatchObject({ privilege_separation: true, run_as: "4711:4712 (uid 4711, gid 4712)" });
    expect(log.events("privilege-separation")).toHaveLength(1);
    expect(() => privilegeSeparation({ runAs: "root" }, board, log, 0)).toThrow(/AGENT_RUN_AS=root is root/);
  });

  it("not root: nobody to switch to, and the runtime says so", () => {
    const w = makeWorld();
    const board = new StatusBoard(w.layout, w.settings);
    const log = new MemoryLog();
    expect(privilegeSeparation(w.settings, board, log, 1000)).toBeUndefined();
    expect(board.status.privilege_separation).toBe(false);
    expect(log.events("privilege-separation-off")[0]?.message).toMatch(/not root \(uid 1000\)/);
  });
});

describe("prepareScratchDir", () => {
  it("creates the scratch dir sticky and world-writable (like /tmp) when programs run as another user", () => {
    const dir = path.join(tempDir(), "a", "scratch");
    prepareScratchDir({ scratchDir: dir }, true);
    expect(fs.statSync(dir).mode & 0o1777).toBe(0o1777);
    fs.chmodSync(dir, 0o755);
    prepareScratchDir({ scratchDir: dir }, true);
    expect(fs.statSync(dir).mode & 0o1777).toBe(0o1777);
  });

  it("a scratch dir that cannot be created is an error naming AGENT_SCRATCH_DIR", () => {
    const file = path.join(tempDir(), "file");
    fs.writeFileSync(file, "");
    expect(() => prepareScratchDir({ scratchDir: path.join(file, "scratch") }, false)).toThrow(
      /scratch dir .* cannot be created: .* \(AGENT_SCRATCH_DIR\)/,
    );
  });
});
