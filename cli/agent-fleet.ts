#!/usr/bin/env node
import { main } from "./check.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`agent-fleet: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
