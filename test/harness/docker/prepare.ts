/**
 * Prepares the container suite's engine and images outside vitest, printing timings:
 *   npx tsx test/harness/docker/prepare.ts [--vps] [--keep]
 * (--keep leaves dockerd running; the suite's global setup then reuses it.)
 */
import { buildAgentImage, buildBaseImage, buildVpsBaseImage, ensureDockerEngine } from "./index.js";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--keep")) process.env.AGENT_FLEET_KEEP_DOCKERD = "1";
  const engine = await ensureDockerEngine({ instance: "containers" });
  console.log(`engine ${engine.host} (${engine.startedHere ? "started" : "reused"})`);
  try {
    const base = await buildBaseImage(engine);
    console.log(`base ${base.tag}: ${base.action} in ${base.seconds.toFixed(1)} s (key ${base.key})`);
    if (argv.includes("--vps")) {
      const vps = await buildVpsBaseImage(engine);
      console.log(`vps ${vps.tag}: ${vps.action} in ${vps.seconds.toFixed(1)} s (key ${vps.key})`);
    }
    const image = await buildAgentImage(engine, { baseImage: base.tag });
    console.log(
      `agent image ${image.tag}: ${(image.sizeBytes / 1e6).toFixed(0)} MB, built in ${image.seconds.toFixed(1)} s`,
    );
  } finally {
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
