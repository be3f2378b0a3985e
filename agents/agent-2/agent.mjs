// agent-2: hands its task to a coding CLI, `claude -p`, in its working directory (a scratch copy
// of /app). The runtime turns whatever the CLI changed into a proposal. Needs ANTHROPIC_API_KEY
// (put it in the agent's secrets: it reaches the container through --env-file only).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";

const EX_UNAVAILABLE = 69; // a needed service/program is missing: retrying will not help
const EX_TEMPFAIL = 75; // transient: the runtime queues the task again
const EX_CONFIG = 78; // configuration error: the task fails with this reason

function fail(message, code) {
  process.stderr.write(`agent-2: ${message}\n`);
  process.exit(code);
}

if (process.argv.includes("--check")) {
  process.stdout.write("agent-2: ok\n");
  process.exit(0);
}

const cli = process.env.AGENT_2_CLI || "claude";
if (!process.env.ANTHROPIC_API_KEY) {
  fail(
    "ANTHROPIC_API_KEY is not set: this agent runs `claude -p`, which needs it. Add it to the agent's secrets (secrets/<agent>.env) and restart the agent.",
    EX_CONFIG,
  );
}

const instructions = process.env.TASK_INSTRUCTIONS ? fs.readFileSync(process.env.TASK_INSTRUCTIONS, "utf8") : "";
const task = process.env.TASK_FILE ? JSON.parse(fs.readFileSync(process.env.TASK_FILE, "utf8")) : {};
const contextDir = process.env.TASK_CONTEXT_DIR;
const prompt = [
  `You are working in a git working copy of your own code. Task: ${task.title ?? process.env.TASK_TITLE ?? ""}`,
  task.description ? `\nDescription:\n${task.description}` : "",
  instructions ? `\nInstructions:\n${instructions}` : "",
  contextDir && fs.existsSync(contextDir) && fs.readdirSync(contextDir).length > 0
    ? `\nContext files are in ${contextDir} (read-only).`
    : "",
  "\nMake the change by editing files in the current directory. Do not commit; your changes are reviewed as a diff.",
].join("\n");

const r = spawnSync(cli, ["-p", prompt, "--permission-mode", "acceptEdits", "--output-format", "text"], {
  stdio: ["ignore", "inherit", "inherit"],
});
if (r.error) {
  if (r.error.code === "ENOENT")
    fail(`the coding CLI "${cli}" is not installed in this image (PATH=${process.env.PATH})`, EX_UNAVAILABLE);
  fail(`cannot run ${cli}: ${r.error.message}`, EX_TEMPFAIL);
}
if (r.status !== 0) fail(`${cli} exited with ${r.status ?? r.signal}`, r.signal ? EX_TEMPFAIL : 1);
