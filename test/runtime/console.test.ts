import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import {
  MAX_BODY_BYTES,
  MAX_CONTEXT_FILES,
  MAX_NOTE_LENGTH,
  MAX_STREAM_LINES,
  MAX_STREAMS,
  MAX_TITLE_LENGTH,
} from "../../runtime/console/limits.js";
import { MAX_CONTROL_REASON_LENGTH } from "../../runtime/agentControl.js";
import {
  API_DOC,
  TOKENS,
  eventually,
  openEvents,
  request,
  seen,
  serveArgs,
  startConsole,
  writeTokens,
  type EventReader,
  type RunningConsole,
} from "./consoleHelpers.js";
import {
  git,
  makeApp,
  makeWorld,
  startAgent,
  tearDown,
  trailers,
  waitFor,
  type RunningAgent,
  type World,
} from "./helpers.js";

let w: World | undefined;
let c: RunningConsole | undefined;
const running: RunningAgent[] = [];
const streams: EventReader[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await c?.stop();
  c = undefined;
  await tearDown(running, w);
  w = undefined;
});

const doc = parseYaml(fs.readFileSync(API_DOC, "utf8"));

/** agent-1's instruction format: one fenced JSON edit block. */
function editInstructions(title: string, edits: unknown[]): string {
  return `# ${title}\n\n\`\`\`json\n${JSON.stringify({ edits })}\n\`\`\`\n`;
}

async function world(
  opts: { agent?: boolean; consoleArgs?: string[] } = {},
): Promise<{ w: World; c: RunningConsole; app: string }> {
  w = makeWorld();
  const app = makeApp(w, "a1");
  if (opts.agent) running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true" }));
  c = await startConsole(w, opts.consoleArgs);
  return { w, c, app };
}

async function proposalOf(c: RunningConsole, taskId: string) {
  const r = await request(c, "GET", "/api/v1/proposals");
  return (r.json as Array<{ id: string; task_id: string; state: string; sha256: string }>).find(
    (p) => p.task_id === taskId,
  );
}

/**
 * Send raw bytes on a fresh connection; resolves with everything the server sent once it closes
 * the connection (a reset while we are still writing is part of the test, not an error).
 */
function rawExchange(port: number, send: (s: net.Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (b) => {
      got += b.toString();
    });
    s.on("close", () => resolve(got));
    s.on("error", () => undefined);
    s.on("connect", () => send(s));
  });
}

