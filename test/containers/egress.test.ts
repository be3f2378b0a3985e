import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EGRESS, type NetworkSetting } from "../../contract/egress.js";
import { dockerRunArgs, egressProxySpec, type ContainerSpec } from "../../fleet/spec.js";
import { REPO_ROOT } from "../harness/docker/agentImage.js";
import { docker, dockerTry, mustRun } from "../harness/docker/index.js";
import { TestFleet, waitFor } from "./fleet.js";

/**
 * Egress on a real engine, with the agent image and the fleet's egress proxy as DockerHostFleet
 * starts them (`egressProxySpec`, `containerSpec`). Two HTTP servers run on the test machine
 * (`allowed` and `denied`); the probe agent program (fixtures/egress-probe), run by the runtime
 * as the agent user for a task, tries each through its proxy (GET and CONNECT) and straight at
 * the server's IP (the bypass attempt), and pokes at its socket folder and the proxy's rules.
 *
 * - `allow`: allow-listed for `allowed` only. It reaches `allowed` through the proxy, is refused
 *   `denied` with a 403 naming it (logged by the proxy), and a direct connection has no route.
 * - `other`: a second allow-listed agent, for `denied` only: rules and sockets are per agent.
 * - `full`: reaches both directly. `none`: reaches neither (no proxy, no route).
 *
 * The suite's engine has no default bridge (`--bridge none`), so the test makes a network of its
 * own (a bridge whose gateway is the test machine, no NAT, no forwarding) and puts the containers
 * that would be on the host's default network (`full`, the proxy) on it; the servers listen on the
 * gateway address. The specs of `none` and allow-listed agents are run exactly as built.
 */
const PROBE = path.join(REPO_ROOT, "test", "containers", "fixtures", "egress-probe");

interface Server {
  name: string;
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
        name,
        target: `${address}:${(s.address() as AddressInfo).port}`,
        hits,
        close: () => new Promise((r) => s.close(() => r())),
      }),
    );
  });
}

/** The spec's argv with `--network <net>` in front of the image (a spec on the default network). */
function onNetwork(spec: ContainerSpec, net: string): string[] {
  const args = dockerRunArgs(spec);
  expect(args).not.toContain("--network");
  const at = args.indexOf(spec.image);
  return [...args.slice(0, at), "--network", net, ...args.slice(at)];
}

/** A free 172.30.N.0/24 (no route of this machine uses it) for the test's bridge. */
async function freeSubnet(seed: string): Promise<number> {
  const routes = await mustRun("ip", ["-4", "route", "show"]);
  const start = parseInt(createHash("sha256").update(seed).digest("hex").slice(0, 2), 16);
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    if (!routes.includes(`172.30.${n}.`)) return n;
  }
  throw new Error("no free 172.30.N.0/24 for the egress test's bridge");
}

