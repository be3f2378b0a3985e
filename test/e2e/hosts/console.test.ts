/**
 * The review console through the real CLI on the local target (issue 12): `pulumi up` with a
 * console port and a token set as a stack secret starts `<fleet>-console` published on the host's
 * 127.0.0.1 only; the token is never plain in the state; a task queued through the API becomes a
 * proposal that is approved through the API (bound to its sha256) and committed with
 * `Approved-By:` the token's name; the installed host agentctl answers through the console's
 * operator socket without starting a container; `destroy` removes the console.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, run } from "../../harness/docker/index.js";
import { freePort, loopbackJson } from "../../harness/loopbackHttp.js";
import { agent1Instructions, waitFor } from "../../containers/fleet.js";
import { git } from "../../containers/hostPrograms/operator.js";
import { waitHealthy } from "../../containers/hostPrograms/world.js";
import { containerIds, hostsWorld, type HostsWorld } from "./world.js";

const TOKEN = "alice-e2e-console-token-0123456789abcdef";

describe("the review console through the real CLI on the local target", () => {
  let w: HostsWorld;
  let port: number;
  let outputs: Record<string, any>;
  const consoleName = () => `${w.fleet}-console`;
  const api = (p: string, opts: { method?: string; body?: unknown; token?: string | null } = {}) =>
    loopbackJson(port, `/api/v1${p}`, { ...opts, token: opts.token === null ? undefined : (opts.token ?? TOKEN) });

  beforeAll(async () => {
    w = hostsWorld("console");
    port = await freePort();
    await w.stack.init(
      {
        target: "local",
        fleetName: w.fleet,
        image: { baseImage: w.baseImage },
        agents: [{ name: "one", code: "agents/agent-1", approvalRequired: true }],
        console: { port },
      },
      { "agent-fleet:console.tokens.alice": TOKEN },
    );
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  it("up starts the console on 127.0.0.1:PORT only; the token is in no output and not plain in the state", async () => {
    await w.stack.up();
    outputs = await w.stack.outputs();
    expect(outputs["consoleUrl"]).toBe(`http://127.0.0.1:${port}/`);
    expect(JSON.stringify(outputs)).not.toContain(TOKEN);
    const state = await w.stack.ok(["stack", "export", "--stack", w.fleet]);
    expect(state.stdout).not.toContain(TOKEN);

    const inspect = JSON.parse(await docker(w.engine, ["inspect", consoleName()]))[0];
    expect(inspect.HostConfig.PortBindings).toEqual({
      [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(port) }],
    });
    await waitHealthy(w.engine, (outputs["agents"] as { container: string }[])[0]!.container);
    await waitFor(
      "the console to answer on its loopback port",
      async () => (await api("/health", { token: null }).catch(() => undefined))?.status === 200,
      120_000,
      250,
    );
    expect((await api("/agents", { token: null })).status).toBe(401);
    expect((await api("/agents", { token: "not-the-token-0123456789abcdef" })).status).toBe(401);
  });

  it("a task queued through the API is approved through the API and committed with Approved-By: the token's name", async () => {
    const codeDir = path.join(w.projectDir, ".agent-fleet", w.fleet, "agents", "one");
    const created = await api("/tasks", {
      method: "POST",
      body: {
        title: "Greet from the console",
        agent: "one",
        instructions: agent1Instructions([{ write: { path: "console.txt", content: "approved in the console\n" } }]),
      },
    });
    expect(created.status).toBe(201);
    const proposal = await waitFor(
      "a pending proposal for the console's task",
      async () =>
        ((await api("/proposals?state=pending")).json as any[]).find((p) => p.task_id === created.json.id) ?? undefined,
      240_000,
      500,
    );
    const wrong = await api(`/proposals/${proposal.id}/approve`, { method: "POST", body: { sha256: "0".repeat(64) } });
    expect(wrong.status).toBe(409);
    const ok = await api(`/proposals/${proposal.id}/approve`, { method: "POST", body: { sha256: proposal.sha256 } });
    expect(ok.status).toBe(200);
    const applied = await waitFor(
      "the approved proposal to be applied",
      async () => {
        const p = (await api(`/proposals/${proposal.id}`)).json;
        return p.state === "applied" ? p : undefined;
      },
      120_000,
      500,
    );
    expect((await git(codeDir, ["rev-parse", "HEAD"])).trim()).toBe(applied.commit);
    expect((await git(codeDir, ["log", "-1", "--format=%(trailers:key=Approved-By,valueonly)"])).trim()).toBe("alice");
    expect(readFileSync(path.join(codeDir, "console.txt"), "utf8")).toBe("approved in the console\n");
  });

  it("the installed host agentctl answers through the operator socket, with no container started", async () => {
    const wrapper = (outputs["agentctl"] as Record<string, string>)["status"]!.replace(/ status$/, "");
    // A docker that only fails: an answer can only have come through the socket.
    const bin = path.join(w.work, "no-docker");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho 'docker stand-in: no container here' >&2\nexit 125\n", {
      mode: 0o755,
    });
    const r = await run(wrapper, ["--json", "status"], {
      cwd: w.work,
      env: { ...process.env, ...w.dockerEnv, PATH: `${bin}:${process.env.PATH}` },
      timeoutMs: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { agent: string }[]).map((s) => s.agent)).toEqual(["one"]);
  });

  it("destroy removes the console", async () => {
    await w.stack.destroy();
    expect(await containerIds(w.engine, [consoleName()])).toEqual({ [consoleName()]: undefined });
  });
});
