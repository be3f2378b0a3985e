import { describe, expect, it } from "vitest";
import {
  consoleNetworkProgram,
  consoleRemoveProgram,
  consoleSpec,
  consoleTokensFile,
  consoleTunnelCommand,
} from "../../../fleet/console.js";
import { dockerRunArgs } from "../../../fleet/spec.js";

const settings = { fleet: "prod", image: "prod/agent:abc", hostRoot: "/srv/agent-fleet", port: 8080 };

describe("console container spec", () => {
  it("publishes only on the host's loopback; dockerRunArgs refuses anything else", () => {
    const spec = consoleSpec(settings);
    const args = dockerRunArgs(spec);
    expect(args.filter((a, i) => args[i - 1] === "--publish")).toEqual(["127.0.0.1:8080:8080"]);
    expect(args.slice(args.indexOf("prod/agent:abc") + 1)).toEqual(spec.command);
    const open = { ...spec, publish: [{ hostIp: "0.0.0.0" as "127.0.0.1", hostPort: 8080, containerPort: 8080 }] };
    expect(() => dockerRunArgs(open)).toThrow(/only published on 127\.0\.0\.1, got 0\.0\.0\.0/);
  });

  it("holds no capability, a read-only root, and no group unless the operator's is given", () => {
    const spec = consoleSpec(settings);
    expect(spec.capAdd).toEqual([]);
    expect(spec.groupAdd).toBeUndefined();
    expect(spec.command).not.toContain("--operator-socket-group");
    const local = consoleSpec({ ...settings, socketGroup: 1000 });
    expect(local.groupAdd).toEqual([1000]);
    expect(local.command?.slice(-2)).toEqual(["--operator-socket-group", "1000"]);
  });

  it("creates its network only when missing and removes it after the container", () => {
    expect(consoleNetworkProgram("prod")).toBe(
      "docker network inspect prod-console >/dev/null 2>&1 || docker network create --driver bridge prod-console >/dev/null",
    );
    const rm = consoleRemoveProgram("prod");
    expect(rm.indexOf("docker rm --force prod-console")).toBeLessThan(rm.indexOf("docker network rm prod-console"));
  });
});

describe("console tokens file", () => {
  it("is name:token lines, sorted", () => {
    expect(consoleTokensFile({ bob: "b".repeat(20), alice: "a".repeat(24) })).toBe(
      `alice:${"a".repeat(24)}\nbob:${"b".repeat(20)}\n`,
    );
  });

  it("refuses bad tokens by key path without quoting them", () => {
    const cases: Array<[string, RegExp]> = [
      ["short-secret-x", /console\.tokens\.alice: the token is shorter than 20 characters/],
      ["has a space in it 0123456789", /console\.tokens\.alice: the token is empty or has spaces/],
      ["line\nbreak-0123456789012345", /console\.tokens\.alice: the token is empty or has spaces/],
    ];
    for (const [token, message] of cases) {
      let error: Error | undefined;
      try {
        consoleTokensFile({ alice: token });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain(token);
    }
  });
});

describe("console tunnel", () => {
  it("forwards the port to the host's loopback over the stack's SSH command", () => {
    expect(consoleTunnelCommand("ssh ops@203.0.113.5", 8080)).toBe("ssh -N -L 8080:127.0.0.1:8080 ops@203.0.113.5");
    expect(consoleTunnelCommand("ssh -p 2222 ops@host.example", 9000)).toBe(
      "ssh -N -L 9000:127.0.0.1:9000 -p 2222 ops@host.example",
    );
  });
});
