import { missingDocumentMessage } from "./openapi.js";

/**
 * Unit project setup: says once, before any test runs, when the Exoscale simulator cannot start
 * (its API document lives in ../shared beside the clone). The simulator's tests still fail, each
 * with the same one-line reason; everything else runs.
 */
export default function setup(): void {
  const message = missingDocumentMessage();
  if (message) console.error(`\n[exoscale-simulator] ${message}\n`);
}
