/**
 * Runs the Exoscale simulator as its own process (for the engine end-to-end tests, where a real
 * `pulumi up` talks to it through EXOSCALE_API_ENDPOINT). Prints one JSON line with the endpoint
 * and credentials on stdout, then serves until SIGTERM/SIGINT.
 *
 *   npx tsx test/harness/exoscale/main.ts [--public-ip 127.0.0.1] [--pending-polls 1]
 */
import { ExoscaleSimulator } from "./simulator.js";

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const publicIp = arg("--public-ip");
const pendingPolls = arg("--pending-polls");
void ExoscaleSimulator.start({
  ...(publicIp ? { publicIp } : {}),
  ...(pendingPolls ? { pendingPolls: Number(pendingPolls) } : {}),
}).then(
  (sim) => {
    process.stdout.write(`${JSON.stringify({ endpoint: sim.url, ...sim.credentials })}\n`);
    const stop = () => void sim.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  },
  (err: unknown) => {
    // e.g. the OpenAPI document is missing: say so on stderr (the spawning harness shows it) and stop.
    process.stderr.write(`Exoscale simulator did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
