import { defineConfig } from "vitest/config";

// One vitest config, five projects from fast to real (see README "Tests").
// `npm test` runs unit + runtime; containers, e2e and browser are separate scripts that .ci/run also runs.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Says once when the Exoscale simulator's API document (../shared) is missing.
          globalSetup: ["test/harness/exoscale/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "runtime",
          include: ["test/runtime/**/*.test.ts"],
          globalSetup: ["test/runtime/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The review console in Debian's headless Chromium (playwright-core drives /usr/bin/chromium).
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          globalSetup: ["test/runtime/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "containers",
          include: ["test/containers/**/*.test.ts"],
          globalSetup: ["test/containers/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 1_200_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 1_200_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