describe("console API: access", () => {
  it("health is public; everything else needs a valid bearer token (401 with a challenge)", async () => {
    const { c } = await world();
    expect((await request(c, "GET", "/api/v1/health", { token: null })).json).toEqual({ status: "ok" });
    for (const [token, headers, detail] of [
      [null, {}, /needs a token/],
      ["not-a-valid-token-at-all-xx", {}, /not valid/],
      [null, { Authorization: `Basic ${Buffer.from(`alice:${TOKENS.alice}`).toString("base64")}` }, /Bearer TOKEN/],
      [null, { Authorization: `Bearer ${TOKENS.alice.slice(0, -1)}` }, /not valid/],
    ] as const) {
      const r = await request(c, "GET", "/api/v1/agents", { token, headers });
      expect(r.status).toBe(401);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer /);
      expect(r.json.field).toBe("Authorization");
      expect(r.json.detail).toMatch(detail);
    }
    expect((await request(c, "GET", "/api/v1/agents", { token: TOKENS.bob })).status).toBe(200);
    // Case-insensitive scheme, as RFC 9110 says.
    expect(
      (await request(c, "GET", "/api/v1/agents", { token: null, headers: { Authorization: `bearer ${TOKENS.bob}` } }))
        .status,
    ).toBe(200);
  });

  it("refuses a foreign Host (DNS rebinding) and a cross-origin POST; unknown paths 404, wrong methods 405", async () => {
    const { c } = await world();
    const rebound = await request(c, "GET", "/api/v1/health", { headers: { Host: "attacker.example:8080" } });
    expect(rebound.status).toBe(403);
    expect(rebound.json.field).toBe("Host");
    expect((await request(c, "GET", "/", { headers: { Host: "attacker.example" } })).status).toBe(403);
    for (const host of ["localhost:1234", "127.0.0.1", "[::1]:99"]) {
      expect((await request(c, "GET", "/api/v1/health", { headers: { Host: host } })).status).toBe(200);
    }
    const cross = await request(c, "POST", "/api/v1/tasks", {
      body: { title: "x", instructions: "y" },
      headers: { Origin: "http://attacker.example" },
    });
    expect(cross.status).toBe(403);
    expect(cross.json.field).toBe("Origin");
    const same = await request(c, "POST", "/api/v1/tasks", {
      body: { title: "x", instructions: "y" },
      headers: { Origin: `http://127.0.0.1:${c.port}` },
    });
    expect(same.status).toBe(201);

    const missing = await request(c, "GET", "/api/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toBe("application/problem+json");
    const method = await request(c, "DELETE", "/api/v1/tasks");
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe("GET, POST");
    expect((await request(c, "POST", "/api/v1/health", { body: {} })).status).toBe(405);
  });

  it("serves the UI with a strict CSP and no inline script; nothing else from disk", async () => {
    const { c } = await world();
    const page = await request(c, "GET", "/", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(page.headers["content-security-policy"]);
    for (const d of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
    ])
      expect(csp).toContain(d);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["set-cookie"]).toBeUndefined();
    // Every <script> has a src and no body.
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/ui\/[a-z]+\.js"/);
      expect(body).toBe("");
    }
    expect(page.text).not.toMatch(/\son[a-z]+=/i);
    for (const f of ["app.js", "app.css", "escape.js"]) {
      const r = await request(c, "GET", `/ui/${f}`, { token: null });
      expect(r.status, f).toBe(200);
      expect(r.headers["content-type"]).toMatch(f.endsWith(".css") ? /^text\/css/ : /^text\/javascript/);
    }
    for (const p of ["/ui/../../package.json", "/ui/%2e%2e/api.js", "/ui/", "/package.json", "/ui/api.js"]) {
      expect((await request(c, "GET", p, { token: null })).status, p).toBe(404);
    }
  });

  it("a bad tokens file or option stops the server with an error naming the line or option", () => {
    w = makeWorld();
    const run = (tokensText: string | null, extra: string[] = []) => {
      const file = tokensText === null ? path.join(w!.dir, "no-such-file") : writeTokens(w!, tokensText);
      return spawnSync(
        process.execPath,
        serveArgs([
          "--listen",
          "127.0.0.1:0",
          "--tokens",
          file,
          "--shared",
          w!.shared,
          "--decisions",
          w!.decisions,
          ...extra,
        ]),
        { encoding: "utf8", timeout: 30_000 },
      );
    };
    const cases: Array<[string | null, RegExp]> = [
      ["# only a comment\n\n", /holds no name:token line/],
      [`alice:${TOKENS.alice}\n# fine so far\nbob ${TOKENS.bob}\n`, /line 3: expected name:token/],
      [`alice:short\n`, /line 1: the token of "alice" is shorter than 20/],
      [`alice:${TOKENS.alice}\nalice:${TOKENS.bob}\n`, /line 2: name "alice" is already used on line 1/],
      [`alice:${TOKENS.alice}\nbob:${TOKENS.alice}\n`, /line 2: the token of "bob" is the same as the one on line 1/],
      [`al ice:${TOKENS.alice}\n`, /line 1: name "al ice" is not valid/],
      [`alice:${TOKENS.alice} x\n`, /line 1: the token of "alice" is empty or has spaces/],
      [null, /cannot read tokens file .*no such file/],
    ];
    for (const [text, message] of cases) {
      const r = run(text);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    const listen = spawnSync(process.execPath, serveArgs(["--listen", "127.0.0.1", "--tokens", writeTokens(w)]), {
      encoding: "utf8",
    });
    expect(listen.status).toBe(2);
    expect(listen.stderr).toMatch(/--listen must be HOST:PORT/);
    const shared = run(`alice:${TOKENS.alice}\n`, ["--shared", path.join(w.dir, "nope")]);
    expect(shared.status).toBe(1);
    expect(shared.stderr).toMatch(/--shared .*nope does not exist/);
    const noTokens = spawnSync(process.execPath, serveArgs(["--listen", "127.0.0.1:0"]), { encoding: "utf8" });
    expect(noTokens.status).toBe(2);
    expect(noTokens.stderr).toMatch(/--tokens <file>' not specified/);
    const timeout = run(`alice:${TOKENS.alice}\n`, ["--request-timeout", "0"]);
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).toMatch(/--request-timeout must be whole seconds/);
  });
});

