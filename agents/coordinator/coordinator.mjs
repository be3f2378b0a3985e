// A deterministic coordinator (no model): splits its task's instruction list into one task per
// item, for its workers in turn, and writes them into $TASK_OUTBOX; the runtime checks and queues
// them (docs/runtime.md "Coordinators"). It says what it did in $TASK_MESSAGES (the comms log).
// The format is in README.md.
import * as fs from "node:fs";
import * as path from "node:path";

if (process.argv.includes("--check")) process.exit(0);

const fail = (msg, code = 65) => {
  console.error(`coordinator: ${msg}`);
  process.exit(code);
};
const env = process.env;
if (env.AGENT_CAN_CREATE_TASKS !== "true")
  fail("this agent may not create tasks: set canCreateTasks: true on it in the stack config");
if (!env.TASK_OUTBOX || !env.TASK_INSTRUCTIONS)
  fail("run me from the agent runtime ($TASK_OUTBOX, $TASK_INSTRUCTIONS)");

const workers = (env.COORDINATOR_WORKERS ?? "")
  .split(",")
  .map((w) => w.trim())
  .filter(Boolean);
if (workers.length === 0) fail("COORDINATOR_WORKERS names no worker");
const projects = (env.AGENT_PROJECTS ?? "").split(",").filter(Boolean);
const project = env.COORDINATOR_PROJECT || (projects.includes("demo") ? "demo" : projects[0]);

/** Items: a top-level `- title` line, then its indented lines (a `context:` line, a body). */
export function parseItems(markdown) {
  const items = [];
  let cur;
  for (const line of markdown.split("\n")) {
    const top = /^[-*] +(.+?)\s*$/.exec(line);
    if (top) {
      cur = { title: top[1], context: [], body: [] };
      items.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.trim() !== "" && !/^\s/.test(line)) {
      cur = undefined; // a heading or paragraph ends the list item
      continue;
    }
    const inner = line.replace(/^ {1,4}/, "");
    const ctx = /^context:\s*(.+)$/.exec(inner.trim());
    if (ctx)
      cur.context.push(
        ...ctx[1]
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean),
      );
    else cur.body.push(inner);
  }
  return items;
}

const items = parseItems(fs.readFileSync(env.TASK_INSTRUCTIONS, "utf8"));
if (items.length === 0) fail("the instructions hold no list items (`- title` lines) to split");

const messages = [];
items.forEach((item, i) => {
  const agent = workers[i % workers.length];
  const body = item.body.join("\n").trim();
  const task = {
    title: item.title.slice(0, 200),
    instructions: `# ${item.title}\n\n${body}\n`,
    agent,
    ...(project ? { project } : {}),
    ...(item.context.length > 0 ? { context: item.context } : {}),
  };
  const slug =
    item.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "task";
  const name = `${String(i + 1).padStart(2, "0")}-${slug}.json`;
  fs.writeFileSync(path.join(env.TASK_OUTBOX, name), JSON.stringify(task, null, 2) + "\n");
  messages.push(`${agent}: "${item.title}"${project ? ` on ${project}` : ""}`);
});
fs.appendFileSync(
  env.TASK_MESSAGES,
  [`split "${env.TASK_TITLE}" into ${items.length} tasks for ${workers.join(", ")}`, ...messages].join("\n") + "\n",
);
console.log(`coordinator: wrote ${items.length} task files`);
