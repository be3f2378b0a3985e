import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerCreateProgram, containerRemoveProgram, runStateProgram } from "../../../fleet/containerCommands.js";
import { containerSpec } from "../../../fleet/spec.js";
import { readScript, shellProgram } from "../../../hosts/shell.js";
import { removeTempDirs, tempDir } from "./tmp.js";

afterAll(removeTempDirs);

/**
 * The host scripts: shellcheck-clean, and run for real against temporary folders with a stand-in
 * `docker` on PATH that records its arguments (the container tests and e2e run them against a real
 * engine).
 */

const repo = path.resolve(__dirname, "../../..");
const scriptDirs = ["hosts/scripts", "fleet/scripts"];
const allScripts = [
  ...scriptDirs.flatMap((d) =>
    fs
      .readdirSync(path.join(repo, d))
      .filter((f) => f.endsWith(".sh"))
      .map((f) => path.join(repo, d, f)),
  ),
  path.join(repo, "scripts", "up.sh"),
];
const fleetDir = path.join(repo, "fleet");

/** A folder with a fake `docker` that logs each call and answers from a small script. */
function fakeDocker(behaviour: string): { bin: string; log: string; calls: () => string[][] } {
  const dir = tempDir("fake-docker-");
  const log = path.join(dir, "calls.log");
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\037' "$a"; done >>"${log}"\necho >>"${log}"\n${behaviour}\n`,
    { mode: 0o755 },
  );
  return {
    bin: dir,
    log,
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split("\u001f").filter((x) => x !== ""))
        : [],
  };
}

function sh(program: string, opts: { path?: string; input?: string } = {}) {
  return spawnSync("/bin/sh", ["-c", program], {
    input: opts.input ?? "",
    encoding: "utf8",
    env: { ...process.env, PATH: `${opts.path ? `${opts.path}:` : ""}${process.env.PATH}` },
  });
}