describe("console API: tasks", () => {
  it("queues a task (created_by = the token's name, context files written by the server) and lists and shows it", async () => {
    const { w, c } = await world();
    const r = await request(c, "POST", "/api/v1/tasks", {
      token: TOKENS.bob,
      body: {
        title: "Add a file",
        instructions: "do it\n",
        agent: "a1",
        priority: 7,
        max_attempts: 2,
        context: [{ name: "notes.md", content: "# notes\n" }],
      },
    });
    expect(r.status).toBe(201);
    const id = r.json.id as string;
    expect(r.headers.location).toBe(`/api/v1/tasks/${id}`);
    const t = (await request(c, "GET", `/api/v1/tasks/${id}`)).json;
    expect(t).toMatchObject({
      id,
      title: "Add a file",
      status: "pending",
      priority: 7,
      agent: "a1",
      max_attempts: 2,
      created_by: "bob",
    });
    expect(fs.readFileSync(path.join(w.shared, t.instruction_file), "utf8")).toBe("do it\n");
    expect(t.context_files).toEqual([`tasks/files/${id}/context/notes.md`]);
    expect(fs.readFileSync(path.join(w.shared, t.context_files[0]), "utf8")).toBe("# notes\n");

    const other = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title: "Any", description: "free text", capability: "docs" },
      })
    ).json.id;
    const ids = async (q: string) =>
      ((await request(c, "GET", `/api/v1/tasks${q}`)).json as Array<{ id: string }>).map((x) => x.id);
    expect((await ids("")).sort()).toEqual([id, other].sort());
    expect(await ids("?state=pending&agent=a1")).toEqual([id]);
    expect(await ids("?state=done")).toEqual([]);
    expect(await ids("?project=demo")).toEqual([]);
    const forProject = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title: "On demo", description: "free text", project: "demo" },
      })
    ).json.id;
    expect(await ids("?project=demo")).toEqual([forProject]);
    expect((await request(c, "GET", `/api/v1/tasks/${forProject}`)).json.project).toBe("demo");
  });

  it("every invalid input is a 400 problem naming the field; nothing is queued", async () => {
    const { w, c } = await world();
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, "title", /"title" is required/],
      [{ title: "   ", instructions: "x" }, "title", /must not be empty/],
      [{ title: "x".repeat(MAX_TITLE_LENGTH + 1), instructions: "x" }, "title", /longer than 200/],
      [{ title: 5, instructions: "x" }, "title", /must be a string/],
      [{ title: "t" }, "instructions", /instructions or a description/],
      [{ title: "t", instructions: "x", agent: "A1" }, "agent", /not valid/],
      [{ title: "t", instructions: "x", agent: "a1", capability: "c" }, "agent", /not both/],
      [{ title: "t", instructions: "x", priority: 10 }, "priority", /0 \(lowest\) to 9/],
      [{ title: "t", instructions: "x", priority: "5" }, "priority", /whole number/],
      [{ title: "t", instructions: "x", priority: 1.5 }, "priority", /whole number/],
      [{ title: "t", instructions: "x", max_attempts: 0 }, "max_attempts", /1 to 100/],
      [{ title: "t", instructions: "x", project: "../demo" }, "project", /not valid/],
      [{ title: "t", instructions: "x", prioritty: 3 }, "prioritty", /unknown field/],
      [{ title: "t", instructions: "x", context: "a.txt" }, "context", /must be a list/],
      [{ title: "t", instructions: "x", context: [{ name: "../x", content: "" }] }, "context[0].name", /file name/],
      [{ title: "t", instructions: "x", context: [{ name: "..", content: "" }] }, "context[0].name", /file name/],
      [
        {
          title: "t",
          instructions: "x",
          context: [
            { name: "a", content: "" },
            { name: "a", content: "" },
          ],
        },
        "context[1].name",
        /two context files/,
      ],
      [
        { title: "t", instructions: "x", context: [{ name: "a", content: 1 }] },
        "context[0].content",
        /must be a string/,
      ],
      [
        { title: "t", instructions: "x", context: [{ name: "a", content: "", mode: 7 }] },
        "context[0].mode",
        /unknown field/,
      ],
      [
        {
          title: "t",
          instructions: "x",
          context: Array.from({ length: MAX_CONTEXT_FILES + 1 }, (_, i) => ({ name: `f${i}`, content: "" })),
        },
        "context",
        /more than 32/,
      ],
      [[{ title: "t" }], "body", /JSON object/],
    ];
    for (const [body, field, detail] of cases) {
      const r = await request(c, "POST", "/api/v1/tasks", { body });
      expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(r.json.field, JSON.stringify(body).slice(0, 100)).toBe(field);
      expect(r.json.detail).toMatch(detail);
    }
    const broken = await request(c, "POST", "/api/v1/tasks", {
      raw: '{"title": "x",',
      headers: { "Content-Type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.json).toMatchObject({ field: "body", detail: expect.stringMatching(/not valid JSON/) });
    const notUtf8 = await request(c, "POST", "/api/v1/tasks", {
      raw: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      headers: { "Content-Type": "application/json" },
    });
    expect(notUtf8.status).toBe(400);
    const form = await request(c, "POST", "/api/v1/tasks", {
      raw: "title=x",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    expect(form.json.field).toBe("Content-Type");
    expect((await request(c, "POST", "/api/v1/tasks", { raw: "{}" })).status).toBe(415);

    for (const [q, field] of [
      ["?state=bogus", "state"],
      ["?agent=Not_A_Name", "agent"],
      ["?project=../x", "project"],
      ["?colour=red", "colour"],
      ["?state=done&state=failed", "state"],
    ] as const) {
      const r = await request(c, "GET", `/api/v1/tasks${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.field, q).toBe(field);
    }
    const badId = await request(c, "GET", "/api/v1/tasks/t-1");
    expect(badId.status).toBe(400);
    expect(badId.json.field).toBe("id");
    expect((await request(c, "GET", "/api/v1/tasks/%E0%A4%A")).json.field).toBe("id");
    expect((await request(c, "GET", "/api/v1/tasks/t-261121-103134-k3f9xa")).status).toBe(404);
    expect((await request(c, "GET", "/api/v1/tasks")).json).toEqual([]);
    const pending = path.join(w.shared, "tasks", "pending");
    expect(fs.existsSync(pending) ? fs.readdirSync(pending) : []).toEqual([]);
  });
});

describe("console API: bounded input", () => {
  it("413 for a body over the limit (declared or chunked) with the connection closed; 408 for slow senders; 400 for garbage; the server lives on", async () => {
    const { c } = await world({ consoleArgs: ["--request-timeout", "2"] });
    // An event stream is a complete request: the request timeout never cuts it (checked at the end).
    const stream = await openEvents(c, "/api/v1/comms?follow=1");
    streams.push(stream);
    let streamEnded = false;
    void stream.ended.then(() => {
      streamEnded = true;
    });
    // Declared too large: answered before any of the body is read; the connection is closed when the body does not follow.
    const declared = await rawExchange(c.port, (s) =>
      s.write(
        `POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKENS.alice}\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n{"title":`,
      ),
    );
    expect(declared).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared).toContain("the body is larger than 1048576 bytes");
    // Exactly at the limit is fine (then it is the content that is wrong: no instructions).
    const atLimit = JSON.stringify({ title: "big", description: "" }).length;
    const full = await request(c, "POST", "/api/v1/tasks", {
      raw: JSON.stringify({ title: "big", description: "" }) + " ".repeat(MAX_BODY_BYTES - atLimit),
      headers: { "Content-Type": "application/json" },
    });
    expect(full.status).toBe(400);
    expect(full.json.field).toBe("instructions");

    // Chunked (no Content-Length): cut off once past the limit, without reading the rest.
    const chunked = await rawExchange(c.port, (s) => {
      s.write(
        `POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKENS.alice}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const piece = "a".repeat(64 * 1024);
      const more = () => {
        if (s.destroyed) return;
        for (let i = 0; i < 4 && !s.destroyed; i++) s.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
        setTimeout(more, 5);
      };
      more();
    });
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);

    // Headers never finished (slowloris) and a body that never arrives: both cut off at the deadline.
    const slowHeaders = await rawExchange(c.port, (s) =>
      s.write("GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"),
    );
    expect(slowHeaders).toMatch(/^HTTP\/1\.1 408 /);
    const slowBody = await rawExchange(c.port, (s) =>
      s.write(
        `POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKENS.alice}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title"`,
      ),
    );
    expect(slowBody).toMatch(/^HTTP\/1\.1 408 /);

    const garbage = await rawExchange(c.port, (s) => s.write("\x16\x03\x01 not http at all\r\n\r\n"));
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    const hugeHeader = await rawExchange(c.port, (s) =>
      s.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`),
    );
    expect(hugeHeader).toMatch(/^HTTP\/1\.1 431 /);

    expect((await request(c, "GET", "/api/v1/health")).status).toBe(200);
    expect(streamEnded).toBe(false);
    expect(c.child.exitCode).toBeNull();
    expect(c.output()).not.toMatch(/internal error|TypeError|RangeError/);
  });
});

describe("console API: proposals", () => {
  it("approve is bound to the sha256 of the patch: a wrong hash is 409, the right one makes the runtime commit with Approved-By: the token's name", async () => {
    const { w, c, app } = await world({ agent: true });
    const taskId = (
      await request(c, "POST", "/api/v1/tasks", {
        body: {
          title: "Write hello",
          instructions: editInstructions("hello", [{ write: { path: "hello.txt", content: "hello\n" } }]),
        },
      })
    ).json.id;
    const p = await eventually("proposal", async () => await proposalOf(c, taskId));
    const patchFile = path.join(w.shared, "proposals", `${p.id}.patch`);
    const sha = createHash("sha256").update(fs.readFileSync(patchFile)).digest("hex");
    expect(p.sha256).toBe(sha);
    expect(p.state).toBe("pending");
    const detail = (await request(c, "GET", `/api/v1/proposals/${p.id}`)).json;
    expect(Buffer.from(detail.patch_base64, "base64").equals(fs.readFileSync(patchFile))).toBe(true);
    expect(detail.patch).toContain("+hello");
    expect(detail).toMatchObject({
      id: p.id,
      task_id: taskId,
      agent: "a1",
      sha256: sha,
      decision: null,
      effective_state: "pending",
    });
    expect((await request(c, "GET", "/api/v1/proposals?state=pending")).json.map((x: { id: string }) => x.id)).toEqual([
      p.id,
    ]);
    expect((await request(c, "GET", "/api/v1/proposals?state=applied")).json).toEqual([]);

    const noHash = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { note: "ok" } });
    expect(noHash.status).toBe(400);
    expect(noHash.json.field).toBe("sha256");
    const badHash = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { sha256: "abc" } });
    expect(badHash.status).toBe(400);
    expect(badHash.json.field).toBe("sha256");
    const other = "0".repeat(64);
    const wrong = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { sha256: other } });
    expect(wrong.status).toBe(409);
    expect(wrong.json.field).toBe("sha256");
    expect(wrong.json.detail).toContain(sha);
    expect(fs.readdirSync(w.decisions)).toEqual([]);
    const longNote = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, {
      body: { sha256: sha, note: "n".repeat(MAX_NOTE_LENGTH + 1) },
    });
    expect(longNote.json.field).toBe("note");

    const ok = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, {
      body: { sha256: sha.toUpperCase(), note: "looks right" },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      proposal: p.id,
      decision: "approve",
      by: "alice",
      note: "looks right",
      sha256: sha,
    });
    const again = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { sha256: sha } });
    expect(again.status).toBe(409);
    const applied = await eventually("applied", async () => {
      const x = (await request(c, "GET", `/api/v1/proposals/${p.id}`)).json;
      return x.state === "applied" ? x : undefined;
    });
    expect(applied.commit).toBe(git(app, ["rev-parse", "HEAD"]).trim());
    expect(git(app, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"]).trim()).toBe("alice");
    expect(trailers(app, "Task-Id")).toEqual([taskId]);
    expect(fs.readFileSync(path.join(app, "hello.txt"), "utf8")).toBe("hello\n");
    const late = await request(c, "POST", `/api/v1/proposals/${p.id}/reject`, { body: { reason: "too late" } });
    expect(late.status).toBe(409);
    expect(late.json.detail).toMatch(/applied, not pending/);
    expect((await request(c, "GET", `/api/v1/tasks/${taskId}`)).json.result).toMatchObject({
      outcome: "proposed",
      proposal_id: p.id,
    });
  });

  it("reject needs a reason and is recorded; unknown and malformed ids are 404 and 400", async () => {
    const { c, app } = await world({ agent: true });
    const taskId = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title: "Write x", instructions: editInstructions("x", [{ write: { path: "x.txt", content: "x\n" } }]) },
      })
    ).json.id;
    const p = await eventually("proposal", async () => await proposalOf(c, taskId));
    const noReason = await request(c, "POST", `/api/v1/proposals/${p.id}/reject`, { body: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.json.field).toBe("reason");
    const wrongHash = await request(c, "POST", `/api/v1/proposals/${p.id}/reject`, {
      body: { reason: "no", sha256: "f".repeat(64) },
    });
    expect(wrongHash.status).toBe(409);
    const extra = await request(c, "POST", `/api/v1/proposals/${p.id}/reject`, { body: { reason: "no", note: "x" } });
    expect(extra.json.field).toBe("note");
    const r = await request(c, "POST", `/api/v1/proposals/${p.id}/reject`, {
      token: TOKENS.bob,
      body: { reason: "not wanted" },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ decision: "reject", by: "bob", reason: "not wanted" });
    expect((await request(c, "GET", `/api/v1/proposals/${p.id}`)).json.effective_state).toMatch(/^rejected$/);
    const rejected = await eventually("rejected", async () => {
      const x = (await request(c, "GET", `/api/v1/proposals/${p.id}`)).json;
      return x.state === "rejected" ? x : undefined;
    });
    expect(rejected).toMatchObject({ decided_by: "bob", reason: "not wanted" });
    expect(trailers(app, "Task-Id")).toEqual([]);

    expect((await request(c, "GET", "/api/v1/proposals/p-261121-103134-k3f9xa")).status).toBe(404);
    expect(
      (
        await request(c, "POST", "/api/v1/proposals/p-261121-103134-k3f9xa/approve", {
          body: { sha256: "a".repeat(64) },
        })
      ).status,
    ).toBe(404);
    const bad = await request(c, "GET", "/api/v1/proposals/p-..%2F..%2Fetc");
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe("id");
    expect((await request(c, "POST", "/api/v1/proposals/nope/reject", { body: { reason: "x" } })).json.field).toBe(
      "id",
    );
    expect((await request(c, "GET", "/api/v1/proposals?state=maybe")).json.field).toBe("state");
  });
});

describe("console API: event streams", () => {
  it("logs: the newest lines, then new ones as the runtime writes them; agent filter; no follow ends with `end`", async () => {
    const { c } = await world({ agent: true });
    await eventually("agent started", async () => (await request(c, "GET", "/api/v1/agents")).json.length === 1);
    const follow = await openEvents(c, "/api/v1/logs?follow=1&lines=50");
    streams.push(follow);
    expect(follow.status).toBe(200);
    expect(follow.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    await waitFor("first lines", () => follow.events.some((e) => e.event === "log" && e.data.agent === "a1"));
    const taskId = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title: "Log me", instructions: editInstructions("x", [{ write: { path: "l.txt", content: "l\n" } }]) },
      })
    ).json.id;
    await waitFor("a line about the new task", () =>
      follow.events.some((e) => JSON.stringify(e.data).includes(taskId)),
    );
    const times = follow.events.map((e) => e.data.time as string);
    expect(times).toEqual([...times].sort());

    const once = await openEvents(c, "/api/v1/logs?agent=a1&lines=3");
    await once.ended;
    expect(once.events.map((e) => e.event)).toEqual(["log", "log", "log", "end"]);
    const none = await openEvents(c, "/api/v1/logs?agent=nobody-here");
    await none.ended;
    expect(none.events).toEqual([{ event: "end", data: {} }]);
    for (const [q, field] of [
      ["?lines=" + (MAX_STREAM_LINES + 1), "lines"],
      ["?lines=-1", "lines"],
      ["?follow=yes", "follow"],
      ["?agent=..", "agent"],
    ] as const) {
      const r = await request(c, "GET", `/api/v1/logs${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.field, q).toBe(field);
    }
    expect((await request(c, "GET", "/api/v1/logs", { token: null })).status).toBe(401);
    expect(follow.events.every((e) => e.event === "log")).toBe(true);
  });

  it("comms: with no messages, no follow ends at once and follow=1 stays open; streams are capped", async () => {
    const { c } = await world();
    const once = await openEvents(c, "/api/v1/comms");
    await once.ended;
    expect(once.events).toEqual([{ event: "end", data: {} }]);
    expect((await request(c, "GET", "/api/v1/comms?follow=2")).json.field).toBe("follow");
    const open: EventReader[] = [];
    for (let i = 0; i < MAX_STREAMS; i++) open.push(await openEvents(c, "/api/v1/comms?follow=1"));
    streams.push(...open);
    expect(open.every((s) => s.status === 200)).toBe(true);
    const refused = await request(c, "GET", "/api/v1/logs?follow=1");
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("5");
    // All still open (none ended) while the server answers other requests.
    let ended = 0;
    for (const s of open)
      void s.ended.then(() => {
        ended++;
      });
    expect((await request(c, "GET", "/api/v1/health")).status).toBe(200);
    expect(ended).toBe(0);
    open[0]!.close();
    await eventually("a stream slot is free again", async () => {
      const r = await request(c, "GET", "/api/v1/comms", { check: false });
      return r.status === 200;
    });
  });
});

