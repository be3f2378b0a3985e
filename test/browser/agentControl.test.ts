import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { TOKENS, eventually, request, startConsole, type RunningConsole } from "../runtime/consoleHelpers.js";
import { makeApp, makeWorld, startAgent, tearDown, type RunningAgent, type World } from "../runtime/helpers.js";

/** The fleet view's Pause/Resume button, in Debian's headless Chromium against real processes. */
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let w: World | undefined;
let c: RunningConsole | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
const running: RunningAgent[] = [];

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  profile = undefined;
  await c?.stop();
  c = undefined;
  await tearDown(running, w);
  w = undefined;
});

describe("console UI: pausing an agent", () => {
  it("Pause writes the switch with the token's name, the row shows paused once the runtime has read it, Resume lifts it", async () => {
    w = makeWorld();
    makeApp(w, "a1");
    running.push(startAgent(w, "a1"));
    c = await startConsole(w);
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "af-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const incidents: string[] = [];
    page.on("pageerror", (e) => incidents.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") incidents.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(`${c.url}/`);
    await page.fill("#login-token", TOKENS.alice);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#view-fleet:not([hidden])");

    await page.click("#agents button.agent-control[data-agent=a1][data-action=pause]", { timeout: 60_000 });
    await page.waitForSelector("#message:text-matches('Paused a1')");
    const control = () => JSON.parse(fs.readFileSync(path.join(w!.shared, "control", "a1.json"), "utf8"));
    expect(control()).toMatchObject({ agent: "a1", paused: true, by: "alice" });
    await eventually("a1 reports paused", async () => {
      const list = (await request(c!, "GET", "/api/v1/agents")).json as Array<{ paused: boolean }>;
      return list[0]?.paused === true;
    });
    // The fleet view refreshes itself; once the runtime has read the switch, the row offers Resume.
    await page.click("#agents button.agent-control[data-agent=a1][data-action=resume]", { timeout: 60_000 });
    await page.waitForSelector("#message:text-matches('Resumed a1')");
    expect(control()).toMatchObject({ paused: false, by: "alice" });
    expect(incidents).toEqual([]);
  });
});
