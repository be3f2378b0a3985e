// agent-1: a deterministic example agent. It reads its task (TASK_INSTRUCTIONS, else the task's
// description in TASK_FILE), finds the edit block (a fenced ```json block holding an object with
// "edits", or one edit) and applies the edits to its working directory, a scratch copy of /app.
// The runtime turns the result into a proposal. See README.md for the format.
import * as fs from "node:fs";
import * as path from "node:path";

const EX_DATAERR = 65; // the task's edit block is wrong: retrying cannot help

function fail(message, code = EX_DATAERR) {
  process.stderr.write(`agent-1: ${message}\n`);
  process.exit(code);
}

if (process.argv.includes("--check")) {
  // Start check: the program loads and its working directory is readable.
  fs.readdirSync(".");
  process.stdout.write("agent-1: ok\n");
  process.exit(0);
}

function findBlock(text) {
  const fence = /```(json|agent-1)[^\n]*\n([\s\S]*?)```/g;
  for (const m of text.matchAll(fence)) return m[2];
  const t = text.trim();
  if (t.startsWith("{")) return t;
  return undefined;
}

function readTask() {
  const sources = [];
  if (process.env.TASK_INSTRUCTIONS && fs.existsSync(process.env.TASK_INSTRUCTIONS)) {
    sources.push(["instructions", fs.readFileSync(process.env.TASK_INSTRUCTIONS, "utf8")]);
  }
  if (process.env.TASK_FILE) {
    const task = JSON.parse(fs.readFileSync(process.env.TASK_FILE, "utf8"));
    sources.push(["description", task.description ?? ""]);
  }
  for (const [where, text] of sources) {
    const block = findBlock(text);
    if (block === undefined) continue;
    try {
      return JSON.parse(block);
    } catch (err) {
      fail(`the edit block in the task's ${where} is not valid JSON: ${err.message}`);
    }
  }
  fail(
    'the task has no edit block: put a ```json block with {"edits": [...]} in its instructions or description (see agents/agent-1/README.md)',
  );
}

function safePath(p) {
  if (typeof p !== "string" || p === "") fail(`"path" must be a non-empty string, got ${JSON.stringify(p)}`);
  const norm = path.posix.normalize(p);
  if (path.posix.isAbsolute(norm) || norm.startsWith("..") || norm.split("/").includes(".git")) {
    fail(`path ${JSON.stringify(p)} must stay inside the working copy (relative, no "..", not .git)`);
  }
  return norm;
}

function str(v, field) {
  if (typeof v !== "string") fail(`"${field}" must be a string`);
  return v;
}

const spec = readTask();
const edits = Array.isArray(spec?.edits) ? spec.edits : [spec];
if (edits.length === 0) fail(`"edits" is empty`);
for (const [i, e] of edits.entries()) {
  if (typeof e !== "object" || e === null) fail(`edit ${i} must be an object`);
  const [op, ...more] = Object.keys(e);
  if (more.length > 0) fail(`edit ${i} must have exactly one operation, got ${Object.keys(e).join(", ")}`);
  const a = e[op] ?? {};
  switch (op) {
    case "write": {
      const p = safePath(a.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, str(a.content, "content"));
      break;
    }
    case "append": {
      const p = safePath(a.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.appendFileSync(p, str(a.content, "content"));
      break;
    }
    case "replace": {
      const p = safePath(a.path);
      if (!fs.existsSync(p)) fail(`replace: ${p} does not exist`);
      const before = fs.readFileSync(p, "utf8");
      const find = str(a.find, "find");
      if (!before.includes(find)) fail(`replace: ${JSON.stringify(find)} not found in ${p}`);
      fs.writeFileSync(p, before.split(find).join(str(a.with, "with")));
      break;
    }
    case "delete": {
      const p = safePath(a.path);
      fs.rmSync(p, { force: true });
      break;
    }
    case "fail": {
      // For exercising the runtime: fail on purpose (exit 75 asks for a retry).
      const code = Number.isInteger(a.exitCode) ? a.exitCode : 1;
      fail(a.message ?? "failing as the task asks", code);
      break;
    }
    case "sleep": {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(a.seconds ?? 1) * 1000);
      break;
    }
    default:
      fail(`edit ${i}: unknown operation "${op}" (write, append, replace, delete, fail, sleep)`);
  }
  process.stdout.write(`agent-1: ${op} ${a.path ?? ""}\n`);
}