describe("console API: the comms log", () => {
  it("/comms streams the agents' messages merged in time order, exactly as recorded, then new ones with follow=1", async () => {
    const { w, c } = await world();
    const comms = path.join(w.shared, "comms");
    fs.mkdirSync(comms, { recursive: true });
    const line = (time: string, agent: string, text: string) =>
      JSON.stringify({ time, agent, task: "t-261129-101010-abcdef", text }) + "\n";
    const nasty = "\u001b[2J\r\u202eevil\n\nevent: end\ndata: {}";
    fs.writeFileSync(
      path.join(comms, "a1.jsonl"),
      line("2026-11-29T10:00:01.000Z", "a1", "first") + line("2026-11-29T10:00:03.000Z", "a1", nasty),
    );
    fs.writeFileSync(path.join(comms, "b2.jsonl"), line("2026-11-29T10:00:02.000Z", "b2", "second"));
    const once = await openEvents(c, "/api/v1/comms?lines=10");
    await once.ended;
    expect(once.events.map((e) => e.event)).toEqual(["message", "message", "message", "end"]);
    const texts = once.events.slice(0, 3).map((e) => (e.data as { agent: string; text: string }).text);
    expect(texts).toEqual(["first", "second", nasty]);
    const onlyB = await openEvents(c, "/api/v1/comms?agent=b2");
    await onlyB.ended;
    expect(onlyB.events.map((e) => (e.data as { text?: string }).text)).toEqual(["second", undefined]);
    const last = await openEvents(c, "/api/v1/comms?lines=1");
    await last.ended;
    expect((last.events[0]!.data as { text: string }).text).toBe(nasty);

    const follow = await openEvents(c, "/api/v1/comms?follow=1&lines=0");
    streams.push(follow);
    fs.appendFileSync(path.join(comms, "b2.jsonl"), line("2026-11-29T10:00:04.000Z", "b2", "later"));
    await eventually("the new message", async () => follow.events.length === 1);
    expect(follow.events[0]).toEqual({
      event: "message",
      data: { time: "2026-11-29T10:00:04.000Z", agent: "b2", task: "t-261129-101010-abcdef", text: "later" },
    });
    expect((await request(c, "GET", "/api/v1/comms?agent=Bad")).json.field).toBe("agent");
  });
});

