import { describe, expect, it } from "vitest";
import { identify, parseTokens, TokensFileError } from "../../../runtime/console/tokens.js";

const A = "a".repeat(24);
const B = "b-token-with:colon-and=sign+/~";

describe("console tokens file", () => {
  it("reads name:token lines, skipping comments and blank lines (CRLF too); a token may contain ':'", () => {
    const entries = parseTokens(`# ops\r\n\r\n  alice:${A}  \r\nbob:${B}\n`, "t");
    expect(entries.map((e) => e.name)).toEqual(["alice", "bob"]);
    expect(identify(entries, A)).toBe("alice");
    expect(identify(entries, B)).toBe("bob");
  });

  it("identifies nobody for a wrong, truncated, extended or empty token", () => {
    const entries = parseTokens(`alice:${A}\nbob:${B}\n`, "t");
    for (const wrong of ["", A.slice(0, -1), A + "a", A.toUpperCase(), `alice:${A}`, B.slice(1)])
      expect(identify(entries, wrong)).toBeUndefined();
  });

  it("names the file and line of every malformed line", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /tokens file f holds no name:token line/],
      [`alice:${A}\nno colon here\n`, /^tokens file f line 2: expected name:token/],
      [`:${A}\n`, /line 1: name "" is not valid/],
      [`-alice:${A}\n`, /line 1: name "-alice" is not valid/],
      [`alice:\n`, /line 1: the token of "alice" is empty/],
      [`alice:${"x".repeat(19)}\n`, /line 1: the token of "alice" is shorter than 20 characters/],
      [`alice:${A}é\n`, /line 1: the token of "alice" is empty or has spaces or non-ASCII/],
      [`alice:${A}\n#\nalice:${B}\n`, /line 3: name "alice" is already used on line 1/],
      [`alice:${A}\nbob:${A}\n`, /line 2: the token of "bob" is the same as the one on line 1/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseTokens(text, "f"), text).toThrow(TokensFileError);
      expect(() => parseTokens(text, "f"), text).toThrow(message);
    }
  });

  it("keeps no token in memory, only its digest", () => {
    const entries = parseTokens(`alice:${A}\n`, "t");
    expect(JSON.stringify(entries)).not.toContain(A);
    expect(Object.keys(entries[0]!).sort()).toEqual(["digest", "name"]);
  });
});
