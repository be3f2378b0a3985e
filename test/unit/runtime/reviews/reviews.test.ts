import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VERDICT_FILE_MAX_BYTES, VERDICT_MAX_REASONS } from "../../../../contract/env.js";
import { tally } from "../../../../runtime/reviews/quorum.js";
import type { ReviewRecord } from "../../../../runtime/reviews/reviewStore.js";
import { parseVerdict, readVerdictFile } from "../../../../runtime/reviews/verdict.js";
import { parseReviewers, SettingsError } from "../../../../runtime/settings.js";

const SHA = "a".repeat(64);
const OTHER = "b".repeat(64);
const rec = (reviewer: string, verdict: ReviewRecord["verdict"], sha256: string | null = SHA): ReviewRecord => ({
  proposal: "p-261130-010101-abcdef",
  reviewer,
  verdict,
  reasons: verdict === "reject" ? ["no"] : [],
  sha256,
  task_id: "t-261130-010101-abcdef",
  at: "2026-11-30T01:01:01.000Z",
});
const three = { reviewers: ["r1", "r2", "r3"], quorum: 2 };

describe("the reviewers' count", () => {
  it("approves at the quorum, waits below it while it is reachable", () => {
    expect(tally(three, [rec("r1", "approve")], SHA)).toEqual({
      kind: "waiting",
      approvers: ["agent:r1"],
      outstanding: ["r2", "r3"],
    });
    expect(tally(three, [rec("r1", "approve"), rec("r3", "approve")], SHA)).toEqual({
      kind: "approved",
      approvers: ["agent:r1", "agent:r3"],
    });
  });

  it("escalates at a rejection, and once no verdict can reach the quorum", () => {
    expect(tally(three, [rec("r1", "approve"), rec("r2", "reject")], SHA)).toEqual({
      kind: "escalated",
      reason: "rejected by agent:r2",
    });
    expect(tally(three, [rec("r1", "none"), rec("r2", "none")], SHA)).toMatchObject({
      kind: "escalated",
      reason: "0 of 3 reviewers approved, 2 needed (agent:r1 gave no verdict, agent:r2 gave no verdict)",
    });
  });

  it("counts only its reviewers' verdicts on the proposed patch", () => {
    const t = tally(three, [rec("r1", "approve"), rec("r2", "approve", OTHER), rec("x", "approve")], SHA);
    expect(t).toEqual({ kind: "waiting", approvers: ["agent:r1"], outstanding: ["r3"] });
    expect(tally(three, [rec("r2", "reject", OTHER)], SHA).kind).toBe("waiting");
    // No sha256 recorded for the proposal: nothing counts.
    expect(tally(three, [rec("r1", "approve"), rec("r2", "approve")], null).kind).toBe("escalated");
  });
});

describe("verdict files ($TASK_VERDICT)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verdict-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads approve and reject with reasons; refuses what is malformed, naming the field", () => {
    expect(parseVerdict('{"verdict":"approve"}')).toEqual({ verdict: { verdict: "approve", reasons: [] } });
    expect(parseVerdict('{"verdict":"reject","reasons":["x"]}')).toEqual({
      verdict: { verdict: "reject", reasons: ["x"] },
    });
    const errors = [
      ["not json", /TASK_VERDICT is not JSON/],
      ["[]", /must hold a JSON object/],
      ['{"verdict":"maybe"}', /"verdict" must be "approve" or "reject"/],
      ['{"verdict":"reject"}', /a rejection needs at least one reason/],
      ['{"verdict":"approve","score":1}', /unknown field "score"/],
      ['{"verdict":"approve","reasons":[1]}', /every reason must be a non-empty string/],
      [JSON.stringify({ verdict: "approve", reasons: Array(VERDICT_MAX_REASONS + 1).fill("x") }), /at most 20/],
    ] as const;
    for (const [text, re] of errors) {
      const r = parseVerdict(text);
      expect("error" in r && r.error, text).toMatch(re);
    }
  });

  it("never follows a link, refuses a FIFO, an oversized file and another user's file", () => {
    const target = path.join(dir, "target.json");
    fs.writeFileSync(target, '{"verdict":"approve"}');
    const link = path.join(dir, "link.json");
    fs.symlinkSync(target, link);
    expect(readVerdictFile(link)).toEqual({ error: "TASK_VERDICT is a symbolic link; write a regular file" });
    expect(readVerdictFile(path.join(dir, "none.json"))).toBeNull();
    const big = path.join(dir, "big.json");
    fs.writeFileSync(big, " ".repeat(VERDICT_FILE_MAX_BYTES + 1));
    expect(readVerdictFile(big)).toEqual({ error: `TASK_VERDICT is larger than ${VERDICT_FILE_MAX_BYTES} bytes` });
    expect(readVerdictFile(target, (process.getuid?.() ?? 0) + 1)).toEqual({
      error: "TASK_VERDICT is not the agent user's file",
    });
    expect(readVerdictFile(target)).toEqual({ verdict: { verdict: "approve", reasons: [] } });
    expect(readVerdictFile(dir)).toEqual({ error: "TASK_VERDICT is not a regular file" });
  });
});

describe("AGENT_REVIEWERS and AGENT_REVIEW_QUORUM", () => {
  it("default to no reviewers; the quorum defaults to all of them and is bounded by them", () => {
    expect(parseReviewers({}, "a1")).toEqual({ reviewers: [], quorum: 0 });
    expect(parseReviewers({ AGENT_REVIEWERS: "r2, r1" }, "a1")).toEqual({ reviewers: ["r1", "r2"], quorum: 2 });
    expect(parseReviewers({ AGENT_REVIEWERS: "r1,r2", AGENT_REVIEW_QUORUM: "1" }, "a1").quorum).toBe(1);
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ AGENT_REVIEWERS: "r1,a1" }, /lists a1 itself/],
      [{ AGENT_REVIEWERS: "r1,r1" }, /lists an agent twice/],
      [{ AGENT_REVIEWERS: "R1" }, /is not valid/],
      [{ AGENT_REVIEWERS: "r1", AGENT_REVIEW_QUORUM: "2" }, /between 1 and 1/],
      [{ AGENT_REVIEW_QUORUM: "1" }, /AGENT_REVIEWERS is empty/],
    ];
    for (const [env, re] of bad) {
      expect(() => parseReviewers(env, "a1"), JSON.stringify(env)).toThrow(SettingsError);
      expect(() => parseReviewers(env, "a1")).toThrow(re);
    }
  });
});
