import { describe, expect, it } from "vitest";
import { parseEgressTarget } from "../../../contract/egress.js";
import { DEFAULT_NETWORK } from "../../../config/defaults.js";
import { containerSpec, dockerRunArgs, egressProxySpec, type AgentContainerSettings } from "../../../fleet/spec.js";
import { isAllowed, parseEgressRules } from "../../../runtime/egress/proxy.js";

const base: AgentContainerSettings = {
  name: "a1",
  fleet: "f",
  image: "f/agent:1",
  hostRoot: "/srv/agent-fleet",
  approvalRequired: true,
  capabilities: [],
  env: {},
  hasSecrets: false,
  resources: { cpus: 1, memoryMb: 512, pids: 64 },
  network: DEFAULT_NETWORK,
};
const allow = (...e: string[]) => ({
  mode: "allow" as const,
  allow: e.map((x) => parseEgressTarget(x) as { host: string; port: number }),
});

describe("network in the container spec", () => {
  it("default none: --network none, no proxy variables, no egress mount", () => {
    const spec = containerSpec(base);
    expect(DEFAULT_NETWORK).toEqual({ mode: "none" });
    expect(spec.network).toBe("none");
    expect(dockerRunArgs(spec).join(" ")).toContain("--network none");
    expect(spec.env.HTTPS_PROXY).toBeUndefined();
    expect(spec.mounts.map((m) => m.target)).not.toContain("/egress");
  });
  it("full: the engine's default network, no --network flag", () => {
    const spec = containerSpec({ ...base, network: { mode: "full" } });
    expect(spec.network).toBe("bridge");
    expect(dockerRunArgs(spec)).not.toContain("--network");
  });
  it("allow-list: loopback only, proxy variables to the runtime's forwarder, its socket folder read-only", () => {
    const spec = containerSpec({ ...base, network: allow("b.example.com:443", "a.example.com:80") });
    expect(spec.network).toBe("none");
    expect(spec.egressAllow).toEqual(["a.example.com:80", "b.example.com:443"]);
    expect(spec.env).toMatchObject({
      AGENT_EGRESS_SOCKET: "/egress/proxy.sock",
      AGENT_EGRESS_PROXY_PORT: "3128",
      HTTP_PROXY: "http://127.0.0.1:3128",
      HTTPS_PROXY: "http://127.0.0.1:3128",
      https_proxy: "http://127.0.0.1:3128",
    });
    expect(spec.mounts).toContainEqual({ source: "/srv/agent-fleet/egress/a1", target: "/egress", readOnly: true });
  });
  it("the egress proxy exists only when some agent has an allow-list, and carries every list", () => {
    expect(
      egressProxySpec({
        fleet: "f",
        image: "i",
        hostRoot: "/srv/agent-fleet",
        agents: [
          { name: "a1", network: { mode: "none" } },
          { name: "a2", network: { mode: "full" } },
        ],
      }),
    ).toBeUndefined();
    const spec = egressProxySpec({
      fleet: "f",
      image: "i",
      hostRoot: "/srv/agent-fleet",
      agents: [
        { name: "b", network: allow("x.example.com:443") },
        { name: "a", network: { mode: "none" } },
      ],
    })!;
    expect(spec.name).toBe("f-egress");
    expect(JSON.parse(spec.env.AGENT_EGRESS_RULES!)).toEqual({ b: ["x.example.com:443"] });
    expect(spec.capDrop).toEqual(["ALL"]);
    expect(spec.capAdd).toEqual([]);
    expect(spec.readOnlyRootFs).toBe(true);
    expect(spec.mounts).toEqual([{ source: "/srv/agent-fleet/egress", target: "/egress", readOnly: false }]);
    const args = dockerRunArgs(spec);
    expect(args.slice(-2)).toEqual(["i", "egress-proxy"]);
    expect(args).not.toContain("--network");
  });
});

describe("allow-list entries and the proxy's matching", () => {
  it("parses host:port, IPv4 and [IPv6], refuses the rest with a message", () => {
    expect(parseEgressTarget("API.Example.com:443")).toEqual({ host: "api.example.com", port: 443 });
    expect(parseEgressTarget("10.1.2.3:8080")).toEqual({ host: "10.1.2.3", port: 8080 });
    expect(parseEgressTarget("[2001:db8::1]:443")).toEqual({ host: "2001:db8::1", port: 443 });
    for (const bad of [
      "api.example.com",
      "*.example.com:443",
      "http://a.com:80",
      "a.com:0",
      "a.com:65536",
      "a.com:443/x",
      "999.1.1.1:80",
      "a b:80",
      "",
    ]) {
      expect(parseEgressTarget(bad), bad).toHaveProperty("error");
    }
  });
  it("matches exactly: host (case-insensitive, trailing dot) and port; a name does not admit its IP", () => {
    const list = [
      { host: "api.example.com", port: 443 },
      { host: "10.0.0.5", port: 80 },
    ];
    expect(isAllowed(list, "API.example.com.", 443)).toBe(true);
    expect(isAllowed(list, "api.example.com", 80)).toBe(false);
    expect(isAllowed(list, "evil.api.example.com", 443)).toBe(false);
    expect(isAllowed(list, "10.0.0.5", 80)).toBe(true);
    expect(isAllowed(list, "10.0.0.6", 80)).toBe(false);
  });
  it("rules from the environment are checked entry by entry", () => {
    expect(parseEgressRules('{"a1":["x.example.com:443"]}')).toEqual({ a1: [{ host: "x.example.com", port: 443 }] });
    expect(() => parseEgressRules('{"a1":["x.example.com"]}')).toThrow(/a1\[0\]/);
    expect(() => parseEgressRules('{"../x":[]}')).toThrow(/not an agent name/);
    expect(() => parseEgressRules("[]")).toThrow(/object/);
  });
});
