import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExoscaleApiError,
  ExoscaleClient,
  ExoscaleOperationError,
  isNotFound,
  splitInstanceType,
} from "../../../../targets/exoscale/client.js";
import { ExoscaleSimulator } from "../../../harness/exoscale/simulator.js";

let sim: ExoscaleSimulator;
beforeAll(async () => {
  sim = await ExoscaleSimulator.start();
});
afterAll(async () => {
  await sim.close();
});

/** A client with recorded (not real) sleeps, so the polling schedule is visible and tests are fast. */
function client(extra: Partial<ConstructorParameters<typeof ExoscaleClient>[0]> = {}) {
  const sleeps: number[] = [];
  const logs: string[] = [];
  let clock = Date.now();
  const c = new ExoscaleClient({
    zone: "ch-gva-2",
    credentials: sim.credentials,
    endpoint: sim.url,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 0.5,
    log: (l) => logs.push(l),
    ...extra,
  });
  return { c, sleeps, logs };
}

describe("ExoscaleClient against the simulator", () => {
  it("lists zones with a signed request", async () => {
    const { c } = client();
    expect(await c.listZones()).toContain("ch-gva-2");
  });

  it("waits for asynchronous operations: 3 s first, growing, capped at 60 s", async () => {
    sim.pendingPolls = 6;
    try {
      const { c, sleeps } = client();
      const id = await c.createSecurityGroup("poll-test");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(sleeps).toEqual([3000, 4500, 6750, 10125, 15188, 22782, 34173].slice(0, 7));
      expect((await c.getSecurityGroup(id)).name).toBe("poll-test");
    } finally {
      sim.pendingPolls = 1;
    }
  });

  it("caps the polling interval at 60 s", async () => {
    sim.pendingPolls = 12;
    try {
      const { c, sleeps } = client();
      await c.createSecurityGroup("poll-cap");
      expect(Math.max(...sleeps)).toBe(60_000);
      expect(sleeps.at(-1)).toBe(60_000);
    } finally {
      sim.pendingPolls = 1;
    }
  });

  it("gives up on an operation after the overall timeout, naming it", async () => {
    sim.pendingPolls = 1000;
    try {
      const { c } = client({ poll: { timeoutMs: 120_000 } });
      const err = await c.createSecurityGroup("never-done").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExoscaleOperationError);
      expect(String(err)).toMatch(/still pending .*gave up \(timeout 120 s\)/);
    } finally {
      sim.pendingPolls = 1;
    }
  });

  it("reports a failed operation with its reason", async () => {
    sim.failNextOperation("unavailable", "no capacity");
    const { c } = client();
    await expect(c.createSecurityGroup("fails")).rejects.toThrow(/ended in failure \(unavailable\): no capacity/);
  });

  it("retries 429 and 5xx with jittered, growing backoff, then succeeds", async () => {
    sim.injectFailure({ status: 429, count: 2, pathIncludes: "/zone" });
    sim.injectFailure({ status: 503, count: 1, pathIncludes: "/zone" });
    const { c, sleeps, logs } = client();
    expect(await c.listZones()).toHaveLength(8);
    // random() = 0.5: half of 500, 1000, 2000 ms
    expect(sleeps).toEqual([250, 500, 1000]);
    expect(logs.join("\n")).toMatch(/HTTP 429/);
    expect(logs.join("\n")).toMatch(/HTTP 503/);
  });

  it("honours Retry-After, capped by maxDelayMs", async () => {
    sim.injectFailure({ status: 429, count: 1, pathIncludes: "/zone", retryAfterSeconds: 7 });
    sim.injectFailure({ status: 429, count: 1, pathIncludes: "/zone", retryAfterSeconds: 3600 });
    const { c, sleeps } = client();
    await c.listZones();
    expect(sleeps).toEqual([7000, 20_000]);
  });

  it("stops retrying after maxAttempts and reports status and API message", async () => {
    sim.injectFailure({ status: 500, count: 3, pathIncludes: "/zone", message: "backend exploded" });
    const { c, sleeps } = client({ retry: { maxAttempts: 3 } });
    const err = await c.listZones().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExoscaleApiError);
    expect((err as ExoscaleApiError).status).toBe(500);
    expect((err as ExoscaleApiError).apiMessage).toBe("backend exploded");
    expect(sleeps).toHaveLength(2);
  });

  it("does not retry a POST that may have been processed (500), but does retry 503", async () => {
    sim.injectFailure({ status: 500, count: 1, method: "POST", pathIncludes: "/security-group" });
    const { c, sleeps } = client();
    await expect(c.createSecurityGroup("maybe-created")).rejects.toThrow(/HTTP 500/);
    expect(sleeps).toEqual([]);
    sim.injectFailure({ status: 503, count: 1, method: "POST", pathIncludes: "/security-group" });
    const second = client();
    expect(await second.c.createSecurityGroup("after-503")).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.sleeps[0]).toBe(250);
  });

  it("does not retry 4xx other than 429", async () => {
    const { c, sleeps } = client();
    const err = await c.getInstance("6b1b1f9e-2222-4c3c-9d9d-000000000000").catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect(String(err)).toMatch(
      /GET \/instance\/6b1b1f9e-2222-4c3c-9d9d-000000000000 failed with HTTP 404: instance .* not found/,
    );
    expect(sleeps).toEqual([]);
  });

  it("never puts the secret in an error or a log line, even when the API echoes it", async () => {
    const secret = sim.credentials.apiSecret;
    sim.injectFailure({ status: 502, count: 3, pathIncludes: "/zone", message: `proxy saw ${secret}` });
    const { c, logs } = client({ retry: { maxAttempts: 3 } });
    const err = await c.listZones().catch((e: unknown) => e);
    expect(String(err)).toContain("[redacted]");
    expect(String(err)).not.toContain(secret);
    expect(JSON.stringify(err)).not.toContain(secret);
    expect(logs.join("\n")).not.toContain(secret);
  });

  it("finds the newest template by name and names similar ones when missing", async () => {
    const { c } = client();
    const t = await c.findTemplateByName("Linux Ubuntu 24.04 LTS 64-bit");
    expect(t.id).toBe("2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2404");
    await expect(c.findTemplateByName("Linux Ubuntu 25.10 64-bit")).rejects.toThrow(
      /no public Exoscale template named "Linux Ubuntu 25.10 64-bit" in zone ch-gva-2; similar names: "Linux Ubuntu 24.04 LTS 64-bit"/,
    );
  });

  it("finds instance types by family.size and lists the offered ones otherwise", async () => {
    const { c } = client();
    expect((await c.findInstanceType("standard.small")).cpus).toBe(2);
    await expect(c.findInstanceType("standard.galactic")).rejects.toThrow(
      /not offered in zone ch-gva-2; offered: .*standard.small/,
    );
    expect(() => splitInstanceType("small")).toThrow(/family.size/);
    await expect(c.findInstanceType("gpu3.small")).rejects.toThrow(/needs an authorization/);
    await expect(client({ zone: "de-fra-1" }).c.findInstanceType("gpu3.small")).rejects.toThrow(
      /not offered in zone de-fra-1/,
    );
  });

  it("is refused with wrong credentials", async () => {
    const { c } = client({ credentials: { apiKey: sim.credentials.apiKey, apiSecret: "wrong" } });
    await expect(c.listZones()).rejects.toThrow(/HTTP 403: Invalid request signature/);
  });

  it("refuses to start without credentials", () => {
    expect(() => new ExoscaleClient({ zone: "ch-gva-2", credentials: { apiKey: "", apiSecret: "" } })).toThrow(
      /credentials are missing/,
    );
  });
});
