import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { TOKENS, eventually, request, startConsole, type RunningConsole } from "../runtime/consoleHelpers.js";
import {
  git,
  makeApp,
  makeWorld,
  startAgent,
  tearDown,
  trailers,
  type RunningAgent,
  type World,
} from "../runtime/helpers.js";

/**
 * The console's web UI in Debian's headless Chromium, against `agentctl serve` and a real agent
 * runtime on temp dirs: a task added in the UI becomes a proposal, approved with the keyboard,
 * committed by the runtime; a hostile proposal and hostile log lines render as inert text.
 */
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

interface Watched {
  page: Page;
  /** Dialogs (alert/confirm/prompt), page errors and console errors: any of them means something ran or broke. */
  incidents: string[];
}

async function openConsole(): Promise<Watched> {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), "af-chromium-"));
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const incidents: string[] = [];
  page.on("dialog", (d) => {
    incidents.push(`dialog ${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("pageerror", (e) => incidents.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") incidents.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(`${c!.url}/`);
  await page.fill("#login-token", TOKENS.alice);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#view-fleet:not([hidden])");
  return { page, incidents };
}

function instructions(edits: unknown[]): string {
  return `# edit\n\n\`\`\`json\n${JSON.stringify({ edits })}\n\`\`\`\n`;
}

describe("console UI in Chromium", () => {
  it("adds a task in the queue view, shows its proposal with the patch's sha256, approves it with the keyboard, and shows the runtime's commit", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
    c = await startConsole(w);
    const { page, incidents } = await openConsole();

    await page.waitForSelector("#agents td:text-is('a1')");
    expect(await page.textContent("#agents")).toContain("approval-required");

    await page.click("nav a[data-view=queue]");
    await page.fill("#task-title", "Say hello from the browser");
    await page.fill(
      "#task-instructions",
      instructions([{ write: { path: "hello.txt", content: "hello from the browser\n" } }]),
    );
    await page.selectOption("#task-target-kind", "agent");
    await page.fill("#task-target", "a1");
    await page.click("#task-submit");
    await page.waitForSelector("#message:text-matches('Queued t-')");
    const taskId = /Queued (t-[^.]+)\./.exec((await page.textContent("#message"))!)![1]!;
    const created = (await request(c, "GET", `/api/v1/tasks/${taskId}`)).json;
    expect(created).toMatchObject({ title: "Say hello from the browser", agent: "a1", created_by: "alice" });

    // The proposal list refreshes itself; its row links to the review page.
    await page.click("nav a[data-view=proposals]");
    const proposalId = `p-${taskId.slice(2)}`;
    await page.waitForSelector(`#proposals a[href="#proposal/${proposalId}"]`, { timeout: 90_000 });
    await page.click(`#proposals a[href="#proposal/${proposalId}"]`);
    await page.waitForSelector("#diff .add");
    expect(await page.textContent("#diff")).toContain("+hello from the browser");
    const apiSha = (await request(c, "GET", `/api/v1/proposals/${proposalId}`)).json.sha256;
    expect(await page.textContent("#proposal-meta code.sha")).toBe(apiSha);
    expect(await page.textContent("#proposal-diffstat")).toContain("hello.txt");

    await page.keyboard.press("a");
    await page.waitForSelector("#message:text-matches('Approved')");
    expect(await page.textContent("#message")).toContain(apiSha);
    // The page follows the proposal until its runtime has applied it, then shows the commit.
    await page.waitForSelector("#proposal-meta code.commit", { timeout: 90_000 });
    const commit = (await page.textContent("#proposal-meta code.commit"))!;
    expect(commit).toBe(git(app, ["rev-parse", "HEAD"]).trim());
    expect(git(app, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"]).trim()).toBe("alice");
    expect(trailers(app, "Task-Id")).toEqual([taskId]);
    expect(fs.readFileSync(path.join(app, "hello.txt"), "utf8")).toBe("hello from the browser\n");
    expect(await page.textContent("#proposal-meta")).toContain("applied");

    expect(await browser!.cookies()).toEqual([]);
    expect(incidents).toEqual([]);
  });

  it("renders a hostile proposal and hostile log lines as inert, visible text (no script runs, escapes and bidi controls shown), and rejects it by keyboard", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
    c = await startConsole(w);
    const pwn = "window.__pwned=1;alert(document.domain)";
    const title = `<img src=x onerror="${pwn}"><script>${pwn}</script>`;
    const content = `<script>${pwn}</script>\n<img src=x onerror="${pwn}">\n\x1b[1A\x1b[2K+ looks harmless\r\n\u202eevil\u202c\x1b]8;;http://attacker.example\x07link\x1b]8;;\x07\n`;
    const t1 = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title, instructions: instructions([{ write: { path: "<svg onload=alert(1)>.html", content } }]) },
      })
    ).json.id as string;
    const t2 = (
      await request(c, "POST", "/api/v1/tasks", {
        body: {
          title: "noisy",
          instructions: instructions([
            { fail: { message: `<img src=x onerror="${pwn}">\x1b[31mRED\u202e`, exitCode: 3 } },
          ]),
        },
      })
    ).json.id as string;
    const p = `p-${t1.slice(2)}`;
    await eventually(
      "proposal",
      async () => (await request(c!, "GET", `/api/v1/proposals/${p}`, { check: false })).status === 200,
    );
    await eventually(
      "failed task",
      async () => (await request(c!, "GET", `/api/v1/tasks/${t2}`)).json.status === "failed",
    );

    const { page, incidents } = await openConsole();
    await page.goto(`${c.url}/#proposal/${p}`);
    await page.waitForSelector("#diff .add");

    // Nothing the agent wrote became markup: the only elements are the page's own.
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator("script").count()).toBe(2);
    expect(await page.locator("main img, main svg, main iframe, main [onerror], main [onload]").count()).toBe(0);
    const heading = (await page.textContent("#proposal-heading"))!;
    expect(heading).toContain(`<img src=x onerror="${pwn}"><script>`);
    const diff = (await page.textContent("#diff"))!;
    expect(diff).toContain(`+<script>${pwn}</script>`);
    expect(diff).toContain(`+<img src=x onerror="${pwn}">`);
    // Control characters are shown, highlighted, never interpreted; the bidi override is flagged.
    expect(diff).toContain("+\\x1b[1A\\x1b[2K+ looks harmless\\r");
    expect(diff).toContain("[BIDI U+202E RLO]evil[BIDI U+202C PDF]");
    expect(diff).toContain("\\x1b]8;;http://attacker.example\\x07link");
    // eslint-disable-next-line no-control-regex -- the very characters the page must never render raw
    expect(diff).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]/);
    expect(await page.locator("#diff span.esc").count()).toBeGreaterThan(5);
    expect(await page.textContent("#proposal-warnings")).toMatch(/2 bidirectional control character/);
    expect(await page.textContent("#proposal-diffstat")).toContain("<svg onload=alert(1)>.html");

    // Rejected from the keyboard: r focuses the reason, Enter sends it.
    await page.keyboard.press("r");
    await page.keyboard.type("hostile");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#message:text-matches('Rejected')");
    await eventually(
      "rejected",
      async () => (await request(c!, "GET", `/api/v1/proposals/${p}`)).json.state === "rejected",
    );
    expect(trailers(app, "Task-Id")).toEqual([]);

    // The queue and the logs show the same text inertly.
    await page.click("nav a[data-view=queue]");
    await page.waitForSelector(`#tasks tr[data-task="${t2}"]`);
    expect(await page.textContent(`#tasks tr[data-task="${t2}"]`)).toContain(
      `<img src=x onerror="${pwn}">\\x1b[31mRED[BIDI U+202E RLO]`,
    );
    await page.click("nav a[data-view=logs]");
    await page.waitForSelector("#log div:has-text('RED')");
    const logText = (await page.textContent("#log"))!;
    expect(logText).toContain(`<img src=x onerror="${pwn}">`);
    // eslint-disable-next-line no-control-regex -- the very characters the page must never render raw
    expect(logText).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]/);
    await page.click("nav a[data-view=fleet]");
    await page.waitForSelector("#agents td:text-is('a1')");

    expect(await page.locator("main img, main svg, main script").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(incidents).toEqual([]);
  });
  it("the projects view lists each project's tasks by state and its newest tasks, titles inert", async () => {
    w = makeWorld();
    c = await startConsole(w);
    const pwn = "window.__pwned=1";
    const title = `<img src=x onerror="${pwn}">on demo`;
    for (const [t, project] of [
      [title, "demo"],
      ["second on demo", "demo"],
      ["on web", "web"],
      ["no project", undefined],
    ] as const) {
      const r = await request(c, "POST", "/api/v1/tasks", {
        body: { title: t, description: "queued for the projects view", ...(project ? { project } : {}) },
      });
      expect(r.status).toBe(201);
    }
    const { page, incidents } = await openConsole();
    await page.goto(`${c.url}/#projects`);
    await page.waitForSelector("#projects h3");
    expect(await page.locator("#projects h3").allTextContents()).toEqual(["demo", "web"]);
    expect(await page.textContent("#projects")).toContain("pending 2, claimed 0, done 0, failed 0");
    const rows = await page.locator("#projects table.project-tasks").first().locator("tbody tr").allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows.join("\n")).toContain(`<img src=x onerror="${pwn}">on demo`);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(incidents).toEqual([]);
  });
});
