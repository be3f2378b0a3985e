/**
 * One claiming process of the claim benchmark: waits for "go" on stdin, claims tasks with the
 * runtime's own queue code (rename + read + validate) until the queue is empty, then prints
 * `{"claims": N, "end": <epoch ms>}`.
 */
import * as readline from "node:readline";
import { TaskQueue } from "../../runtime/queue/taskQueue.js";
import { ensureSharedLayout, sharedLayout } from "../../runtime/sharedLayout.js";

const [shared, agent] = process.argv.slice(2) as [string, string];
const layout = sharedLayout(shared);
ensureSharedLayout(layout, agent);
const queue = new TaskQueue(layout);
process.stdout.write("ready\n");
const rl = readline.createInterface({ input: process.stdin });
rl.once("line", () => {
  let claims = 0;
  let misses = 0;
  while (misses < 2) {
    const c = queue.claimNext(agent, []);
    if (c) {
      claims++;
      misses = 0;
      if ("error" in c.record) throw new Error(`bench task unreadable: ${c.record.error}`);
    } else misses++;
  }
  process.stdout.write(JSON.stringify({ claims, end: Date.now() }) + "\n");
  rl.close();
  process.exit(0);
});
