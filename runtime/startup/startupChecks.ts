import * as fs from "node:fs";
import * as path from "node:path";
import { randomHex } from "../ids.js";
import type { AgentLogger } from "../log.js";
import { resolveRunAs, type RunAs } from "../sandbox.js";
import type { RuntimeSettings } from "../settings.js";
import type { StatusBoard } from "../agent/statusBoard.js";

/** A directory or setting that keeps the runtime from starting; the message names it. */
export class StartupError extends Error {}

/** The app and decisions dirs exist, the decisions dir is readable and the app dir writable. */
export function checkDirectories(s: Pick<RuntimeSettings, "appDir" | "decisionsDir">, pid = process.pid): void {
  for (const [what, dir, env] of [
    ["app dir", s.appDir, "AGENT_APP_DIR"],
    ["decisions dir", s.decisionsDir, "AGENT_DECISIONS_DIR"],
  ] as const) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new StartupError(`${what} ${dir} does not exist (set ${env})`);
    }
    if (!st.isDirectory()) throw new StartupError(`${what} ${dir} is not a directory (${env})`);
  }
  try {
    fs.readdirSync(s.decisionsDir);
  } catch (err) {
    throw new StartupError(`decisions dir ${s.decisionsDir} is not readable: ${(err as Error).message}`);
  }
  // A fresh random name, created exclusively and never through a link: an approved change may
  // have put a symlink named like an earlier probe into /app, and root writing through it would
  // empty the link's target.
  const probe = path.join(s.appDir, `.agent-runtime-probe-${pid}-${randomHex(12)}`);
  try {
    const c = fs.constants;
    fs.closeSync(fs.openSync(probe, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o600));
    fs.unlinkSync(probe);
  } catch (err) {
    throw new StartupError(`app dir ${s.appDir} is not writable by the runtime: ${(err as Error).message}`);
  }
}

/**
 * As root, agent programs run as the AGENT_RUN_AS user (returned); otherwise there is nobody to
 * switch to and the runtime says so. Recorded in the status either way.
 */
export function privilegeSeparation(
  s: Pick<RuntimeSettings, "runAs">,
  board: StatusBoard,
  log: AgentLogger,
  uid = process.getuid?.(),
): RunAs | undefined {
  if (uid === 0) {
    const runAs = resolveRunAs(s.runAs);
    board.status.privilege_separation = true;
    board.status.run_as = `${runAs.name} (uid ${runAs.uid}, gid ${runAs.gid})`;
    log.info("privilege-separation", { run_as: runAs.name, uid: runAs.uid, gid: runAs.gid });
    return runAs;
  }
  log.warn("privilege-separation-off", {
    message: `the runtime is not root (uid ${uid}): agent programs run as this same user, so they could write the app dir and the shared state`,
  });
  return undefined;
}

/** The scratch dir exists, world-writable and sticky (like /tmp) when programs run as another user. */
export function prepareScratchDir(s: Pick<RuntimeSettings, "scratchDir">, separated: boolean): void {
  try {
    fs.mkdirSync(s.scratchDir, { recursive: true, mode: 0o1777 });
    if (separated && (fs.statSync(s.scratchDir).mode & 0o1777) !== 0o1777) fs.chmodSync(s.scratchDir, 0o1777);
  } catch (err) {
    throw new StartupError(
      `scratch dir ${s.scratchDir} cannot be created: ${(err as Error).message} (AGENT_SCRATCH_DIR)`,
    );
  }
}
