import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentctlWrapperScript } from "../../fleet/agentctlWrapper.js";
import { startConsole, type RunningConsole } from "./consoleHelpers.js";
import {
  addEditTask,
  ctl,
  makeApp,
  makeWorld,
  proposals,
  startAgent,
  tearDown,
  trailers,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

/**
 * The host agentctl's fast path: the installed wrapper script (fleet/agentctlWrapper.ts) talking to
 * `agentctl serve --operator-socket` (a real process on a temp fleet), compared with agentctl run
 * directly. A stand-in `docker` on PATH records whether the slow path (a container) was taken.
 */

const running: RunningAgent[] = [];
let w: World | undefined;
let c: RunningConsole | undefined;

afterEach(async () => {
  await c?.stop();
  c = undefined;
  await tearDown(running, w);
  w = undefined;
});

interface Host {
  w: World;
  wrapper: string;
  sock: string;
  dockerLog: string;
  run(
    args: string[],
    env?: Record<string, string>,
  ): { code: number | null; stdout: string; stderr: string; docker: boolean };
}

async function host(opts: { agent?: boolean; socket?: boolean } = {}): Promise<Host> {
  w = makeWorld();
  makeApp(w, "a1");
  if (opts.agent) running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
  const sock = path.join(w.dir, "run", "agentctl.sock");
  fs.mkdirSync(path.dirname(sock), { mode: 0o755 });
  if (opts.socket !== false) c = await startConsole(w, ["--operator-socket", sock]);
  const bin = path.join(w.dir, "bin");
  fs.mkdirSync(bin);
  const dockerLog = path.join(w.dir, "docker-calls");
  // The slow path's docker: records the call and fails the way an absent engine would.
  fs.writeFileSync(
    path.join(bin, "docker"),
    `#!/bin/sh\necho "$*" >>'${dockerLog}'\necho "docker stand-in" >&2\nexit 125\n`,
    { mode: 0o755 },
  );
  const wrapper = path.join(bin, "agentctl");
  fs.writeFileSync(wrapper, agentctlWrapperScript({ image: "test/agent:1", hostRoot: w.dir, socket: sock }), {
    mode: 0o755,
  });
  const world = w;
  return {
    w: world,
    wrapper,
    sock,
    dockerLog,
    run(args, env = {}) {
      const before = fs.existsSync(dockerLog) ? fs.readFileSync(dockerLog, "utf8") : "";
      const r = spawnSync(wrapper, args, {
        cwd: world.dir,
        env: { PATH: `${bin}:${process.env.PATH}`, AGENTCTL_USER: "tester", ...env },
        encoding: "utf8",
      });
      const after = fs.existsSync(dockerLog) ? fs.readFileSync(dockerLog, "utf8") : "";
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, docker: after !== before };
    },
  };
}

describe("host agentctl through the operator socket", () => {
  it("answers with the same output and exit code as agentctl itself, without a container", async () => {
    const h = await host();
    addEditTask(h.w, "First <b>task</b> \u001b[31mred", [{ write: { path: "a.txt", content: "a\n" } }]);
    addEditTask(h.w, "Second", [{ write: { path: "b.txt", content: "b\n" } }], ["--priority", "9"]);
    const cases = [
      ["status"],
      ["tasks"],
      ["--json", "tasks"],
      ["tasks", "--state", "pending"],
      ["proposals", "--state", "pending"],
      ["logs", "--lines", "5"],
      ["tasks", "--state", "bogus"],
      ["approve", "p-261121-103134-k3f9xa"],
      ["no-such-command"],
      ["--help"],
      [],
    ];
    for (const args of cases) {
      const direct = ctl(h.w, args);
      const fast = h.run(args);
      expect({ args, code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({
        args,
        code: direct.code,
        stdout: direct.stdout,
        stderr: direct.stderr,
      });
      expect(fast.docker, `agentctl ${args.join(" ")} started a container`).toBe(false);
    }
    expect(fs.statSync(h.sock).mode & 0o777).toBe(0o600);
  });

  it("an approval through the socket is the operator's: decision by, and Approved-By in the commit", async () => {
    const h = await host({ agent: true });
    const taskId = addEditTask(h.w, "Write hello", [{ write: { path: "hello.txt", content: "hello\n" } }]);
    const p = await waitFor("a pending proposal", () => proposals(h.w, "pending").find((x) => x.task_id === taskId));
    const r = h.run(["approve", p.id], { AGENTCTL_USER: "", SUDO_USER: "carol" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.docker).toBe(false);
    await waitFor("the approved change's commit", () => trailers(h.w.app("a1"), "Approved-By").includes("carol"));
  });

  it("hands back what reads the caller's files (task add) or other folders, and works without a console", async () => {
    const h = await host();
    const add = h.run(["task", "add", "--title", "x", "--description", "y"]);
    expect(add.docker).toBe(true);
    expect(add.code).toBe(125);
    expect(h.run(["--shared", "/elsewhere", "status"]).docker).toBe(true);
    expect(h.run(["status"]).docker).toBe(false);
    // The console stops: its socket is gone and the wrapper starts a container as before.
    await c!.stop();
    c = undefined;
    const slow = h.run(["status"]);
    expect(slow.docker).toBe(true);
    expect(fs.readFileSync(h.dockerLog, "utf8")).toContain("--entrypoint agentctl");
  });

  it("survives malformed requests and keeps answering", async () => {
    const h = await host();
    const garbage = [
      Buffer.from("GET / HTTP/1.1\r\n\r\n"),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from([0x7f, 0xff, 0xff, 0xff])]),
      Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from("ab"), Buffer.from("trailing")]),
    ];
    for (const bytes of garbage) {
      await new Promise<void>((resolve) => {
        const s = net.connect(h.sock);
        s.on("error", () => resolve());
        s.on("close", () => resolve());
        s.on("connect", () => s.end(bytes));
        s.resume();
      });
    }
    const r = h.run(["status"]);
    expect(r.code).toBe(0);
    expect(r.docker).toBe(false);
    expect(c!.child.exitCode).toBeNull();
  });
});