describe("console API: agent-controlled text", () => {
  it("HTML, terminal escapes and bidi controls in titles, log lines and diffs come back exactly as written, as JSON data that cannot forge events", async () => {
    const { w, c } = await world({ agent: true });
    const nasty = `<img src=x onerror=alert(1)>\x1b[2K\x1b[1A\r\u202eevil`;
    const title = `Title ${nasty}`;
    const content = `<script>alert(2)</script>\n\x1b]0;pwned\x07\x1b[1A\x1b[2K+ fake line\r\n\u202edesrever\n`;
    const forge = `\n\nevent: end\ndata: {}\n\n`;
    const t1 = (
      await request(c, "POST", "/api/v1/tasks", {
        body: { title, instructions: editInstructions("h", [{ write: { path: "<b>bold</b>.html", content } }]) },
      })
    ).json.id;
    const t2 = (
      await request(c, "POST", "/api/v1/tasks", {
        body: {
          title: "fails",
          instructions: editInstructions("f", [{ fail: { message: `${nasty}${forge}`, exitCode: 3 } }]),
        },
      })
    ).json.id;
    const p = await eventually("proposal", async () => await proposalOf(c, t1));
    const detail = await request(c, "GET", `/api/v1/proposals/${p.id}`);
    expect(detail.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(detail.headers["x-content-type-options"]).toBe("nosniff");
    expect(detail.json.task_title).toBe(title);
    expect(detail.json.patch).toContain("<script>alert(2)</script>");
    expect(detail.json.patch).toContain("\x1b]0;pwned\x07");
    expect(
      Buffer.from(detail.json.patch_base64, "base64").equals(
        fs.readFileSync(path.join(w.shared, "proposals", `${p.id}.patch`)),
      ),
    ).toBe(true);
    expect(detail.json.diffstat.files.map((f: { path: string }) => f.path)).toEqual(["<b>bold</b>.html"]);
    const failed = await eventually("failed", async () => {
      const x = (await request(c, "GET", `/api/v1/tasks/${t2}`)).json;
      return x.status === "failed" ? x : undefined;
    });
    expect(failed.result.error).toContain("<img src=x onerror=alert(1)>");

    const logs = await openEvents(c, "/api/v1/logs?lines=5000");
    await logs.ended;
    // The forged "end" inside the agent's output stayed inside one event's data: the only `end` is the real last one.
    expect(logs.events.filter((e) => e.event === "end")).toHaveLength(1);
    expect(logs.events.at(-1)!.event).toBe("end");
    expect(logs.events.some((e) => JSON.stringify(e.data).includes("event: end"))).toBe(true);
    expect(logs.events.some((e) => JSON.stringify(e.data).includes("\\u001b[2K"))).toBe(true);
  });
});

describe("console API: pausing an agent", () => {
  it("pause and resume write the control record with the token's name; the runtime reports paused and claims nothing", async () => {
    const { w, c } = await world({ agent: true });
    await waitFor("a1 reported", () => fs.existsSync(path.join(w.shared, "agents", "a1", "status.json")));
    const paused = await request(c, "POST", "/api/v1/agents/a1/pause", { body: { reason: "look at its last change" } });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ agent: "a1", paused: true, by: "alice", reason: "look at its last change" });
    const pausedOf = async () =>
      ((await request(c, "GET", "/api/v1/agents")).json as Array<{ agent: string; paused: boolean }>).find(
        (a) => a.agent === "a1",
      )?.paused;
    await eventually("a1 reported paused", async () => (await pausedOf()) === true);
    // Bad input: 400 naming the field; an agent that never reported: 404; no body: 415.
    const long = await request(c, "POST", "/api/v1/agents/a1/pause", { body: { reason: "x".repeat(2001) } });
    expect([long.status, long.json.field]).toEqual([400, "reason"]);
    const extra = await request(c, "POST", "/api/v1/agents/a1/resume", { body: { reason: "resume has none" } });
    expect([extra.status, extra.json.field]).toEqual([400, "reason"]);
    const badName = await request(c, "POST", "/api/v1/agents/A_1/pause", { body: {} });
    expect([badName.status, badName.json.field]).toEqual([400, "name"]);
    const unknown = await request(c, "POST", "/api/v1/agents/ghost/pause", { body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toMatch(/no agent named ghost/);
    expect((await request(c, "POST", "/api/v1/agents/a1/pause")).status).toBe(415);
    expect(fs.existsSync(path.join(w.shared, "control", "ghost.json"))).toBe(false);

    const resumed = await request(c, "POST", "/api/v1/agents/a1/resume", { body: {}, token: TOKENS.bob });
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ agent: "a1", paused: false, by: "bob", reason: null });
    await eventually("a1 reported running", async () => (await pausedOf()) === false);
  });
});

