import { describe, expect, it } from "vitest";
import { authorizationHeader, parseAuthorization, signatureMessage } from "../../../../targets/exoscale/signing.js";

// The vectors of issue 5 (key EXOxxx..., secret 43 × X, expires 3376684800).
const KEY = "EXOxxxxxxxxxxxxxxxxxxxxxxxx";
const SECRET = "X".repeat(43);
const EXPIRES = 3376684800;

describe("EXO2-HMAC-SHA256 signing", () => {
  it("signs GET /v2/zone like the reference vector", () => {
    expect(authorizationHeader(KEY, SECRET, { method: "GET", path: "/v2/zone", body: "", expires: EXPIRES })).toBe(
      "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,expires=3376684800,signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=",
    );
  });

  it("signs query arguments like the reference vector", () => {
    expect(
      authorizationHeader(KEY, SECRET, {
        method: "GET",
        path: "/v2/zone",
        body: "",
        query: { k1: "v1", k2: "v2" },
        expires: EXPIRES,
      }),
    ).toBe(
      "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=",
    );
  });

  it("orders query values by name, whatever the insertion order", () => {
    const a = authorizationHeader(KEY, SECRET, {
      method: "GET",
      path: "/v2/zone",
      body: "",
      query: { k2: "v2", k1: "v1" },
      expires: EXPIRES,
    });
    expect(a).toContain("signed-query-args=k1;k2");
    expect(a).toContain("signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=");
  });

  it("builds the five-line message of the document's security-group example", () => {
    const body = '{"name": "my-security-group"}';
    expect(signatureMessage({ method: "POST", path: "/v2/security-group", body, expires: 1599140767 }).message).toBe(
      `POST /v2/security-group\n${body}\n\n\n1599140767`,
    );
  });

  it("parses its own header and rejects malformed ones", () => {
    const h = authorizationHeader(KEY, SECRET, {
      method: "GET",
      path: "/v2/zone",
      body: "",
      query: { a: "1" },
      expires: EXPIRES,
    });
    expect(parseAuthorization(h)).toEqual({
      credential: KEY,
      signedQueryArgs: ["a"],
      expires: EXPIRES,
      signature: expect.any(String),
    });
    expect(parseAuthorization(undefined)).toMatch(/missing/);
    expect(parseAuthorization("Bearer x")).toMatch(/EXO2-HMAC-SHA256/);
    expect(parseAuthorization("EXO2-HMAC-SHA256 credential=a,expires=soon,signature=x")).toMatch(/UNIX timestamp/);
  });
});
