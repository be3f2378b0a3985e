// Manual end-to-end check of the local target without a Pulumi engine (not a vitest file; needs
// root, dockerd and the container suite's base image): runs the program under mocks, then runs the
// host programs it registered with /bin/sh, in dependency order, against a private Docker engine,
// as the command provider would. Phases: up (every create), pause (run-state steps of paused: true),
// push (agent "one" with codeRevision "2"), destroy (every delete), purge (deletes with
// purgeOnDestroy: true). Fleet root: /tmp/af-sim/root.
//   npx tsx test/unit/program/manual-host-run.ts up|pause|push|destroy|purge
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { buildBaseImage, dockerEnv, ensureDockerEngine } from "../../harness/docker/index.js";
import { plain, runProgram, type ProgramRun } from "./harness.js";

const repo = path.resolve(__dirname, "../../..");
const root = "/tmp/af-sim/root";

function order(run: ProgramRun): string[] {
  const names = run.resources.filter((r) => r.type === "command:local:Command").map((r) => r.name);
  const rank = (n: string) =>
    n === "host-docker" ? 0 : n === "fleet-image" ? 1 : n === "fleet-dirs" ? 2 : n === "fleet-agentctl" ? 3 :
    n.endsWith("-code") ? 4 : n.endsWith("-secrets") ? 5 : n.endsWith("-container") ? 6 : n.endsWith("-run") ? 7 :
    n === "fleet-prune-images" ? 8 : 9;
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function exec(env: NodeJS.ProcessEnv, name: string, program: string, stdin?: string) {
  const t0 = Date.now();
  const r = spawnSync("/bin/sh", ["-c", program], { input: stdin ?? "", encoding: "utf8", env, maxBuffer: 64 << 20 });
  console.log(`--- ${name}: exit ${r.status} in ${Date.now() - t0} ms\n${(r.stdout + r.stderr).trim().slice(-1500)}`);
  if (r.status !== 0) throw new Error(`${name} failed`);
}

async function main() {
  const engine = await ensureDockerEngine({ instance: "program-sim" });
  const base = await buildBaseImage(engine);
  console.log("engine", engine.host, "base", base.tag);
  const env = dockerEnv(engine);
  const phase = process.argv[2] ?? "up";
  const cfg = (over: Record<string, unknown> = {}) => ({
    config: {
      target: "local", fleetName: "sim", hostRoot: root,
      image: { baseImage: base.tag },
      agents: [
        { name: "one", code: "agents/agent-1" },
        { name: "two", code: "agents/agent-1", approvalRequired: false, secrets: ["SIM_TOKEN"] },
      ],
      SIM_TOKEN: "sim-secret-value-123",
      ...over,
    },
    secretKeys: ["agent-fleet:SIM_TOKEN"],
  });
  const over: Record<string, unknown> =
    phase === "pause" ? { paused: true } : phase === "purge" ? { purgeOnDestroy: true } :
    phase === "push" ? { agents: [{ name: "one", code: "agents/agent-1", codeRevision: "2" }, { name: "two", code: "agents/agent-1", approvalRequired: false, secrets: ["SIM_TOKEN"] }] } : {};
  const run = await runProgram(repo, cfg(over), { stackName: "sim" });
  if (phase === "destroy" || phase === "purge") {
    for (const name of order(run).reverse()) {
      const r = run.byName(name);
      if (r.inputs.delete) exec(env, `delete ${name}`, r.inputs.delete, plain(r.inputs.stdin));
    }
    return;
  }
  for (const name of order(run)) {
    const r = run.byName(name);
    if (phase === "pause" && !name.endsWith("-run")) continue;
    if (phase === "push" && name !== "fleet-one-code") continue;
    exec(env, name, r.inputs.create, plain(r.inputs.stdin));
  }
  console.log(JSON.stringify(run.outputs.agentctl, null, 1));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