describe("console API: several approvers", () => {
  it("each token's approval is one vote: the same token twice is 409, the second token's writes the decision", async () => {
    w = makeWorld();
    const app = makeApp(w, "a1");
    running.push(startAgent(w, "a1", { APPROVAL_REQUIRED: "true", AGENT_REVIEW_APPROVALS: "2" }));
    c = await startConsole(w);
    const md = editInstructions("two", [{ append: { path: "two.md", content: "two\n" } }]);
    const added = await request(c, "POST", "/api/v1/tasks", { body: { title: "two", instructions: md } });
    const p = await eventually("proposed", () => proposalOf(c!, added.json.id));
    const full = await request(c, "GET", `/api/v1/proposals/${p.id}`);
    expect(full.json).toMatchObject({ approvals_required: 2, approvals: [] });
    const first = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { sha256: p.sha256 } });
    expect(first.status).toBe(200);
    expect(first.json.approvals).toEqual({ have: 1, need: 2, approvers: ["alice"] });
    const twice = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, { body: { sha256: p.sha256 } });
    expect(twice.status).toBe(409);
    expect(twice.json.detail).toMatch(/alice has approved .* already/);
    const second = await request(c, "POST", `/api/v1/proposals/${p.id}/approve`, {
      body: { sha256: p.sha256 },
      token: TOKENS.bob,
    });
    expect(second.json).toMatchObject({ by: "alice, bob", approvers: ["alice", "bob"] });
    // The file appears in the working tree before the commit is made: wait for the proposal's
    // record to say applied, then read the commit it names.
    const applied = await eventually("applied", async () => {
      const x = (await request(c!, "GET", `/api/v1/proposals/${p.id}`)).json;
      return x.state === "applied" ? x : undefined;
    });
    expect(applied.commit).toBe(git(app, ["rev-parse", "HEAD"]).trim());
    expect(fs.readFileSync(path.join(app, "two.md"), "utf8")).toBe("two\n");
    expect(git(app, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"]).trim()).toBe("alice, bob");
  });
});

