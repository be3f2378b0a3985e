import { describe, expect, it } from "vitest";
import { messageLines } from "../../../../runtime/coordination/commsLog.js";
import { parseTaskFile } from "../../../../runtime/coordination/outbox.js";

const file = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v));

describe("an outbox task file", () => {
  it("takes the documented fields", () => {
    expect(
      parseTaskFile(
        file({
          title: "  Add it ",
          instructions: "do it",
          project: "demo",
          agent: "worker-1",
          priority: 9,
          max_attempts: 2,
          context: ["src/a.ts", "docs/b.md"],
        }),
      ),
    ).toEqual({
      title: "Add it",
      instructions: "do it",
      project: "demo",
      agent: "worker-1",
      priority: 9,
      maxAttempts: 2,
      context: ["src/a.ts", "docs/b.md"],
    });
  });

  it.each([
    [Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    ["[1]", /not a JSON object/],
    ["null", /not a JSON object/],
    [{ title: "t", instructions: "i", extra: 1 }, /unknown field "extra"/],
    [{ instructions: "i" }, /"title" is missing/],
    [{ title: "x".repeat(201), instructions: "i" }, /longer than 200/],
    [{ title: "t" }, /needs "instructions"/],
    [{ title: "t", instructions: 5 }, /"instructions" must be a string/],
    [{ title: "t", instructions: "i", agent: "a", capability: "b" }, /not both/],
    [{ title: "t", instructions: "i", agent: "Worker" }, /"agent" is not a name/],
    [{ title: "t", instructions: "i", project: "Demo" }, /"project" is not a project name/],
    [{ title: "t", instructions: "i", project: "-demo" }, /"project" is not a project name/],
    [{ title: "t", instructions: "i", priority: 10 }, /"priority" must be a whole number from 0 to 9/],
    [{ title: "t", instructions: "i", priority: 1.5 }, /"priority"/],
    [{ title: "t", instructions: "i", max_attempts: 0 }, /"max_attempts"/],
    [{ title: "t", instructions: "i", context: "a.txt" }, /"context" must be a list/],
    [{ title: "t", instructions: "i", context: Array(17).fill("a") }, /more than 16 files/],
    [{ title: "t", instructions: "i", context: ["a/../../b"] }, /leaves the project/],
    [{ title: "t", instructions: "i", context: ["/etc/passwd"] }, /is absolute/],
    [{ title: "t", instructions: "i", context: ["a//b"] }, /empty or "." segment/],
    [{ title: "t", instructions: "i", context: ["./a"] }, /empty or "." segment/],
    [{ title: "t", instructions: "i", context: ["x/.git/config"] }, /into \.git/],
    [{ title: "t", instructions: "i", context: ["a\0b"] }, /NUL/],
    [{ title: "t", instructions: "i", context: [""] }, /1 to 1024 characters/],
  ])("rejects %j", (input, reason) => {
    expect(() => parseTaskFile(Buffer.isBuffer(input) ? input : file(input))).toThrow(reason);
  });
});

describe("message lines", () => {
  const limits = { maxChars: 5, maxLines: 2 };
  it("skips empty lines, cuts long ones with a mark, counts what is over the cap", () => {
    expect(messageLines(Buffer.from("a\n\n  \nabcdefgh\nc\nd\n"), 0, limits)).toEqual({
      lines: ["a", "abcde… [cut: 3 more characters]"],
      dropped: 2,
      moreBytes: 0,
    });
  });
  it("drops a line the byte bound cut in two, and reports the bytes not read", () => {
    expect(messageLines(Buffer.from("one\ntw"), 100, { maxChars: 50, maxLines: 10 })).toEqual({
      lines: ["one"],
      dropped: 0,
      moreBytes: 100,
    });
  });
});