describe("shellcheck", () => {
  it("finds no problem in any host script", () => {
    const found = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    if (found.error)
      throw new Error("shellcheck is not installed (Debian package: shellcheck); these scripts must be checked");
    expect(allScripts.length).toBeGreaterThanOrEqual(15);
    const r = spawnSync("shellcheck", ["--shell=sh", "--severity=style", ...allScripts], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("write-file.sh", () => {
  it("writes stdin atomically with the requested mode, creating the folder 0700", () => {
    const root = tempDir("write-");
    const file = path.join(root, "secrets", "a1.env");
    const program = shellProgram(readScript(fleetDir, "write-file.sh"), {
      AF_PATH: file,
      AF_MODE: "0600",
      AF_DIR_MODE: "0700",
    });
    const r = sh(program, { input: "TOKEN=s3cret\n" });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe("TOKEN=s3cret\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["a1.env"]);
    expect(r.stdout).not.toContain("s3cret");
    // Again, with other content: replaced, never appended.
    expect(sh(program, { input: "TOKEN=other\n" }).status).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe("TOKEN=other\n");
  });
});

describe("build-image.sh", () => {
  it("builds once per tag, passing each build arg", () => {
    const docker = fakeDocker('case "$1" in image) exit 1 ;; esac');
    const program = shellProgram(
      readScript(fleetDir, "build-image.sh"),
      { AF_IMAGE: "f/agent:abc", AF_CONTEXT: "/ctx", AF_DOCKERFILE: "agent-image/Dockerfile" },
      ["BASE_IMAGE=test/base:1", "WITH_CLI=a b"],
    );
    const r = sh(program, { path: docker.bin });
    expect(r.status, r.stderr).toBe(0);
    expect(docker.calls()).toEqual([
      ["image", "inspect", "f/agent:abc"],
      [
        "build",
        "--quiet",
        "-f",
        "/ctx/agent-image/Dockerfile",
        "-t",
        "f/agent:abc",
        "--build-arg",
        "BASE_IMAGE=test/base:1",
        "--build-arg",
        "WITH_CLI=a b",
        "/ctx",
      ],
    ]);
    const present = fakeDocker("exit 0");
    expect(sh(program, { path: present.bin }).stdout).toContain("already present");
    expect(present.calls()).toEqual([["image", "inspect", "f/agent:abc"]]);
  });

  it("unpacks an uploaded context and keeps only the newest one", () => {
    const root = tempDir("build-");
    const src = path.join(root, "src");
    fs.mkdirSync(path.join(src, "agent-image"), { recursive: true });
    fs.writeFileSync(path.join(src, "agent-image", "Dockerfile"), "FROM scratch\n");
    fs.mkdirSync(path.join(root, "upload"));
    fs.mkdirSync(path.join(root, "image", "old"), { recursive: true });
    fs.writeFileSync(path.join(root, "upload", "image-old.tar"), "x");
    execFileSync("tar", ["-cf", path.join(root, "upload", "image-new.tar"), "-C", src, "agent-image"]);
    const docker = fakeDocker('case "$1" in image) exit 1 ;; esac');
    const program = shellProgram(readScript(fleetDir, "build-image.sh"), {
      AF_IMAGE: "f/agent:new",
      AF_CONTEXT: path.join(root, "image", "new"),
      AF_ARCHIVE: path.join(root, "upload", "image-new.tar"),
      AF_DOCKERFILE: "agent-image/Dockerfile",
    });
    const r = sh(program, { path: docker.bin });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(root, "image", "new", "agent-image", "Dockerfile"), "utf8")).toBe(
      "FROM scratch\n",
    );
    expect(fs.readdirSync(path.join(root, "image"))).toEqual(["new"]);
    expect(fs.readdirSync(path.join(root, "upload"))).toEqual(["image-new.tar"]);
  });
});

describe("container programs", () => {
  const spec = containerSpec({
    name: "a1",
    fleet: "f",
    image: "f/agent:1",
    hostRoot: "/srv/agent-fleet",
    approvalRequired: true,
    capabilities: [],
    env: { NOTE: "it's fine" },
    hasSecrets: false,
    resources: { cpus: 1, memoryMb: 512, pids: 64 },
    network: { mode: "none" },
  });

  it("remove: a missing container is success, an unreachable engine is a failure", () => {
    const gone = fakeDocker(
      'case "$1" in rm) echo "Error response from daemon: No such container: f-a1" >&2; exit 1 ;; stop) exit 1 ;; esac',
    );
    expect(sh(containerRemoveProgram("f-a1"), { path: gone.bin }).status).toBe(0);
    expect(gone.calls()).toEqual([
      ["stop", "--time", "60", "f-a1"],
      ["rm", "--force", "f-a1"],
    ]);
    const down = fakeDocker('echo "Cannot connect to the Docker daemon" >&2; exit 1');
    const r = sh(containerRemoveProgram("f-a1"), { path: down.bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Cannot connect to the Docker daemon");
  });

  it("create: removes a leftover, then creates (never runs) the container with the spec's arguments", () => {
    const docker = fakeDocker("exit 0");
    const r = sh(containerCreateProgram(spec), { path: docker.bin });
    expect(r.status, r.stderr).toBe(0);
    const calls = docker.calls();
    expect(calls.map((c) => c[0])).toEqual(["stop", "rm", "create"]);
    expect(calls[2]).toContain("NOTE=it's fine");
    expect(calls[2]!.slice(0, 3)).toEqual(["create", "--name", "f-a1"]);
    expect(calls[2]!.at(-1)).toBe("f/agent:1");
  });

  it("run state: start, or a graceful stop when paused", () => {
    const docker = fakeDocker("exit 0");
    expect(sh(runStateProgram("f-a1", false), { path: docker.bin }).status).toBe(0);
    expect(sh(runStateProgram("f-a1", true), { path: docker.bin }).status).toBe(0);
    expect(docker.calls()).toEqual([
      ["start", "f-a1"],
      ["stop", "--time", "60", "f-a1"],
    ]);
  });
});

describe("prune-images.sh", () => {
  it("removes the fleet's other image tags, keeps the current one and any still in use", () => {
    const docker = fakeDocker(
      [
        'if [ "$1 $2" = "image ls" ]; then printf "f/agent:new\\nf/agent:old\\nf/agent:busy\\n"; exit 0; fi',
        'if [ "$1 $2 $3" = "image rm f/agent:busy" ]; then echo "image is being used" >&2; exit 1; fi',
        "exit 0",
      ].join("\n"),
    );
    const r = sh(shellProgram(readScript(fleetDir, "prune-images.sh"), { AF_IMAGE: "f/agent:new" }), {
      path: docker.bin,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(docker.calls()).toEqual([
      ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "f/agent"],
      ["image", "rm", "f/agent:old"],
      ["image", "rm", "f/agent:busy"],
    ]);
    expect(r.stdout).toContain("removed f/agent:old");
    expect(r.stdout).not.toContain("removed f/agent:busy");
  });
});

describe("seed-project-helper.sh", () => {
  function seedProject(fleet: string, source: string, branch: string, remote = "") {
    const program = shellProgram(readScript(fleetDir, "seed-project-helper.sh"), {
      AF_PROJECT: "web",
      AF_BRANCH: branch,
      AF_REMOTE: remote,
      AF_FLEET_DIR: fleet,
      AF_SEED_DIR: source,
      AF_SEED_TAR: path.join(fleet, "no-such.tar"),
    });
    const r = sh(program);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  }

  it("seeds a bare repository once, with the folder as the branch's first commit, and keeps it afterwards", () => {
    const fleet = tempDir("seedp-");
    const src = tempDir("srcp-");
    fs.writeFileSync(path.join(src, "index.html"), "v1\n");
    fs.mkdirSync(path.join(src, ".git"));
    fs.writeFileSync(path.join(src, ".git", "HEAD"), "not ours\n");
    expect(seedProject(fleet, src, "trunk", "file:///srv/git/web.git")).toContain("seeded projects/web (branch trunk");
    const repo = path.join(fleet, "projects", "web");
    const g = (...args: string[]) =>
      execFileSync("git", ["-c", "safe.directory=*", "--git-dir", repo, ...args], { encoding: "utf8" }).trim();
    expect(g("rev-parse", "--is-bare-repository")).toBe("true");
    expect(g("symbolic-ref", "HEAD")).toBe("refs/heads/trunk");
    expect(g("show", "trunk:index.html")).toBe("v1");
    expect(g("ls-tree", "--name-only", "trunk")).toBe("index.html");
    expect(g("log", "--format=%(trailers:key=Approved-By,valueonly)", "trunk")).toBe("operator");
    expect(fs.existsSync(path.join(repo, "index"))).toBe(false);
    expect(fs.readdirSync(path.join(fleet, "projects"))).toEqual(["web"]);
    const head = g("rev-parse", "trunk");
    expect(g("config", "--get", "agent-fleet.remote")).toBe("file:///srv/git/web.git");

    // A second `pulumi up` with changed source leaves the repository (its agents' history) alone.
    fs.writeFileSync(path.join(src, "index.html"), "v2\n");
    expect(seedProject(fleet, src, "trunk", "file:///srv/git/other.git")).toContain("kept projects/web");
    expect(g("rev-parse", "trunk")).toBe(head);
    // ...but a changed remote reaches it.
    expect(g("config", "--get", "agent-fleet.remote")).toBe("file:///srv/git/other.git");
  });
});

describe("seed-code-helper.sh", () => {
  const git = spawnSync("git", ["--version"]);
  function seed(fleet: string, source: string, revision: string) {
    const program = shellProgram(readScript(fleetDir, "seed-code-helper.sh"), {
      AF_AGENT: "a1",
      AF_REVISION: revision,
      AF_FLEET_DIR: fleet,
      AF_SEED_DIR: source,
      AF_SEED_TAR: path.join(fleet, "no-such.tar"),
    });
    const r = sh(program);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  }

  it("seeds once, keeps the runtime's commits, and pushes a new revision as one more commit", () => {
    if (git.error) throw new Error("git is not installed; the seed helper's push needs it");
    const fleet = tempDir("seed-");
    fs.mkdirSync(path.join(fleet, "agents"));
    fs.mkdirSync(path.join(fleet, "seed"));
    const src = tempDir("src-");
    fs.writeFileSync(path.join(src, "agent.js"), "v1\n");
    fs.mkdirSync(path.join(src, ".git"));
    fs.writeFileSync(path.join(src, ".git", "HEAD"), "not ours\n");

    expect(seed(fleet, src, "")).toContain("seeded");
    const dest = path.join(fleet, "agents", "a1");
    expect(fs.readFileSync(path.join(dest, "agent.js"), "utf8")).toBe("v1\n");
    expect(fs.existsSync(path.join(dest, ".git"))).toBe(false);

    // The runtime makes the folder a repository and commits a change of its own.
    const g = (...args: string[]) =>
      execFileSync("git", ["-C", dest, "-c", "user.name=rt", "-c", "user.email=rt@x", ...args], { encoding: "utf8" });
    g("init", "-q");
    g("add", "-A");
    g("commit", "-q", "-m", "initial");
    fs.writeFileSync(path.join(dest, "learned.txt"), "runtime change\n");
    g("add", "-A");
    g("commit", "-q", "-m", "Proposal applied");

    // New code in the project folder is not pushed without a new revision.
    fs.writeFileSync(path.join(src, "agent.js"), "v2\n");
    expect(seed(fleet, src, "")).toContain("kept");
    expect(fs.readFileSync(path.join(dest, "agent.js"), "utf8")).toBe("v1\n");

    // A new revision: the working tree becomes the new code, as one commit on top of the history.
    expect(seed(fleet, src, "2")).toContain("pushed revision 2");
    expect(fs.readFileSync(path.join(dest, "agent.js"), "utf8")).toBe("v2\n");
    expect(fs.existsSync(path.join(dest, "learned.txt"))).toBe(false);
    expect(g("log", "--format=%s").trim().split("\n")).toEqual([
      "Operator push: code revision 2",
      "Proposal applied",
      "initial",
    ]);
    expect(g("show", "HEAD~1:learned.txt")).toBe("runtime change\n");
    // The same revision again changes nothing.
    expect(seed(fleet, src, "2")).toContain("kept");
    expect(g("log", "--format=%s").trim().split("\n")).toHaveLength(3);
  });
});

describe("seed-code.sh", () => {
  it("stops a running container around a push and starts it again", () => {
    const root = tempDir("seedhost-");
    fs.mkdirSync(path.join(root, "agents", "a1"), { recursive: true });
    fs.mkdirSync(path.join(root, "seed"));
    fs.writeFileSync(path.join(root, "seed", "a1.revision"), "1\n");
    const docker = fakeDocker('case "$1" in inspect) echo true ;; esac');
    const program = shellProgram(readScript(fleetDir, "seed-code.sh"), {
      AF_ROOT: root,
      AF_AGENT: "a1",
      AF_CONTAINER: "f-a1",
      AF_IMAGE: "f/agent:1",
      AF_SOURCE: root,
      AF_REVISION: "2",
      AF_HELPER: "true",
    });
    const r = sh(program, { path: docker.bin });
    expect(r.status, r.stderr).toBe(0);
    expect(docker.calls().map((c) => c[0])).toEqual(["inspect", "stop", "run", "start"]);
    const run = docker.calls()[2]!;
    expect(run).toContain(`type=bind,source=${root},target=/seed,readonly`);
    expect(run).toContain("--network");
    // Same revision: no stop, no start.
    fs.writeFileSync(path.join(root, "seed", "a1.revision"), "2\n");
    const quiet = fakeDocker('case "$1" in inspect) echo true ;; esac');
    expect(sh(program, { path: quiet.bin }).status).toBe(0);
    expect(quiet.calls().map((c) => c[0])).toEqual(["run"]);
  });
});

describe("firewall.sh", () => {
  it("drops everything incoming but SSH from the allowed networks, replacing its own table on each run", () => {
    // Runs for real, in a network namespace of its own (needs root, nftables and unshare).
    if (process.getuid?.() !== 0)
      throw new Error("the firewall test needs root (it runs nft in its own network namespace)");
    for (const tool of ["nft", "unshare"]) {
      if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
        throw new Error(`${tool} is not installed (Debian packages nftables, util-linux)`);
    }
    const conf = tempDir("fw-");
    const program = (cidrs: string) =>
      shellProgram(readScript(path.join(repo, "hosts"), "firewall.sh"), {
        AF_SSH_PORT: "2222",
        AF_ALLOWED_CIDRS: cidrs,
        AF_CONF_DIR: conf,
      });
    const script = `${program("198.51.100.7/32 2001:db8::/48")}\n${program("203.0.113.0/24")}\nnft list ruleset`;
    const r = spawnSync("unshare", ["-n", "sh", "-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const ruleset = r.stdout.slice(r.stdout.indexOf("table inet"));
    expect(ruleset.match(/table inet agent_fleet/g)).toHaveLength(1);
    expect(ruleset).toContain("policy drop;");
    expect(ruleset).toMatch(/ip saddr 203\.0\.113\.0\/24 tcp dport 2222 accept/);
    expect(ruleset).not.toContain("198.51.100.7");
    expect(ruleset).not.toContain("ip6 saddr");
    expect(ruleset).not.toMatch(/dport (?!2222|68|546)\d+ accept/);
    expect(fs.readFileSync(path.join(conf, "firewall.nft"), "utf8")).toContain("203.0.113.0/24");
  });

  it("refuses rules that would lock out the client running the step (IPv4, IPv6, mapped addresses)", () => {
    if (process.getuid?.() !== 0) throw new Error("the firewall test needs root");
    const conf = tempDir("fw-");
    const attempt = (client: string, cidrs = "198.51.100.0/24 2001:db8::/48") =>
      `( ${shellProgram(readScript(path.join(repo, "hosts"), "firewall.sh"), {
        AF_SSH_PORT: "22",
        AF_ALLOWED_CIDRS: cidrs,
        AF_CONF_DIR: conf,
        AF_SSH_CLIENT: client,
      })} ) >/dev/null 2>&1; echo "${client.split(" ")[0]}=$?"`;
    const script = [
      attempt("198.51.100.9 50000 22"),
      attempt("203.0.113.5 50000 22"),
      attempt("2001:db8::7 50000 22"),
      attempt("2001:db9::7 50000 22"),
      attempt("::ffff:198.51.100.3 50000 22"),
      attempt("203.0.113.5 50000 22", "203.0.113.0/24"),
      attempt(""),
      "nft list tables",
    ].join("\n");
    const r = spawnSync("unshare", ["-n", "sh", "-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "198.51.100.9=0",
      "203.0.113.5=1",
      "2001:db8::7=0",
      "2001:db9::7=1",
      "::ffff:198.51.100.3=0",
      "203.0.113.5=0",
      "=0",
      "table inet agent_fleet",
    ]);
    const refused = spawnSync(
      "unshare",
      [
        "-n",
        "sh",
        "-c",
        shellProgram(readScript(path.join(repo, "hosts"), "firewall.sh"), {
          AF_SSH_PORT: "22",
          AF_ALLOWED_CIDRS: "198.51.100.0/24",
          AF_CONF_DIR: conf,
          AF_SSH_CLIENT: "203.0.113.5 50000 22",
        }),
      ],
      { encoding: "utf8" },
    );
    expect(refused.stderr).toContain(
      "this connection comes from 203.0.113.5, which ssh.allowedCidrs (198.51.100.0/24) does not include",
    );
    expect(refused.stderr).toContain("Add your address (203.0.113.5/32)");
  });

  it("refuses rules nftables cannot parse and leaves the previous ones in place", () => {
    if (process.getuid?.() !== 0) throw new Error("the firewall test needs root");
    const conf = tempDir("fw-");
    const program = (cidrs: string) =>
      shellProgram(readScript(path.join(repo, "hosts"), "firewall.sh"), {
        AF_SSH_PORT: "22",
        AF_ALLOWED_CIDRS: cidrs,
        AF_CONF_DIR: conf,
      });
    const script = `${program("192.0.2.0/24")}\n( ${program("not-a-network/99")} ) && exit 9\nnft list ruleset`;
    const r = spawnSync("unshare", ["-n", "sh", "-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("nftables rejected the generated rules");
    expect(r.stdout).toContain("ip saddr 192.0.2.0/24 tcp dport 22 accept");
  });
});

describe("scripts/up.sh", () => {
  /** A project copy with a fake `pulumi` that logs its calls and the environment it got. */
  function fakePulumi(stackExists: boolean, initFails = false) {
    const project = tempDir("up-");
    fs.mkdirSync(path.join(project, "scripts"));
    fs.copyFileSync(path.join(repo, "scripts", "up.sh"), path.join(project, "scripts", "up.sh"));
    const bin = tempDir("fake-pulumi-");
    const log = path.join(bin, "calls.log");
    fs.writeFileSync(
      path.join(bin, "pulumi"),
      [
        "#!/bin/sh",
        `echo "$* | backend=$PULUMI_BACKEND_URL passphrase=\${PULUMI_CONFIG_PASSPHRASE:-} skip=$PULUMI_SKIP_UPDATE_CHECK" >>"${log}"`,
        `if [ "$1 $2" = "stack select" ]; then ${stackExists ? "exit 0" : "exit 255"}; fi`,
        // What the file backend prints on stack init (a diagnostic, on stderr).
        `if [ "$1 $2" = "stack init" ]; then echo "Created stack '$3'" >&2; ${initFails ? 'echo "error: could not create stack" >&2; exit 255' : "exit 0"}; fi`,
        "exit 0",
      ].join("\n"),
      { mode: 0o755 },
    );
    const run = (args: string[], env: Record<string, string> = {}) => {
      const clean = { ...process.env };
      delete clean.PULUMI_CONFIG_PASSPHRASE;
      delete clean.PULUMI_CONFIG_PASSPHRASE_FILE;
      delete clean.AGENT_FLEET_STACK;
      return spawnSync("sh", [path.join(project, "scripts", "up.sh"), ...args], {
        encoding: "utf8",
        env: { ...clean, PATH: `${bin}:${process.env.PATH}`, ...env },
      });
    };
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
    return { project, run, calls };
  }

  it("npm run up: creates the local stack on first use, file backend in the project, local passphrase", () => {
    const p = fakePulumi(false);
    const r = p.run(["up", "--yes"]);
    expect(r.status, r.stderr).toBe(0);
    const state = `file://${p.project}/.pulumi-state`;
    expect(p.calls()).toEqual([
      `stack select local | backend=${state} passphrase=agent-fleet-local skip=true`,
      `stack init local --secrets-provider passphrase | backend=${state} passphrase=agent-fleet-local skip=true`,
      `up --stack local --yes | backend=${state} passphrase=agent-fleet-local skip=true`,
    ]);
    expect(fs.statSync(path.join(p.project, ".pulumi-state")).isDirectory()).toBe(true);
    // One "created stack" line, ours, not Pulumi's as well.
    expect((r.stdout + r.stderr).match(/created stack/gi)).toEqual(["created stack"]);
    expect(r.stdout).toContain("agent-fleet: created stack 'local'");
  });

  it("a failed stack init shows Pulumi's own output and stops", () => {
    const p = fakePulumi(false, true);
    const r = p.run(["up"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: could not create stack");
    expect(p.calls().map((c) => c.split(" | ")[0])).toEqual([
      "stack select local",
      "stack init local --secrets-provider passphrase",
    ]);
  });

  it("other stacks need your own passphrase; --stack is passed through", () => {
    const p = fakePulumi(true);
    const refused = p.run(["preview", "--stack", "vps"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("stack 'vps' needs your own passphrase");
    expect(p.calls()).toEqual([]);
    const ok = p.run(["destroy", "--stack", "vps"], { PULUMI_CONFIG_PASSPHRASE: "mine" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(p.calls().map((c) => c.split(" | ")[0])).toEqual(["stack select vps", "destroy --stack vps"]);
    expect(p.calls()[1]).toContain("passphrase=mine");
  });

  it("passes any pulumi command through, and refuses unknown actions", () => {
    const p = fakePulumi(true);
    expect(p.run(["pulumi", "config", "set", "approvalRequired", "false"]).status).toBe(0);
    expect(p.calls().map((c) => c.split(" | ")[0])).toEqual([
      "stack select local",
      "config set approvalRequired false",
    ]);
    expect(p.run(["deploy"]).status).toBe(2);
  });
});
