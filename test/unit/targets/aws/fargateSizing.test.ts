import { describe, expect, test } from "vitest";
import { FARGATE_SIZES, fargateTaskSize, isFargateTaskSize } from "../../../../targets/aws/fargateSizing.js";

describe("Fargate task sizes", () => {
  test("the table is the documented one", () => {
    const summary = FARGATE_SIZES.map((r) => [r.cpu, r.memory[0], r.memory[r.memory.length - 1], r.memory.length]);
    expect(summary).toEqual([
      [256, 512, 2048, 3],
      [512, 1024, 4096, 4],
      [1024, 2048, 8192, 7],
      [2048, 4096, 16384, 13],
      [4096, 8192, 30720, 23],
      [8192, 16384, 61440, 12],
      [16384, 32768, 122880, 12],
    ]);
  });

  test.each([
    [0.25, 512],
    [0.25, 1024],
    [0.25, 2048],
    [0.5, 1024],
    [0.5, 4096],
    [1, 2048],
    [1, 8192],
    [2, 4096],
    [2, 5120],
    [4, 30720],
    [8, 16384],
    [8, 20480],
    [16, 122880],
  ])("cpus %s with memoryMb %s is accepted", (cpus, mem) => {
    expect(fargateTaskSize("a", cpus, mem)).toEqual({ cpu: cpus * 1024, memory: mem });
    expect(isFargateTaskSize(cpus * 1024, mem)).toBe(true);
  });

  test("the Docker-host default (1 vCPU, 1024 MiB) is rejected with the agent, the range and the nearest value", () => {
    expect(() => fargateTaskSize("writer", 1, 1024)).toThrow(
      'agent "writer": resources: Fargate does not accept memoryMb 1024 with cpus 1; with 1 vCPU memoryMb must be 2048–8192 in steps of 1024 (nearest: 2048)',
    );
  });

  test.each([
    [0.25, 768, "512, 1024, 2048"],
    [0.5, 5120, "1024–4096 in steps of 1024"],
    [8, 18432, "16384–61440 in steps of 4096"],
    [16, 36864, "32768–122880 in steps of 8192"],
  ])("cpus %s with memoryMb %s is rejected (allowed: %s)", (cpus, mem, allowed) => {
    expect(() => fargateTaskSize("x", cpus, mem)).toThrow(allowed);
  });

  test("CPU values Fargate does not offer are rejected with the list of offered ones", () => {
    expect(() => fargateTaskSize("big", 3, 8192)).toThrow(
      'agent "big": resources.cpus 3 is not a Fargate task size; Fargate accepts cpus 0.25, 0.5, 1, 2, 4, 8, 16 (vCPU)',
    );
    expect(() => fargateTaskSize("neg", -1, 1024)).toThrow('agent "neg": resources.cpus must be a positive number');
    expect(() => fargateTaskSize("frac", 1, 2048.5)).toThrow(
      'agent "frac": resources.memoryMb must be a positive whole number',
    );
  });
});
