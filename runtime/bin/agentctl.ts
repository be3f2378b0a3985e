#!/usr/bin/env node
import { main } from "../agentctl/program.js";

// The operator's CLI (see ../agentctl/program.ts and docs/runtime.md "agentctl").
process.umask(0o022);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agentctl: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
