import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentctlWrapperScript } from "../../fleet/agentctlWrapper.js";
import { consoleNetworkName, consoleSpec } from "../../fleet/console.js";
import { dockerRunArgs, type ContainerSpec } from "../../fleet/spec.js";
import { dockerEnv, dockerTry, run } from "../harness/docker/index.js";
import { freePort, loopbackJson as get } from "../harness/loopbackHttp.js";
import { TestFleet, waitFor } from "./fleet.js";

/**
 * The review console container on a real engine, started from `consoleSpec` + `dockerRunArgs`
 * exactly as DockerHostFleet starts it: reached through its port on the host's 127.0.0.1, with a
 * token from its root-owned tokens file; the host agentctl answered through its operator socket.
 */

const TOKEN = "alice-console-token-0123456789abcdef";

describe("the console container on a real engine", () => {
  let fleet: TestFleet;
  let spec: ContainerSpec;
  let port: number;

  beforeAll(async () => {
    fleet = TestFleet.create("console");
    // The folders the fleet's prepare step makes (root-owned: this suite runs as root).
    mkdirSync(fleet.layout.consoleDir, { recursive: true, mode: 0o700 });
    mkdirSync(fleet.layout.runDir, { recursive: true, mode: 0o755 });
    writeFileSync(`${fleet.layout.consoleDir}/tokens`, `alice:${TOKEN}\n`, { mode: 0o600 });
    port = await freePort();
    spec = consoleSpec({ fleet: fleet.fleet, image: fleet.image, hostRoot: fleet.layout.root, port });
    await fleet.docker(["network", "create", "--driver", "bridge", consoleNetworkName(fleet.fleet)]);
    await fleet.docker(dockerRunArgs(spec));
    await waitFor(
      "the console to answer on its loopback port",
      async () => (await get(port, "/api/v1/health").catch(() => undefined))?.status === 200,
      120_000,
      250,
    );
  });

  afterAll(async () => {
    await fleet?.destroy();
    if (fleet) await dockerTry(fleet.target, ["network", "rm", consoleNetworkName(fleet.fleet)]);
  });

  it("is published on the host's 127.0.0.1 only, on its own network, without capabilities", async () => {
    const c = await fleet.inspect("console");
    expect(c.HostConfig.PortBindings).toEqual({ [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    expect(c.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(c.HostConfig.CapAdd ?? []).toEqual([]);
    expect(c.HostConfig.ReadonlyRootfs).toBe(true);
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual([consoleNetworkName(fleet.fleet)]);
  });

  it("answers /api/v1/health without a token and the API with one; queued tasks are the token's name's", async () => {
    const health = await get(port, "/api/v1/health");
    expect(health).toEqual({ status: 200, json: { status: "ok" } });
    expect((await get(port, "/api/v1/agents")).status).toBe(401);
    expect((await get(port, "/api/v1/agents", { token: "wrong-token-0123456789abcdef" })).status).toBe(401);
    const agents = await get(port, "/api/v1/agents", { token: TOKEN });
    expect(agents).toEqual({ status: 200, json: [] });
    const created = await get(port, "/api/v1/tasks", {
      token: TOKEN,
      method: "POST",
      body: { title: "from the console", instructions: "hello" },
    });
    expect(created.status).toBe(201);
    const task = await get(port, `/api/v1/tasks/${created.json.id}`, { token: TOKEN });
    expect(task.json.created_by).toBe("alice");
  });

  it("answers the host agentctl on its operator socket, as the container-per-call path does", async () => {
    const env = dockerEnv(fleet.target);
    const fast = `${fleet.root}/bin/agentctl-fast`;
    writeFileSync(
      fast,
      agentctlWrapperScript({
        image: fleet.image,
        hostRoot: fleet.layout.root,
        docker: "/nonexistent/docker",
        socket: fleet.layout.operatorSocket,
      }),
      { mode: 0o755 },
    );
    const viaSocket = await run(fast, ["tasks"], { cwd: fleet.opsDir, env, timeoutMs: 60_000 });
    const viaContainer = await run(fleet.agentctlPath, ["tasks"], { cwd: fleet.opsDir, env, timeoutMs: 120_000 });
    expect(viaSocket.stderr).toBe("");
    expect(viaSocket.code).toBe(0);
    expect(viaSocket.stdout).toContain("from the console");
    expect({ code: viaSocket.code, stdout: viaSocket.stdout }).toEqual({
      code: viaContainer.code,
      stdout: viaContainer.stdout,
    });
  });
});
