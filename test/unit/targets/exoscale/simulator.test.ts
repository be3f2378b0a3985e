import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizationHeader } from "../../../../targets/exoscale/signing.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  missingDocumentMessage,
  OpenApiRequestValidator,
  openApiDocumentPath,
} from "../../../harness/exoscale/openapi.js";
import { ExoscaleSimulator } from "../../../harness/exoscale/simulator.js";

/**
 * The simulator must refuse what the real API refuses, or the client and provider tests prove
 * nothing: requests are checked against openapi-v2.json and the signature rules.
 */
let sim: ExoscaleSimulator;
beforeAll(async () => {
  sim = await ExoscaleSimulator.start({ pendingPolls: 0 });
});
afterAll(async () => {
  await sim.close();
});

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; query?: Record<string, string>; expires?: number; secret?: string; rawBody?: string } = {},
) {
  const url = new URL(sim.url + path);
  const query = opts.query ?? {};
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const body = opts.rawBody ?? (opts.body === undefined ? "" : JSON.stringify(opts.body));
  const expires = opts.expires ?? Math.floor(Date.now() / 1000) + 300;
  const auth = authorizationHeader(sim.credentials.apiKey, opts.secret ?? sim.credentials.apiSecret, {
    method,
    path: url.pathname,
    body,
    query,
    expires,
  });
  const res = await fetch(url, {
    method,
    headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("Exoscale simulator", () => {
  it("validates against the official document: the shared one beside the repository, or the one the env var names", () => {
    expect(openApiDocumentPath({})).toBe(resolve(__dirname, "../../../../../shared/exoscale/openapi-v2.json"));
    expect(openApiDocumentPath({ AGENT_FLEET_EXOSCALE_OPENAPI: "/elsewhere/openapi.json" })).toBe(
      "/elsewhere/openapi.json",
    );
    expect(JSON.parse(readFileSync(openApiDocumentPath({}), "utf8")).info.title).toBe("Exoscale API");
  });

  it("names the missing document's path and the env var when the document is not there", async () => {
    await expect(OpenApiRequestValidator.load("/nonexistent/openapi-v2.json")).rejects.toThrow(
      /^Exoscale simulator cannot start: no API document at \/nonexistent\/openapi-v2\.json \(check \.\.\/shared out beside this clone, or set AGENT_FLEET_EXOSCALE_OPENAPI\)/,
    );
  });

  it("the unit project's setup says it once, in one line, when the document is missing", () => {
    expect(missingDocumentMessage({})).toBeUndefined();
    const msg = missingDocumentMessage({ AGENT_FLEET_EXOSCALE_OPENAPI: "/nonexistent/openapi-v2.json" });
    expect(msg).toContain("/nonexistent/openapi-v2.json");
    expect(msg).not.toContain("\n");
  });

  it("accepts a valid request and answers an operation", async () => {
    const r = await call("POST", "/security-group", { body: { name: "valid" } });
    expect(r.status).toBe(200);
    expect(r.json.state).toBe("success");
    expect(sim.inventory.securityGroups.map((g) => g.name)).toContain("valid");
  });

  it("rejects a body missing required fields (create-instance without instance-type and template)", async () => {
    const r = await call("POST", "/instance", { body: { "disk-size": 10 } });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/must have required property 'instance-type'/);
    expect(r.json.message).toMatch(/must have required property 'template'/);
  });

  it("rejects a wrong enum value in the body and in the query", async () => {
    const g = await call("POST", "/security-group", { body: { name: "enum-test" } });
    const id = (g.json.reference as { id: string }).id;
    const rule = await call("POST", `/security-group/${id}/rules`, {
      body: { "flow-direction": "sideways", protocol: "tcp" },
    });
    expect(rule.status).toBe(400);
    expect(rule.json.message).toMatch(/flow-direction must be equal to one of the allowed values \(ingress, egress\)/);
    const list = await call("GET", "/template", { query: { visibility: "everyone" } });
    expect(list.status).toBe(400);
    expect(list.json.message).toMatch(/visibility must be equal to one of the allowed values/);
  });

  it("rejects out-of-range numbers and malformed path ids", async () => {
    const r = await call("PUT", "/instance/6b1b1f9e-2222-4c3c-9d9d-000000000000:resize-disk", {
      body: { "disk-size": 5 },
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/disk-size must be >= 10/);
    const bad = await call("GET", "/instance/not-a-uuid");
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/must match format "uuid"/);
  });

  it("rejects user-data above 32 KiB (the document's maxLength)", async () => {
    const r = await call("POST", "/instance", {
      body: {
        "disk-size": 10,
        "instance-type": { id: "5f0b7a5e-1c1d-4e8f-8a6b-000000000002" },
        template: { id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2404" },
        "user-data": "A".repeat(32772),
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/user-data must NOT have more than 32768 characters/);
  });

  it("holds its own answers to the document (a malformed answer would be caught)", async () => {
    const v = await OpenApiRequestValidator.load();
    expect(
      v.validateResponse("get-instance", {
        id: "6b1b1f9e-2222-4c3c-9d9d-000000000000",
        "public-ip": "198.51.100.1",
        state: "running",
      }),
    ).toEqual([]);
    expect(v.validateResponse("get-instance", { state: "levitating" }).join()).toMatch(
      /state must be equal to one of the allowed values/,
    );
    expect(v.validateResponse("get-operation", { id: "x", state: "success" }).join()).toMatch(
      /must match format "uuid"/,
    );
  });

  it("rejects a bad signature", async () => {
    const r = await call("GET", "/zone", { secret: "not-the-secret" });
    expect(r.status).toBe(403);
    expect(r.json.message).toBe("Invalid request signature");
  });

  it("rejects a signature over a different body (tampering)", async () => {
    const url = `${sim.url}/security-group`;
    const expires = Math.floor(Date.now() / 1000) + 300;
    const auth = authorizationHeader(sim.credentials.apiKey, sim.credentials.apiSecret, {
      method: "POST",
      path: "/v2/security-group",
      body: '{"name":"a"}',
      expires,
    });
    const res = await fetch(url, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: '{"name":"b"}',
    });
    expect(res.status).toBe(403);
  });

  it("rejects an expired request", async () => {
    const r = await call("GET", "/zone", { expires: Math.floor(Date.now() / 1000) - 10 });
    expect(r.status).toBe(401);
    expect(r.json.message).toBe("Request expired");
  });

  it("rejects a request without Authorization and unsigned query arguments", async () => {
    const res = await fetch(`${sim.url}/zone`);
    expect(res.status).toBe(401);
    const expires = Math.floor(Date.now() / 1000) + 300;
    const auth = authorizationHeader(sim.credentials.apiKey, sim.credentials.apiSecret, {
      method: "GET",
      path: "/v2/template",
      body: "",
      expires,
    });
    const sneaky = await fetch(`${sim.url}/template?visibility=public`, { headers: { authorization: auth } });
    expect(sneaky.status).toBe(401);
  });

  it("answers 404 in the API's shape for missing resources and unknown paths", async () => {
    const r = await call("GET", "/security-group/6b1b1f9e-2222-4c3c-9d9d-000000000000");
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ message: "security group 6b1b1f9e-2222-4c3c-9d9d-000000000000 not found" });
    const unknown = await call("GET", "/no-such-thing");
    expect(unknown.status).toBe(404);
  });

  it("assigns the public IP it was told to, and shows its inventory over HTTP", async () => {
    sim.setNextPublicIp("127.0.0.1");
    const r = await call("POST", "/instance", {
      body: {
        "disk-size": 10,
        "instance-type": { id: "5f0b7a5e-1c1d-4e8f-8a6b-000000000002" },
        template: { id: "2a0a7c3e-0e6a-4a0c-9f0e-0b9a1a1e2404" },
      },
    });
    expect(r.status).toBe(200);
    const id = (r.json.reference as { id: string }).id;
    const inst = await call("GET", `/instance/${id}`);
    expect(inst.json["public-ip"]).toBe("127.0.0.1");
    const inv = (await (await fetch(`http://127.0.0.1:${sim.port}/_sim/inventory`)).json()) as {
      instances: { id: string }[];
    };
    expect(inv.instances.map((i) => i.id)).toContain(id);
    sim.setNextPublicIp(undefined);
  });
});
