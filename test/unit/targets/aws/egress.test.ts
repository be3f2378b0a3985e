import { afterAll, describe, expect, test, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentEgressRules, egressByNameWarning } from "../../../../targets/aws/egress.js";
import { CODE_ROOT, agent, runFleet } from "./mocks.js";

const T = {
  sg: "aws:ec2/securityGroup:SecurityGroup",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  service: "aws:ecs/service:Service",
  taskDef: "aws:ecs/taskDefinition:TaskDefinition",
} as const;

afterAll(() => {
  rmSync(CODE_ROOT, { recursive: true, force: true });
  rmSync(join(tmpdir(), "agent-fleet-build", "agent-fleet.aws"), { recursive: true, force: true });
});

describe("agentEgressRules: an agent's network as security-group egress", () => {
  test("none: no rule; full: every protocol anywhere", () => {
    expect(agentEgressRules({ mode: "none" })).toEqual([]);
    expect(agentEgressRules({ mode: "full" })).toEqual([
      { key: "all", description: "network full: any protocol, any address", ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
    ]);
  });

  test("allow-list: an IP address narrows to itself; names on one port share one rule to anywhere", () => {
    const rules = agentEgressRules({
      mode: "allow",
      allow: [
        { host: "api.anthropic.com", port: 443 },
        { host: "github.com", port: 443 },
        { host: "203.0.113.7", port: 8080 },
        { host: "2001:db8::1", port: 443 },
        { host: "pypi.org", port: 8443 },
      ],
    });
    expect(rules.map(({ key, ...r }) => [key, r])).toEqual([
      [
        "tcp-443-any",
        {
          description: "allow-list by port only: api.anthropic.com github.com",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          cidrIpv4: "0.0.0.0/0",
        },
      ],
      [
        "tcp-443-v6-2001-db8--1",
        {
          description: "allow-list [2001:db8::1]:443",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          cidrIpv6: "2001:db8::1/128",
        },
      ],
      [
        "tcp-8080-203-0-113-7",
        {
          description: "allow-list 203.0.113.7:8080",
          ipProtocol: "tcp",
          fromPort: 8080,
          toPort: 8080,
          cidrIpv4: "203.0.113.7/32",
        },
      ],
      [
        "tcp-8443-any",
        {
          description: "allow-list by port only: pypi.org",
          ipProtocol: "tcp",
          fromPort: 8443,
          toPort: 8443,
          cidrIpv4: "0.0.0.0/0",
        },
      ],
    ]);
    // Keys are unique: each becomes a resource name.
    expect(new Set(rules.map((r) => r.key)).size).toBe(rules.length);
  });
});

describe("FargateFleet: one security group per agent for its network, next to the fleet's tasks group", () => {
  test("none, full and an allow-list each get their own group and rules; every service has both groups; no ingress added", async () => {
    const warn = vi.spyOn(pulumi.log, "warn");
    const run = await runFleet({
      fleetName: "demo",
      agents: [
        agent("quiet"),
        agent("open", { network: { mode: "full" } }),
        agent("listed", {
          network: {
            mode: "allow",
            allow: [
              { host: "api.anthropic.com", port: 443 },
              { host: "203.0.113.7", port: 8080 },
            ],
          },
        }),
      ],
    });
    const groups = run.byType(T.sg).map((g) => g.name);
    expect(groups).toEqual(expect.arrayContaining(["fleet-quiet-egress", "fleet-open-egress", "fleet-listed-egress"]));
    const rulesOf = (agentName: string) =>
      run
        .byType(T.egress)
        .filter((r) => r.inputs.securityGroupId === `fleet-${agentName}-egress-id`)
        .map((r) => [r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6]);
    expect(rulesOf("quiet")).toEqual([]);
    expect(rulesOf("open")).toEqual([["-1", undefined, undefined, "0.0.0.0/0"]]);
    expect(rulesOf("listed")).toEqual([
      ["tcp", 443, 443, "0.0.0.0/0"],
      ["tcp", 8080, 8080, "203.0.113.7/32"],
    ]);
    // The fleet's tasks group keeps only what every task needs: the platform's 443 and NFS to EFS.
    expect(
      run
        .byType(T.egress)
        .filter((r) => r.inputs.securityGroupId === "fleet-network-tasks-id")
        .map((r) => [r.inputs.fromPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]),
    ).toEqual([
      [443, "0.0.0.0/0"],
      [2049, "fleet-network-efs-id"],
    ]);
    for (const s of run.byType(T.service)) {
      expect(s.inputs.networkConfiguration.securityGroups).toEqual([
        "fleet-network-tasks-id",
        `fleet-${s.inputs.name}-egress-id`,
      ]);
    }
    expect(run.byType(T.ingress).map((r) => r.inputs.securityGroupId)).toEqual(["fleet-network-efs-id"]);
    // No proxy settings reach a Fargate task: there is no egress proxy there.
    for (const td of run.byType(T.taskDef)) expect(JSON.stringify(td.inputs.containerDefinitions)).not.toMatch(/PROXY/);
    // The name on the list is announced as filtered by port only; the IP address is not.
    const warned = warn.mock.calls.map((c) => String(c[0]));
    expect(warned).toContain(`agent listed: network ${egressByNameWarning({ host: "api.anthropic.com", port: 443 })}`);
    expect(warned.some((w) => w.includes("203.0.113.7"))).toBe(false);
    warn.mockRestore();
  });
});