describe("egress on a real engine: allow-list through the fleet's proxy, full, none", () => {
  let fleet: TestFleet;
  let net: string;
  let allowed: Server;
  let denied: Server;
  let proxyName: string;
  const probes: Record<string, any> = {};
  const results: Record<string, any> = {};

  const settings: Record<string, () => NetworkSetting> = {
    allow: () => ({ mode: "allow", allow: [hostPort(allowed)] }),
    other: () => ({ mode: "allow", allow: [hostPort(denied)] }),
    full: () => ({ mode: "full" }),
    none: () => ({ mode: "none" }),
  };
  const hostPort = (s: Server) => ({
    host: s.target.slice(0, s.target.lastIndexOf(":")),
    port: Number(s.target.slice(s.target.lastIndexOf(":") + 1)),
  });

  beforeAll(async () => {
    fleet = TestFleet.create("egress");
    net = fleet.fleet;
    const n = await freeSubnet(fleet.fleet);
    const gateway = `172.30.${n}.1`;
    await docker(fleet.target, [
      "network",
      "create",
      "--driver",
      "bridge",
      "--subnet",
      `172.30.${n}.0/24`,
      "--gateway",
      gateway,
      "--opt",
      `com.docker.network.bridge.name=afeg${randomBytes(4).toString("hex")}`,
      "--opt",
      "com.docker.network.bridge.enable_ip_masquerade=false",
      "--label",
      `agent-fleet.fleet=${fleet.fleet}`,
      net,
    ]);
    // The bridge's host side carries the gateway address once it exists; the servers listen there.
    allowed = await server("allowed", gateway);
    denied = await server("denied", gateway);

    for (const name of Object.keys(settings)) fleet.addAgent(name, PROBE, { approvalRequired: true });
    const agents = Object.entries(settings).map(([name, s]) => ({ name, network: s() }));
    const proxy = egressProxySpec({ fleet: fleet.fleet, image: fleet.image, hostRoot: fleet.layout.root, agents });
    if (!proxy) throw new Error("allow-listed agents must give the fleet an egress proxy");
    proxyName = proxy.name;
    // What prepare-dirs does on a host: root-owned socket folders of the allow-listed agents.
    await mustRun("install", ["-d", "-m", "0755", fleet.layout.egressDir]);
    for (const a of ["allow", "other"]) await mustRun("install", ["-d", "-m", "0755", fleet.layout.agentEgressDir(a)]);
    await docker(fleet.target, onNetwork(proxy, net), { timeoutMs: 120_000 });
    await waitFor(
      "the egress proxy to listen",
      async () => ((await docker(fleet.target, ["logs", proxy.name])).includes('"listening"') ? true : undefined),
      60_000,
    );

    for (const [name, s] of Object.entries(settings)) {
      const spec = fleet.spec(name, { network: s() });
      if (spec.network === "bridge") await docker(fleet.target, onNetwork(spec, net), { timeoutMs: 120_000 });
      else await docker(fleet.target, dockerRunArgs(spec), { timeoutMs: 120_000 });
    }
    await Promise.all(Object.keys(settings).map((name) => fleet.waitHealthy(name)));

    const instructions = JSON.stringify({ servers: { allowed: allowed.target, denied: denied.target } });
    const tasks = await Promise.all(
      Object.keys(settings).map(async (name) => [
        name,
        await fleet.addTask("Probe egress", instructions, { agent: name }),
      ]),
    );
    for (const [name, id] of tasks) {
      results[name!] = await fleet.waitTask(id!, ["done", "failed"]);
      const line = (await fleet.logs(name!)).find(
        (e) => e.event === "program-output" && e.task === id && String(e.line).startsWith("EGRESS "),
      );
      if (!line) throw new Error(`agent ${name} printed no EGRESS line: ${JSON.stringify(results[name!])}`);
      probes[name!] = JSON.parse(String(line.line).slice("EGRESS ".length));
    }
  }, 600_000);

  afterAll(async () => {
    await fleet?.destroy();
    if (net) await dockerTry(fleet.target, ["network", "rm", net]);
    await allowed?.close();
    await denied?.close();
  });

  it("the probes ran as the agent user, for a task, in each agent's container", () => {
    for (const name of Object.keys(settings)) {
      expect(probes[name].agent, name).toBe(name);
      expect(probes[name].uid, name).toBe(10001);
      expect(results[name].status, name).toBe("done");
    }
  });

  it("allow-list: the allowed server answers through the proxy (GET and CONNECT); the other is refused with a 403 naming it", () => {
    const p = probes["allow"];
    expect(p.proxy).toBe(`http://127.0.0.1:${EGRESS.proxyPort}`);
    expect(p.servers.allowed.proxyGet).toEqual({ status: 200, body: "allowed /get-allow" });
    expect(p.servers.allowed.proxyConnect).toEqual({ status: 200, body: "allowed /tunnel-allow" });
    expect(p.servers.denied.proxyGet.status).toBe(403);
    expect(p.servers.denied.proxyGet.body).toBe(`egress proxy: ${denied.target} is not on agent allow's allow-list`);
    expect(p.servers.denied.proxyConnect.status).toBe(403);
  });

  it("allow-list: a direct connection to either server's IP (the bypass) has no route; only loopback exists", () => {
    const p = probes["allow"];
    expect(p.interfaces).toEqual(["lo"]);
    expect(p.servers.allowed.direct).toEqual({ error: "ENETUNREACH" });
    expect(p.servers.denied.direct).toEqual({ error: "ENETUNREACH" });
  });

  it("rules and sockets are per agent: `other` gets only its own server, on its own socket", () => {
    const p = probes["other"];
    expect(p.servers.denied.proxyGet).toEqual({ status: 200, body: "denied /get-other" });
    expect(p.servers.allowed.proxyGet.status).toBe(403);
    expect(p.servers.allowed.proxyConnect.status).toBe(403);
    expect(p.servers.allowed.direct).toEqual({ error: "ENETUNREACH" });
    // Each allow-listed agent sees exactly one socket, its own, and cannot replace or add to it.
    for (const name of ["allow", "other"]) {
      expect(probes[name].egressFolder, name).toEqual({ ok: [EGRESS.socketName] });
      expect(probes[name].writeEgressFolder, name).toEqual({ error: "EROFS" });
      expect(probes[name].replaceSocket, name).toEqual({ error: "EROFS" });
      expect(probes[name].listenOnProxyPort, name).toEqual({ error: "EADDRINUSE" });
      expect(probes[name].rulesInEnv, name).toEqual([]);
    }
  });

  it("the proxy logged each decision with the agent's name; the denied server saw only the agents allowed it", async () => {
    const log = (await docker(fleet.target, ["logs", proxyName]))
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const denies = log.filter((e) => e.verdict === "deny");
    expect(denies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ agent: "allow", target: denied.target, why: "not on the allow-list" }),
        expect.objectContaining({ agent: "other", target: allowed.target, why: "not on the allow-list" }),
      ]),
    );
    expect(log.filter((e) => e.verdict === "allow").map((e) => `${e.agent} ${e.target}`)).toEqual(
      expect.arrayContaining([`allow ${allowed.target}`, `other ${denied.target}`]),
    );
    expect(new Set(denied.hits.map((h) => h.replace(/^\/\w+-/, "")))).toEqual(new Set(["other", "full"]));
    expect(new Set(allowed.hits.map((h) => h.replace(/^\/\w+-/, "")))).toEqual(new Set(["allow", "full"]));
  });

  it("full reaches both servers directly and has no proxy; none reaches neither and has only loopback", () => {
    const f = probes["full"];
    expect(f.proxy).toBeNull();
    expect(f.servers.allowed.direct).toEqual({ status: 200, body: "allowed /direct-full" });
    expect(f.servers.denied.direct).toEqual({ status: 200, body: "denied /direct-full" });
    const n = probes["none"];
    expect(n.proxy).toBeNull();
    expect(n.interfaces).toEqual(["lo"]);
    expect(n.egressFolder).toEqual({ error: "ENOENT" });
    expect(n.servers.allowed.direct).toEqual({ error: "ENETUNREACH" });
    expect(n.servers.denied.direct).toEqual({ error: "ENETUNREACH" });
  });
});
