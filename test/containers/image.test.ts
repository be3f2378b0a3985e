import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  chooseStorageDriver,
  docker,
  dockerTry,
  ensureDockerEngine,
  REPO_ROOT,
  STORAGE_DRIVER_ENV,
  type DockerTarget,
} from "../harness/docker/index.js";

/**
 * The agent image itself: what agent-image/Dockerfile promises (docs/image.md), checked on the
 * image the suite built. Also: the harness fails loudly when an engine cannot start.
 */
const ctx = inject("containers");
const target: DockerTarget = { host: ctx.dockerHost, cli: ctx.dockerCli };

async function inImage(script: string, opts: { user?: string } = {}): Promise<{ code: number; out: string }> {
  const r = await dockerTry(
    target,
    [
      "run",
      "--rm",
      "--network",
      "none",
      "--read-only",
      "--entrypoint",
      "sh",
      ...(opts.user ? ["--user", opts.user] : []),
      ctx.image,
      "-c",
      script,
    ],
    { timeoutMs: 120_000 },
  );
  return { code: r.code, out: r.stdout + r.stderr };
}

describe("the agent image", () => {
  it("runs tini as PID 1 with the runtime as its command, as root, with the shell health check", async () => {
    const img = JSON.parse(await docker(target, ["image", "inspect", ctx.image]))[0];
    expect(img.Config.Entrypoint).toEqual(["tini", "--"]);
    expect(img.Config.Cmd).toEqual(["agent-runtime"]);
    expect(["", "root", "0"]).toContain(img.Config.User);
    expect(img.Config.Healthcheck.Test).toEqual(["CMD", "agent-health"]);
    // Every 2 s (in nanoseconds): cheap, as it starts no Node.js process.
    expect(img.Config.Healthcheck.Interval).toBe(2e9);
    expect(img.Config.ExposedPorts ?? {}).toEqual({});
    expect(img.Config.Volumes ?? {}).toEqual({});
    console.log(`[figures] agent image ${ctx.image}: ${(img.Size / 1e6).toFixed(0)} MB (base ${ctx.baseImage})`);
  });

  it("has git, tini, node, and agentctl / agent-runtime on PATH", async () => {
    const r = await inImage(
      "for c in git tini node agentctl agent-runtime; do command -v $c || exit 1; done; agentctl --help",
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("/usr/local/bin/agentctl");
    expect(r.out).toContain("/usr/local/bin/agent-runtime");
    expect(r.out).toContain("Usage: agentctl");
  });

  it("holds the runtime root-owned and read-only under /opt/agent-fleet, outside /app", async () => {
    const r = await inImage(
      "find /opt/agent-fleet /usr/local/bin/agentctl /usr/local/bin/agent-runtime \\( ! -user root -o -perm /0222 \\) -print; " +
        "test -f /opt/agent-fleet/runtime/bin/agent-runtime.js && test -f /opt/agent-fleet/runtime/bin/agentctl.js && echo present; " +
        "ls -A /app | wc -l",
    );
    expect(r.code, r.out).toBe(0);
    // No file or directory that is not root's or that anyone may write.
    expect(r.out.trim().split("\n")).toEqual(["present", "0"]);
  });

  it("has the unprivileged agent user (uid/gid 10001) that cannot write the runtime", async () => {
    expect((await inImage("id agent")).out.trim()).toBe("uid=10001(agent) gid=10001(agent) groups=10001(agent)");
    const r = await inImage("echo x >> /opt/agent-fleet/runtime/bin/agentctl.js", { user: "agent" });
    expect(r.code).not.toBe(0);
  });

  it("agentctl health fails (exit 1) when no runtime has reported", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "image-health-"));
    try {
      const r = await dockerTry(
        target,
        [
          "run",
          "--rm",
          "--network",
          "none",
          "--read-only",
          "--entrypoint",
          "agentctl",
          "--env",
          "AGENT_NAME=nobody",
          "--mount",
          `type=bind,source=${dir},target=/shared`,
          ctx.image,
          "health",
        ],
        { timeoutMs: 120_000 },
      );
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toContain("nobody: unhealthy");
      const sh = await dockerTry(
        target,
        [
          "run",
          "--rm",
          "--network",
          "none",
          "--read-only",
          "--entrypoint",
          "agent-health",
          "--env",
          "AGENT_NAME=nobody",
          "--mount",
          `type=bind,source=${dir},target=/shared`,
          ctx.image,
        ],
        { timeoutMs: 120_000 },
      );
      expect(sh.code, sh.stdout + sh.stderr).toBe(1);
      expect(sh.stdout + sh.stderr).toContain("nobody: unhealthy (no status file yet)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the coding CLI build arg", () => {
  // Installing the CLI needs npm and the npm registry, neither of which an offline build has:
  // these check that the switch is off by default and that bad uses fail the build clearly.
  async function build(value: string): Promise<{ code: number; out: string }> {
    const r = await dockerTry(
      target,
      [
        "build",
        "--force-rm",
        "--network",
        "none",
        "--file",
        path.join(REPO_ROOT, "agent-image", "Dockerfile"),
        "--build-arg",
        `BASE_IMAGE=${ctx.baseImage}`,
        "--build-arg",
        `INSTALL_CODING_CLI=${value}`,
        "--tag",
        "agent-fleet-test/agent:cli-arg-check",
        REPO_ROOT,
      ],
      { timeoutMs: 600_000 },
    );
    return { code: r.code, out: r.stdout + r.stderr };
  }

  it("is off by default: no claude CLI in the image", async () => {
    const r = await inImage("command -v claude || echo absent");
    expect(r.out.trim()).toBe("absent");
  });

  it("fails the build with a clear message for a value other than true/false", async () => {
    const r = await build("yes");
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("INSTALL_CODING_CLI must be true or false, got 'yes'");
  });

  it("fails the build with a clear message when the base has no npm", async () => {
    const r = await build("true");
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("INSTALL_CODING_CLI=true needs npm in BASE_IMAGE");
  });
});

describe("the Docker harness", () => {
  const saved = { dockerd: process.env.AGENT_FLEET_DOCKERD, host: process.env.AGENT_FLEET_DOCKER_HOST };
  const dir = mkdtempSync(path.join(os.tmpdir(), "afd-broken-"));
  afterAll(() => {
    for (const [k, v] of [
      ["AGENT_FLEET_DOCKERD", saved.dockerd],
      ["AGENT_FLEET_DOCKER_HOST", saved.host],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails loudly when dockerd exits at start, with its log", async () => {
    delete process.env.AGENT_FLEET_DOCKER_HOST;
    process.env.AGENT_FLEET_DOCKERD = "/bin/false";
    await expect(ensureDockerEngine({ instance: "broken-test", dir, startTimeoutSeconds: 30 })).rejects.toThrow(
      /Docker engine "broken-test" did not start on vfs: dockerd exited \(code 1/,
    );
  });

  it("fails loudly when there is no dockerd at all", async () => {
    delete process.env.AGENT_FLEET_DOCKER_HOST;
    process.env.AGENT_FLEET_DOCKERD = path.join(dir, "no-such-dockerd");
    await expect(ensureDockerEngine({ instance: "broken-test", dir, startTimeoutSeconds: 30 })).rejects.toThrow(
      /cannot start .*no-such-dockerd.*docker\.io installed/,
    );
  });

  it("runs on overlay2 where an overlay mounts in the engine's folder, else vfs; the variable forces either", async () => {
    const forced = process.env[STORAGE_DRIVER_ENV];
    try {
      delete process.env[STORAGE_DRIVER_ENV];
      const probed = await chooseStorageDriver(dir);
      // The kernel lists overlay where it can mount one; the probe must agree with a real mount.
      const kernelHasOverlay = /\toverlay\n/.test(readFileSync("/proc/filesystems", "utf8"));
      if (!kernelHasOverlay) expect(probed).toBe("vfs");
      else expect(["overlay2", "vfs"]).toContain(probed);
      expect(existsSync(path.join(dir, "overlay-probe"))).toBe(false);
      process.env[STORAGE_DRIVER_ENV] = "vfs";
      expect(await chooseStorageDriver(dir)).toBe("vfs");
      process.env[STORAGE_DRIVER_ENV] = "overlay2";
      expect(await chooseStorageDriver(dir)).toBe("overlay2");
      process.env[STORAGE_DRIVER_ENV] = "btrfs";
      await expect(chooseStorageDriver(dir)).rejects.toThrow(
        /AGENT_FLEET_DOCKER_STORAGE_DRIVER must be "overlay2" or "vfs", got "btrfs"/,
      );
    } finally {
      if (forced === undefined) delete process.env[STORAGE_DRIVER_ENV];
      else process.env[STORAGE_DRIVER_ENV] = forced;
    }
  });

  it("refuses an external engine that does not answer", async () => {
    process.env.AGENT_FLEET_DOCKER_HOST = `unix://${path.join(dir, "nothing.sock")}`;
    await expect(ensureDockerEngine({ instance: "broken-test" })).rejects.toThrow(/does not answer/);
  });
});
