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

// JSON output: the CLI's final message plus what the run cost (`total_cost_usd`, `usage`), which
// this program reports to the runtime in $TASK_USAGE_FILE (budgets, `agentctl usage`).
const r = spawnSync(cli, ["-p", prompt, "--permission-mode", "acceptEdits", "--output-format", "json"], {
  stdio: ["ignore", "pipe", "inherit"],
  maxBuffer: 64 * 1024 * 1024,
});
if (r.error) {
  if (r.error.code === "ENOENT")
    fail(`the coding CLI "${cli}" is not installed in this image (PATH=${process.env.PATH})`, EX_UNAVAILABLE);
  fail(`cannot run ${cli}: ${r.error.message}`, EX_TEMPFAIL);
}
const out = r.stdout ? r.stdout.toString("utf8") : "";
const report = cliReport(out);
if (report) {
  if (typeof report.result === "string")
    process.stdout.write(report.result.endsWith("\n") ? report.result : `${report.result}\n`);
  writeUsage(report);
} else if (out) {
  process.stdout.write(out); // another CLI (AGENT_2_CLI) that prints plain text
}
if (r.status !== 0) fail(`${cli} exited with ${r.status ?? r.signal}`, r.signal ? EX_TEMPFAIL : 1);

/** The CLI's JSON result (the last JSON object it printed), or undefined. */
function cliReport(text) {
  const lines = text.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines.slice(i).join("\n"));
      if (v && typeof v === "object" && !Array.isArray(v)) return v;
    } catch {
      /* not (yet) a whole JSON value */
    }
  }
  return undefined;
}

/** `{ tokens_in, tokens_out, usd }` from the CLI's `usage` and `total_cost_usd`, when it printed them. */
function writeUsage(report) {
  const file = process.env.TASK_USAGE_FILE;
  if (!file) return;
  const u = report.usage && typeof report.usage === "object" ? report.usage : {};
  const whole = (x) => (Number.isSafeInteger(x) && x >= 0 ? x : 0);
  const tokensIn = whole(u.input_tokens) + whole(u.cache_creation_input_tokens) + whole(u.cache_read_input_tokens);
  const usage = { tokens_in: tokensIn, tokens_out: whole(u.output_tokens) };
  if (typeof report.total_cost_usd === "number" && Number.isFinite(report.total_cost_usd) && report.total_cost_usd >= 0)
    usage.usd = report.total_cost_usd;
  if (usage.tokens_in === 0 && usage.tokens_out === 0 && usage.usd === undefined) return;
  fs.writeFileSync(file, JSON.stringify(usage));
}