describe("console API: notifications", () => {
  it("lists the notification sinks (none without --notify; the deliveries are tested in notify.test.ts)", async () => {
    const { c } = await world();
    const r = await request(c, "GET", "/api/v1/notifications");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ sinks: [] });
    expect((await request(c, "GET", "/api/v1/notifications?state=failing")).status).toBe(400);
    expect((await request(c, "GET", "/api/v1/notifications", { token: null })).status).toBe(401);
  });
});

describe("console API: the document", () => {
  it("states the limits the server enforces", () => {
    const s = doc.components.schemas;
    expect(s.NewTask.properties.title.maxLength).toBe(MAX_TITLE_LENGTH);
    expect(s.NewTask.properties.context.maxItems).toBe(MAX_CONTEXT_FILES);
    const approve = doc.paths["/proposals/{id}/approve"].post.requestBody.content["application/json"].schema;
    expect(approve.properties.note.maxLength).toBe(MAX_NOTE_LENGTH);
    const pause = doc.paths["/agents/{name}/pause"].post.requestBody.content["application/json"].schema;
    expect(pause.properties.reason.maxLength).toBe(MAX_CONTROL_REASON_LENGTH);
    expect(doc.components.parameters.Lines["x-maximum"]).toBe(MAX_STREAM_LINES);
    expect(doc.paths["/logs"].get.description).toContain(`At most ${MAX_STREAMS} streams`);
    expect(doc.info.description).toContain(`at most ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
  });
});

describe("console API: coverage of the document", () => {
  // Last in the file (tests run in order): every documented operation was answered at least once
  // with a success, and that answer validated against the document.
  it("every documented operation was exercised", () => {
    const ops = Object.values(doc.paths).flatMap((p) =>
      Object.values(p as Record<string, { operationId: string; responses: Record<string, unknown> }>),
    );
    const missing = ops
      .filter((op) => !Object.keys(op.responses).some((s) => s.startsWith("2") && seen.has(`${op.operationId} ${s}`)))
      .map((op) => op.operationId);
    expect(missing).toEqual([]);
  });
});
