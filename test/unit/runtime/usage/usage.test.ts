import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { USAGE_FILE_MAX_BYTES } from "../../../../contract/env.js";
import { sharedLayout } from "../../../../runtime/sharedLayout.js";
import { readLedgers, UsageLedger, utcDay } from "../../../../runtime/usage/usageLedger.js";
import { parseUsage, readUsageFile } from "../../../../runtime/usage/usageReport.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
function tmp(): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "af-usage-"));
  return dir;
}

describe("usage reports ($TASK_USAGE_FILE): hostile input", () => {
  it("accepts the three fields (each optional) and refuses anything else, naming the field", () => {
    expect(parseUsage('{"tokens_in":10,"tokens_out":2,"usd":0.25}')).toEqual({
      usage: { tokens_in: 10, tokens_out: 2, usd: 0.25 },
    });
    expect(parseUsage('{"usd":1}')).toEqual({ usage: { tokens_in: 0, tokens_out: 0, usd: 1 } });
    for (const [text, why] of [
      ["not json", /not JSON/],
      ["[1,2]", /JSON object/],
      ['{"usd":-1}', /"usd" must be a number from 0/],
      ['{"usd":"1"}', /"usd"/],
      ['{"usd":1e300}', /"usd"/],
      ['{"tokens_in":1.5}', /"tokens_in" must be a whole number/],
      ['{"tokens_out":1e13}', /"tokens_out"/],
      ['{"usd":1,"cost":2}', /unknown field "cost"/],
    ] as const) {
      const r = parseUsage(text);
      expect("error" in r && r.error, text).toMatch(why);
    }
  });

  it("reads a regular file only: no file is no report; links, FIFOs, directories and oversized files are refused", () => {
    const d = tmp();
    const f = path.join(d, "usage.json");
    expect(readUsageFile(f)).toBeNull();
    fs.writeFileSync(f, '{"usd":0.5}');
    expect(readUsageFile(f)).toEqual({ usage: { tokens_in: 0, tokens_out: 0, usd: 0.5 } });
    fs.rmSync(f);
    const secret = path.join(d, "secret");
    fs.writeFileSync(secret, '{"usd":0.5}');
    fs.symlinkSync(secret, f);
    expect(readUsageFile(f)).toEqual({ error: expect.stringMatching(/symbolic link/) });
    fs.rmSync(f);
    expect(spawnSync("mkfifo", [f]).status).toBe(0);
    expect(readUsageFile(f)).toEqual({ error: expect.stringMatching(/not a regular file/) });
    fs.rmSync(f);
    fs.mkdirSync(f);
    expect(readUsageFile(f)).toEqual({ error: expect.stringMatching(/not a regular file/) });
    fs.rmdirSync(f);
    fs.writeFileSync(f, `{"usd":1}${" ".repeat(USAGE_FILE_MAX_BYTES)}`);
    expect(readUsageFile(f)).toEqual({ error: expect.stringMatching(/larger than 4096 bytes/) });
    fs.writeFileSync(f, '{"usd":1}');
    const owner = fs.statSync(f).uid;
    expect(readUsageFile(f, owner + 1)).toEqual({ error: expect.stringMatching(/not the agent user's file/) });
    expect(readUsageFile(f, owner)).toEqual({ usage: { tokens_in: 0, tokens_out: 0, usd: 1 } });
  });
});

describe("usage ledger", () => {
  it("one file per UTC day with exact totals; the same run recorded twice counts once", () => {
    const layout = sharedLayout(tmp());
    const ledger = new UsageLedger(layout, "a1");
    const at = "2026-11-29T10:00:00.000Z";
    for (let i = 0; i < 10; i++)
      ledger.record({ task: `t-${i}`, attempt: 1, run_at: at, at, tokens_in: 1, tokens_out: 2, usd: 0.1 });
    // A crash between the ledger write and the task's end: the same run is written again.
    const day = ledger.record({ task: "t-3", attempt: 1, run_at: at, at, tokens_in: 1, tokens_out: 2, usd: 0.1 });
    expect(day).toMatchObject({ day: "2026-11-29", runs: 10, usd: 1, tokens_in: 10, tokens_out: 20 });
    ledger.record({
      task: "t-x",
      attempt: 2,
      run_at: "2026-11-30T00:00:01.000Z",
      at: "2026-11-30T00:00:02.000Z",
      tokens_in: 0,
      tokens_out: 0,
      usd: 2,
    });
    expect(readLedgers(layout).map((d) => [d.agent, d.day, d.usd, d.runs])).toEqual([
      ["a1", "2026-11-29", 1, 10],
      ["a1", "2026-11-30", 2, 1],
    ]);
    expect(readLedgers(layout, { sinceDay: "2026-11-30" })).toHaveLength(1);
    expect(fs.readdirSync(layout.usageDir("a1")).sort()).toEqual(["2026-11-29.json", "2026-11-30.json"]);
    expect(new UsageLedger(layout, "a1").today(Date.parse("2026-11-29T23:59:59Z")).usd).toBe(1);
    expect(utcDay(Date.parse("2026-11-29T23:59:59.999Z"))).toBe("2026-11-29");
  });
});
