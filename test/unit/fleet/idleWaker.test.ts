import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { idleWakerProgram, idleWakerUnit, idleWakerUnitName } from "../../../fleet/idleWaker.js";
import { hostLayout } from "../../../hosts/hostLayout.js";
import { readScript, shellProgram } from "../../../hosts/shell.js";
import { removeTempDirs, tempDir } from "../program/tmp.js";

afterAll(removeTempDirs);

/**
 * The host-side idle waker, run for real against real folders, with a stand-in `docker` that
 * records every call and keeps each container's running state in a file (the containers suite
 * runs the same program against a real engine).
 */

const fleetDir = path.resolve(__dirname, "../../../fleet");
const T1 = "t-261130-020000-aaaaaa";
const T2 = "t-261130-020001-bbbbbb";
const P1 = "p-261130-020000-cccccc";

interface Host {
  root: string;
  shared: string;
  decisions: string;
  state: string;
  program: string;
  calls: () => string[];
  running: (container: string) => string | undefined;
  setRunning: (container: string, v: boolean) => void;
  pass: () => { status: number | null; stdout: string; stderr: string };
  idle: (agent: string, proposals?: string[]) => void;
  queue: (id: string, target: string) => void;
}

function host(agents: Array<{ name: string; capabilities: string[] }>): Host {
  const root = tempDir("waker-");
  const layout = hostLayout(root);
  const bin = path.join(root, "fakebin");
  const states = path.join(root, "fake-containers");
  fs.mkdirSync(bin);
  fs.mkdirSync(states);
  const log = path.join(root, "docker-calls.log");
  // docker inspect --format F NAME | docker stop NAME | docker start NAME
  fs.writeFileSync(
    path.join(bin, "docker"),
    `#!/bin/sh
echo "$*" >>"${log}"
case $1 in
  inspect) eval "n=\\$$#"; [ -f "${states}/$n" ] || exit 1; cat "${states}/$n" ;;
  stop) echo false >"${states}/$2"; echo "$2" ;;
  start) echo true >"${states}/$2"; echo "$2" ;;
  *) exit 9 ;;
esac
`,
    { mode: 0o755 },
  );
  for (const d of [layout.sharedDir, layout.decisionsDir]) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(layout.sharedDir, "tasks", "pending"), { recursive: true });
  for (const a of agents) fs.mkdirSync(path.join(layout.sharedDir, "agents", a.name), { recursive: true });
  const program = idleWakerProgram({ fleet: "fl", layout, agents });
  return {
    root,
    shared: layout.sharedDir,
    decisions: layout.decisionsDir,
    state: layout.idleWakerState,
    program,
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l && !l.startsWith("inspect"))
        : [],
    running: (c) =>
      fs.existsSync(path.join(states, c)) ? fs.readFileSync(path.join(states, c), "utf8").trim() : undefined,
    setRunning: (c, v) => fs.writeFileSync(path.join(states, c), `${v}\n`),
    pass: () =>
      spawnSync("/bin/sh", ["-c", program, "idle-waker", "once"], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      }),
    idle: (agent, proposals = []) =>
      fs.writeFileSync(path.join(layout.sharedDir, "agents", agent, "idle"), proposals.map((p) => `${p}\n`).join("")),
    queue: (id, target) =>
      fs.writeFileSync(path.join(layout.sharedDir, "tasks", "pending", `99_${id}_${target}_0.json`), "{}"),
  };
}

/** Sets a file's times in the past, so that "newer than" comparisons do not depend on the clock's resolution. */
function age(file: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  fs.utimesSync(file, t, t);
}

