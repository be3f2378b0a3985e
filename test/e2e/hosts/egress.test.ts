/**
 * Egress through the real CLI on the local target: `pulumi up` starts the fleet's egress proxy
 * and three agents running the egress probe (test/containers/fixtures/egress-probe): `listed`
 * with an allow-list naming one of two HTTP servers on the test machine, `open` with network
 * full, `quiet` with the default (none). Each agent program, for a task, tries both servers
 * through its proxy and straight at their IP address (the bypass attempt).
 *
 * The suite's engine has no bridge (agents there need none), so this scenario brings an engine
 * of its own with a bridge (named after its folder, a free 172.29.N.0/24, no NAT, no forwarding):
 * containers on the engine's default network (the proxy, `open`) reach the test machine at the
 * bridge's gateway address, where the two servers listen.
 */
import { cpSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EGRESS } from "../../../contract/egress.js";
import {
  buildBaseImage,
  docker,
  engineDir,
  ensureDockerEngine,
  run,
  type DockerEngine,
} from "../../harness/docker/index.js";
import { REPO_ROOT } from "../../harness/docker/agentImage.js";
import { Operator } from "../../containers/hostPrograms/operator.js";
import { bridgeFor } from "../../containers/hostPrograms/vps.js";
import { waitHealthy } from "../../containers/hostPrograms/world.js";
import { waitFor } from "../../containers/fleet.js";
import { hostsWorld, type HostsWorld } from "./world.js";

const ENGINE_INSTANCE = "e2e-egress";
const AGENTS = ["listed", "open", "quiet"];

interface Server {
  target: string;
  hits: string[];
  close(): Promise<void>;
}

function server(name: string, address: string): Promise<Server> {
  const hits: string[] = [];
  const s = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end(`${name} ${req.url}\n`);
  });
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, address, () =>
      resolve({
        target: `${address}:${(s.address() as AddressInfo).port}`,
        hits,
        close: () => new Promise((r) => s.close(() => r())),
      }),
    );
  });
}

describe("egress on the local target through the real CLI: allow-list by the fleet's proxy, full, none", () => {
  let engine: DockerEngine;
  let w: HostsWorld;
  let allowed: Server;
  let denied: Server;
  let op: Operator;
  let containers: Record<string, string>;
  const probes: Record<string, any> = {};

  beforeAll(async () => {
    const bridge = await bridgeFor(engineDir(ENGINE_INSTANCE));
    engine = await ensureDockerEngine({ instance: ENGINE_INSTANCE, bridge });
    // The test machine's address on the bridge: the containers' gateway, where the servers listen.
    const gateway = bridge.cidr.split("/")[0]!;
    allowed = await server("allowed", gateway);
    denied = await server("denied", gateway);
    const base = await buildBaseImage(engine);
    w = hostsWorld("egress", {}, { engine, baseImage: base.tag });
    cpSync(
      path.join(REPO_ROOT, "test", "containers", "fixtures", "egress-probe"),
      path.join(w.projectDir, "agents", "probe"),
      {
        recursive: true,
      },
    );
    await w.stack.init({
      target: "local",
      fleetName: w.fleet,
      image: { baseImage: w.baseImage },
      agents: [
        { name: "listed", code: "agents/probe", network: [allowed.target] },
        { name: "open", code: "agents/probe", network: "full" },
        { name: "quiet", code: "agents/probe" },
      ],
    });
  }, 600_000);

  afterAll(async () => {
    await w?.cleanup();
    await engine?.stop();
    await allowed?.close();
    await denied?.close();
  });

  it("up starts the egress proxy and the agents; each agent program probes both servers for a task", async () => {
    await w.stack.up();
    const outputs = await w.stack.outputs();
    containers = Object.fromEntries(
      (outputs["agents"] as { name: string; container: string }[]).map((a) => [a.name, a.container]),
    );
    expect(Object.keys(containers).sort()).toEqual(AGENTS);
    await Promise.all(Object.values(containers).map((c) => waitHealthy(w.engine, c)));
    const wrapper = (outputs["agentctl"] as Record<string, string>)["status"]!.replace(/ status$/, "");
    op = new Operator(
      (args) => run(wrapper, args, { cwd: w.work, env: { ...process.env, ...w.dockerEnv }, timeoutMs: 120_000 }),
      w.work,
    );
    const instructions = JSON.stringify({ servers: { allowed: allowed.target, denied: denied.target } });
    for (const agent of AGENTS) {
      const id = await op.addTask("Probe egress", instructions, agent);
      probes[agent] = await waitFor(
        `${agent}'s EGRESS line`,
        async () => {
          const line = (await op.ok(["logs", "--agent", agent, "--json"]))
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l))
            .find((e) => e.event === "program-output" && e.task === id && String(e.line).startsWith("EGRESS "));
          return line ? JSON.parse(String(line.line).slice("EGRESS ".length)) : undefined;
        },
        240_000,
        1000,
      );
    }
  });

  it("allow-list: the allowed server answers through the proxy; the other is refused with a 403 naming it", () => {
    const p = probes["listed"];
    expect(p.proxy).toBe(`http://127.0.0.1:${EGRESS.proxyPort}`);
    expect(p.servers.allowed.proxyGet).toEqual({ status: 200, body: "allowed /get-listed" });
    expect(p.servers.allowed.proxyConnect).toEqual({ status: 200, body: "allowed /tunnel-listed" });
    expect(p.servers.denied.proxyGet).toEqual({
      status: 403,
      body: `egress proxy: ${denied.target} is not on agent listed's allow-list`,
    });
    expect(p.servers.denied.proxyConnect.status).toBe(403);
  });

  it("the direct-IP bypass has no route: the allow-listed agent's container has only loopback", () => {
    const p = probes["listed"];
    expect(p.interfaces).toEqual(["lo"]);
    expect(p.servers.allowed.direct).toEqual({ error: "ENETUNREACH" });
    expect(p.servers.denied.direct).toEqual({ error: "ENETUNREACH" });
    expect(p.egressFolder).toEqual({ ok: [EGRESS.socketName] });
    expect(p.writeEgressFolder).toEqual({ error: "EROFS" });
    expect(p.listenOnProxyPort).toEqual({ error: "EADDRINUSE" });
  });

  it("full reaches both servers directly; none reaches neither; the denied server saw only `open`", () => {
    expect(probes["open"].servers.allowed.direct).toEqual({ status: 200, body: "allowed /direct-open" });
    expect(probes["open"].servers.denied.direct).toEqual({ status: 200, body: "denied /direct-open" });
    expect(probes["quiet"].proxy).toBeNull();
    expect(probes["quiet"].interfaces).toEqual(["lo"]);
    expect(probes["quiet"].servers.allowed.direct).toEqual({ error: "ENETUNREACH" });
    expect(probes["quiet"].servers.denied.direct).toEqual({ error: "ENETUNREACH" });
    expect(denied.hits).toEqual(["/direct-open"]);
    expect(allowed.hits.sort()).toEqual(["/direct-open", "/get-listed", "/tunnel-listed"]);
  });

  it("destroy removes the proxy with the agents", async () => {
    await w.stack.destroy();
    const left = await docker(engine, ["ps", "-aq", "--filter", `label=agent-fleet.fleet=${w.fleet}`]);
    expect(left.trim()).toBe("");
  });
});
