import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AGENTCTL_WRAPPER_PATH, agentctlWrapperScript } from "../../../fleet/agentctlWrapper.js";

const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "agentctl-wrapper-test-")));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for the docker CLI that prints the argv it received, NUL-separated. */
const argvPrinter = path.join(tmp, "docker bin", "print-argv");
mkdirSync(path.dirname(argvPrinter));
writeFileSync(argvPrinter, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n');
chmodSync(argvPrinter, 0o755);

const CASES = [
  { image: "agent-fleet/agent:1.0", hostRoot: "/srv/agent-fleet" },
  { image: "registry.example.com:5000/team/agent@sha256:" + "a".repeat(64), hostRoot: "/srv/agent fleet/it's $HOME" },
  { image: "agent:dev", hostRoot: "/opt/fleet", docker: argvPrinter },
];

let n = 0;
function install(script: string): string {
  const file = path.join(tmp, `agentctl-${n++}`);
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return file;
}

/** Runs the wrapper from `cwd` (stdin not a tty) and returns the argv it gave "docker". */
function argvOf(
  wrapper: string,
  cwd: string,
  args: string[],
  env: Record<string, string> = { AGENTCTL_USER: "ops" },
): string[] {
  const base = { ...process.env };
  delete base.AGENTCTL_USER;
  delete base.SUDO_USER;
  const out = execFileSync(wrapper, args, {
    cwd,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...base, ...env },
  });
  return out.split("\0").slice(0, -1);
}

describe("agentctlWrapperScript", () => {
  it("is installed as /usr/local/bin/agentctl", () => {
    expect(AGENTCTL_WRAPPER_PATH).toBe("/usr/local/bin/agentctl");
  });

  it("passes sh -n and shellcheck for ordinary and awkward paths", () => {
    for (const c of CASES) {
      const file = install(agentctlWrapperScript(c));
      execFileSync("sh", ["-n", file]);
      // Every check at every severity; the script itself disables SC1001 (info: "this \= will be a regular '='"):
      // shell-quote escapes `=`, `,` and `:` although sh does not need it; the result is the same word.
      const sc = spawnSync("shellcheck", ["--shell=sh", "--severity=style", file], { encoding: "utf8" });
      if (sc.error)
        throw new Error(`shellcheck is needed for this test (apt-get install shellcheck): ${sc.error.message}`);
      expect(sc.stdout + sc.stderr, `shellcheck on the wrapper for ${JSON.stringify(c)}`).toBe("");
      expect(sc.status).toBe(0);
    }
  });

  it("runs the image's agentctl with the fleet's mounts, locked down, and the caller's arguments verbatim", () => {
    const hostRoot = "/srv/agent fleet/it's";
    const wrapper = install(agentctlWrapperScript({ image: "agent:dev", hostRoot, docker: argvPrinter }));
    const cwd = path.join(tmp, "work dir $x");
    mkdirSync(cwd);
    const userArgs = [
      "task",
      "add",
      "--title",
      "fix it; rm -rf / `id` $(id)",
      "--instructions",
      "./task one.md",
      "--context",
      "*",
    ];
    const argv = argvOf(wrapper, cwd, userArgs);
    expect(argv).toEqual([
      "run",
      "-i",
      "--rm",
      "--network",
      "none",
      "--read-only",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--mount",
      `type=bind,source=${hostRoot}/shared,target=/shared`,
      "--mount",
      `type=bind,source=${hostRoot}/decisions,target=/decisions`,
      "--env",
      "AGENT_SHARED_DIR=/shared",
      "--env",
      "AGENT_DECISIONS_DIR=/decisions",
      "--entrypoint",
      "agentctl",
      "--env",
      "AGENTCTL_USER=ops",
      "--mount",
      `type=bind,source=${cwd},target=${cwd},readonly`,
      "--workdir",
      cwd,
      "agent:dev",
      ...userArgs,
    ]);
    // Never the Docker socket, never privileged, never a published port.
    expect(argv.join("\n")).not.toMatch(/docker\.sock|--privileged|--publish|^-p$/m);
  });

  it("records the operator: AGENTCTL_USER, else the sudo caller, else the login name", () => {
    const wrapper = install(
      agentctlWrapperScript({ image: "agent:dev", hostRoot: "/srv/agent-fleet", docker: argvPrinter }),
    );
    const who = (env: Record<string, string>) =>
      argvOf(wrapper, tmp, ["status"], env).find((a) => a.startsWith("AGENTCTL_USER="));
    expect(who({ AGENTCTL_USER: "alice", SUDO_USER: "bob" })).toBe("AGENTCTL_USER=alice");
    expect(who({ SUDO_USER: "bob" })).toBe("AGENTCTL_USER=bob");
    expect(who({})).toBe(`AGENTCTL_USER=${execFileSync("id", ["-un"], { encoding: "utf8" }).trim()}`);
  });

  it("resolves the working directory physically (a symlinked cwd mounts its target)", () => {
    const wrapper = install(
      agentctlWrapperScript({ image: "agent:dev", hostRoot: "/srv/agent-fleet", docker: argvPrinter }),
    );
    const real = path.join(tmp, "real");
    mkdirSync(real);
    const link = path.join(tmp, "link");
    execFileSync("ln", ["-s", real, link]);
    const argv = argvOf(wrapper, link, ["status"]);
    expect(argv).toContain(`type=bind,source=${real},target=${real},readonly`);
    expect(argv.at(-1)).toBe("status");
  });

  it("propagates the CLI's exit status", () => {
    const failing = path.join(tmp, "docker-exit-3");
    writeFileSync(failing, "#!/bin/sh\nexit 3\n");
    chmodSync(failing, 0o755);
    const wrapper = install(
      agentctlWrapperScript({ image: "agent:dev", hostRoot: "/srv/agent-fleet", docker: failing }),
    );
    expect(spawnSync(wrapper, ["health"], { cwd: tmp }).status).toBe(3);
  });
});