const ok = (h: Host) => {
  const r = h.pass();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

describe("idle-waker.sh", () => {
  it("stops an idle agent (keeping what it waits for) and leaves busy ones alone", () => {
    const h = host([
      { name: "a1", capabilities: [] },
      { name: "a2", capabilities: [] },
    ]);
    h.setRunning("fl-a1", true);
    h.setRunning("fl-a2", true);
    h.idle("a1", [P1]);
    expect(ok(h)).toBe("stopped a1 (idle)\n");
    expect(h.calls()).toEqual(["stop fl-a1"]);
    expect(fs.readFileSync(path.join(h.state, "a1.stopped"), "utf8")).toBe(`${P1}\n`);
    expect(fs.statSync(h.state).mode & 0o777).toBe(0o700);
    // Nothing to do: a pass changes nothing.
    expect(ok(h)).toBe("");
    expect(h.calls()).toEqual(["stop fl-a1"]);
  });

  it("wakes an idle-stopped agent for a task for it by name, and does not stop it again for the old marker", () => {
    const h = host([{ name: "a1", capabilities: [] }]);
    h.setRunning("fl-a1", true);
    h.idle("a1");
    age(path.join(h.shared, "agents", "a1", "idle"), 60);
    ok(h);
    h.queue(T1, "agent-other");
    expect(ok(h)).toBe("");
    h.queue(T2, "agent-a1");
    expect(ok(h)).toBe("woke a1\n");
    expect(h.running("fl-a1")).toBe("true");
    expect(fs.existsSync(path.join(h.state, "a1.stopped"))).toBe(false);
    // The runtime removes the earlier run's marker at start; until it has, the marker is older than the wake-up.
    expect(ok(h)).toBe("");
    expect(h.calls()).toEqual(["stop fl-a1", "start fl-a1"]);
    // A marker of the new run (newer than the wake-up) is idleness again.
    h.idle("a1");
    expect(ok(h)).toBe("stopped a1 (idle)\n");
  });

  it("a task for anyone or for a capability wakes one capable agent, and only when no awake agent can take it", () => {
    const h = host([
      { name: "a1", capabilities: ["review"] },
      { name: "a2", capabilities: ["review"] },
      { name: "a3", capabilities: ["build"] },
    ]);
    for (const c of ["fl-a1", "fl-a2", "fl-a3"]) h.setRunning(c, true);
    h.idle("a1");
    h.idle("a2");
    expect(ok(h)).toBe("stopped a1 (idle)\nstopped a2 (idle)\n");
    // a3 is awake and can take a task for anyone: nobody is woken.
    h.queue(T1, "any");
    expect(ok(h)).toBe("");
    // a3 cannot review: exactly one reviewer is woken.
    h.queue(T2, "cap-review");
    expect(ok(h)).toBe("woke a1\n");
    expect(ok(h)).toBe("");
    expect([h.running("fl-a1"), h.running("fl-a2")]).toEqual(["true", "false"]);
  });

  it("a decision for a proposal the stopped agent waits for wakes it; others and hostile marker lines do not", () => {
    const h = host([{ name: "a1", capabilities: [] }]);
    h.setRunning("fl-a1", true);
    h.idle("a1", [P1, "../../etc/passwd", "p-x;touch /tmp/pwned", "p-261130-020000-dddddd"]);
    ok(h);
    fs.writeFileSync(path.join(h.decisions, "p-261130-020000-eeeeee.json"), "{}");
    fs.mkdirSync(path.join(h.root, "etc"), { recursive: true });
    fs.writeFileSync(path.join(h.root, "etc", "passwd.json"), "{}");
    expect(ok(h)).toBe("");
    fs.writeFileSync(path.join(h.decisions, `${P1}.json`), "{}");
    expect(ok(h)).toBe("woke a1\n");
  });

  it("never starts a container it did not stop (an operator's stop, a paused agent), whatever is queued", () => {
    const h = host([{ name: "a1", capabilities: [] }]);
    h.setRunning("fl-a1", false);
    h.queue(T1, "agent-a1");
    expect(ok(h)).toBe("");
    expect(h.calls()).toEqual([]);
    // A container that is gone is left alone too.
    const g = host([{ name: "a9", capabilities: [] }]);
    g.idle("a9");
    expect(ok(g)).toBe("");
    expect(g.calls()).toEqual([]);
  });

  it("refuses a bad interval and a bad mode", () => {
    const h = host([{ name: "a1", capabilities: [] }]);
    const bad = spawnSync("/bin/sh", ["-c", h.program, "idle-waker", "forever"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: idle-waker.sh once\|loop/);
    const prog = idleWakerProgram({ fleet: "fl", layout: hostLayout(h.root), agents: [], intervalSeconds: 5 }).replace(
      "AF_INTERVAL=5",
      "AF_INTERVAL=5s",
    );
    const r = spawnSync("/bin/sh", ["-c", prog, "idle-waker", "once"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/AF_INTERVAL must be whole seconds, got 5s/);
  });
});

describe("idle waker program and unit", () => {
  it("is deterministic (sorted agents and capabilities) and names only non-secret paths", () => {
    const layout = hostLayout("/srv/agent-fleet");
    const a = idleWakerProgram({
      fleet: "fl",
      layout,
      agents: [
        { name: "b", capabilities: ["y", "x"] },
        { name: "a", capabilities: [] },
      ],
    });
    expect(a).toContain("export AF_AGENTS='a:fl-a: b:fl-b:x,y'");
    expect(a).toContain("export AF_STATE=/srv/agent-fleet/run/idle");
    expect(a).toBe(
      idleWakerProgram({
        fleet: "fl",
        layout,
        agents: [
          { name: "a", capabilities: [] },
          { name: "b", capabilities: ["x", "y"] },
        ],
      }),
    );
  });

  it("the systemd unit runs the program in a loop, after Docker, at boot", () => {
    const unit = idleWakerUnit("fl", "/srv/agent-fleet/bin/idle-waker");
    expect(idleWakerUnitName("fl")).toBe("agent-fleet-fl-idle-waker");
    expect(unit).toContain("ExecStart=/bin/sh /srv/agent-fleet/bin/idle-waker loop\n");
    expect(unit).toMatch(/After=docker\.service/);
    expect(unit).toMatch(/Restart=always/);
    expect(unit).toMatch(/WantedBy=multi-user\.target/);
  });

  it("install-idle-waker.sh without a unit installs the program 0755 (and removes it)", () => {
    const root = tempDir("install-waker-");
    const target = path.join(root, "bin", "idle-waker");
    const install = shellProgram(readScript(fleetDir, "install-idle-waker.sh"), { AF_PATH: target, AF_UNIT: "" });
    const r = spawnSync("/bin/sh", ["-c", install], { input: "echo hi\n", encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(target, "utf8")).toBe("echo hi\n");
    expect(fs.statSync(target).mode & 0o777).toBe(0o755);
    const rm = spawnSync("/bin/sh", ["-c", install, "sh", "remove"], { encoding: "utf8" });
    expect(rm.status, rm.stderr).toBe(0);
    expect(fs.existsSync(target)).toBe(false);
  });
});
