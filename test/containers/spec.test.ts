import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestFleet } from "./fleet.js";

/**
 * The container spec as a real engine applies it: every setting of `containerSpec` reaches the
 * running container through `dockerRunArgs` (argv, no shell), and nothing else does.
 */
describe("the container spec on a real engine", () => {
  let fleet: TestFleet;
  let c: any;

  beforeAll(async () => {
    fleet = TestFleet.create("spec");
    fleet.addAgent("agent-1", "agents/agent-1", {
      approvalRequired: true,
      capabilities: ["edit", "docs"],
      env: { GREETING: 'it\'s a "test" $HOME `id`' },
      secrets: "API_TOKEN=from-the-env-file\n",
    });
    await fleet.start("agent-1", { resources: { cpus: 0.5, memoryMb: 384, pids: 128 }, taskTimeoutSeconds: 90 });
    await fleet.waitHealthy("agent-1");
    c = await fleet.inspect("agent-1");
  });

  afterAll(async () => {
    await fleet?.destroy();
  });

  it("Docker reports exactly the spec's settings", () => {
    const spec = fleet.spec("agent-1", { resources: { cpus: 0.5, memoryMb: 384, pids: 128 }, taskTimeoutSeconds: 90 });
    const h = c.HostConfig;
    expect(c.Name).toBe(`/${spec.name}`);
    expect(c.Config.Hostname).toBe("agent-1");
    expect(c.Config.User).toBe("root");
    expect(c.Config.Labels).toMatchObject(spec.labels);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.CapDrop).toEqual(["ALL"]);
    expect([...h.CapAdd].sort()).toEqual(["KILL", "SETGID", "SETUID"]);
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.Privileged).toBe(false);
    expect(h.NanoCpus).toBe(0.5e9);
    expect(h.Memory).toBe(384 * 1024 * 1024);
    expect(h.MemorySwap).toBe(384 * 1024 * 1024);
    expect(h.PidsLimit).toBe(128);
    expect(h.LogConfig).toEqual({ Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } });
    expect(h.RestartPolicy.Name).toBe("unless-stopped");
    expect(h.PortBindings ?? {}).toEqual({});
    expect(h.PublishAllPorts).toBe(false);
    expect(h.Binds ?? []).toEqual([]);
    expect(h.Tmpfs).toEqual(Object.fromEntries(spec.tmpfs.map((t) => [t.target, t.options])));
    const mounts = [...c.Mounts]
      .sort((a: any, b: any) => a.Destination.localeCompare(b.Destination))
      .map((m: any) => ({ source: m.Source, target: m.Destination, readOnly: !m.RW, type: m.Type }));
    expect(mounts).toEqual(
      [...spec.mounts].sort((a, b) => a.target.localeCompare(b.target)).map((m) => ({ ...m, type: "bind" })),
    );
    expect(JSON.stringify(c)).not.toContain("docker.sock");
    // Environment: the spec's, plus the env-file's, plus the image's own (PATH, and the agent
    // user that is this container's alone, see agent-image/Dockerfile); nothing else.
    const env = new Map<string, string>(
      c.Config.Env.map((e: string) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    for (const [k, v] of Object.entries(spec.env)) expect(env.get(k), k).toBe(v);
    expect(env.get("GREETING")).toBe('it\'s a "test" $HOME `id`');
    expect(env.get("API_TOKEN")).toBe("from-the-env-file");
    expect(env.get("AGENT_TASK_TIMEOUT_SECONDS")).toBe("90");
    expect(env.get("AGENT_RUN_AS")).toBe("agent");
    expect(env.get("AGENT_EXCLUSIVE_RUN_AS")).toBe("true");
    expect([...env.keys()].sort()).toEqual(
      [...Object.keys(spec.env), "API_TOKEN", "PATH", "AGENT_RUN_AS", "AGENT_EXCLUSIVE_RUN_AS"].sort(),
    );
  });

  it("inside, the mounts and limits are what the spec says", async () => {
    const out = await fleet.docker([
      "exec",
      fleet.containerName("agent-1"),
      "sh",
      "-c",
      "grep -E ' (/|/app|/shared|/decisions|/tmp|/scratch) ' /proc/mounts; grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/1/status",
    ]);
    const mount = (target: string) =>
      out
        .split("\n")
        .find((l) => l.split(" ")[1] === target)
        ?.split(" ")[3]
        ?.split(",") ?? [];
    expect(mount("/")).toContain("ro");
    expect(mount("/app")).toContain("rw");
    expect(mount("/shared")).toContain("rw");
    expect(mount("/decisions")).toContain("ro");
    expect(mount("/tmp")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "noexec"]));
    expect(mount("/scratch")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev"]));
    expect(mount("/scratch")).not.toContain("noexec");
    // KILL (5), SETGID (6), SETUID (7): 0xe0; nothing else, not even in the bounding set.
    expect(out).toMatch(/^CapEff:\s+00000000000000e0$/m);
    expect(out).toMatch(/^CapBnd:\s+00000000000000e0$/m);
    expect(out).toMatch(/^NoNewPrivs:\s+1$/m);
  });
});
