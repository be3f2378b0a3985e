import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleNetworkName, consoleNotifyFile, consoleSpec } from "../../fleet/console.js";
import { dockerRunArgs } from "../../fleet/spec.js";
import { dockerTry } from "../harness/docker/index.js";
import { TestFleet, waitFor } from "./fleet.js";

/**
 * Notifications from the console container on a real engine, started from `consoleSpec` +
 * `dockerRunArgs` as DockerHostFleet starts it, with its sinks file written as the deployment
 * writes it: from the console's own bridge network it reaches a webhook on the host (through the
 * network's gateway address), with the agent image's runtime (nodemailer included) doing the work.
 */

interface Hook {
  body: { key: string; event: string; agent: string; fleet: string };
}

describe("the console container delivers notifications", () => {
  let fleet: TestFleet;
  let server: http.Server;
  const got: Hook[] = [];

  beforeAll(async () => {
    fleet = TestFleet.create("notify");
    mkdirSync(fleet.layout.consoleDir, { recursive: true, mode: 0o700 });
    mkdirSync(fleet.layout.runDir, { recursive: true, mode: 0o755 });
    writeFileSync(`${fleet.layout.consoleDir}/tokens`, "alice:alice-console-token-0123456789abcdef\n", { mode: 0o600 });
    await fleet.docker(["network", "create", "--driver", "bridge", consoleNetworkName(fleet.fleet)]);
    const gateway = (
      await fleet.docker([
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        consoleNetworkName(fleet.fleet),
      ])
    ).trim();
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (b: Buffer) => (text += b.toString()));
      req.on("end", () => {
        got.push({ body: JSON.parse(text) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, gateway, () => r()));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(
      `${fleet.layout.consoleDir}/notify.json`,
      consoleNotifyFile(fleet.fleet, [{ on: ["agent-unhealthy"], webhook: `http://${gateway}:${port}/hook` }]),
      { mode: 0o600 },
    );
    // An agent that stopped reporting an hour ago (what a SIGKILLed runtime leaves behind).
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    mkdirSync(`${fleet.layout.sharedDir}/agents/ghost`, { recursive: true });
    writeFileSync(
      `${fleet.layout.sharedDir}/agents/ghost/status.json`,
      JSON.stringify({
        agent: "ghost",
        pid: 1,
        hostname: "ghost",
        state: "running",
        started_at: hourAgo,
        heartbeat_at: hourAgo,
        approval_required: true,
        capabilities: [],
        privilege_separation: true,
        run_as: "agent",
        current_task: null,
        current_task_started_at: null,
        last_error: null,
        last_error_at: null,
        consecutive_failures: 0,
        probation: null,
        tasks_done: 0,
        tasks_failed: 0,
        lease_seconds: 30,
      }),
    );
    const spec = consoleSpec({
      fleet: fleet.fleet,
      image: fleet.image,
      hostRoot: fleet.layout.root,
      port: 0,
      notify: true,
    });
    await fleet.docker(dockerRunArgs({ ...spec, publish: [] }));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await fleet?.destroy();
    if (fleet) await dockerTry(fleet.target, ["network", "rm", consoleNetworkName(fleet.fleet)]);
  });

  it("reaches a webhook on the host through its network's gateway, once per event", async () => {
    await waitFor("the agent-unhealthy notification", async () => got[0], 120_000, 250);
    expect(got[0]!.body).toMatchObject({ event: "agent-unhealthy", agent: "ghost", fleet: fleet.fleet });
    expect(got[0]!.body.key).toMatch(/^agent-unhealthy:ghost:/);
    // The ledger, in the decisions dir, says it was delivered.
    const ledger = await fleet.docker(["exec", `${fleet.fleet}-console`, "cat", "/decisions/notify/ledger.json"]);
    expect(
      JSON.parse(ledger).deliveries[`${Object.keys(JSON.parse(ledger).sinks)[0]} ${got[0]!.body.key}`],
    ).toMatchObject({ state: "delivered", attempts: 1 });
  });
});
