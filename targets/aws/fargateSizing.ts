/**
 * Fargate task sizes. Fargate accepts only fixed task-level CPU values, each with its own memory
 * range; anything else is rejected by `RegisterTaskDefinition`. We check before anything is
 * created so the error names the agent instead of surfacing as an AWS API error mid-deployment.
 *
 * Source: "Task CPU and memory" in the Amazon ECS Developer Guide (Linux containers on Fargate,
 * platform version 1.4.0+; 8 and 16 vCPU need 1.4.0).
 */

/** One row of the Fargate table: a CPU value (units, 1024 = 1 vCPU) and the memory it allows (MiB). */
interface FargateCpuRow {
  cpu: number;
  memory: readonly number[];
}

function range(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let m = min; m <= max; m += step) out.push(m);
  return out;
}

export const FARGATE_SIZES: readonly FargateCpuRow[] = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: range(1024, 4096, 1024) },
  { cpu: 1024, memory: range(2048, 8192, 1024) },
  { cpu: 2048, memory: range(4096, 16384, 1024) },
  { cpu: 4096, memory: range(8192, 30720, 1024) },
  { cpu: 8192, memory: range(16384, 61440, 4096) },
  { cpu: 16384, memory: range(32768, 122880, 8192) },
];

/** A task size Fargate accepts: CPU units and memory in MiB (the task definition's `cpu`/`memory`). */
export interface FargateTaskSize {
  cpu: number;
  memory: number;
}

function describeRow(row: FargateCpuRow): string {
  const m = row.memory;
  if (m.length <= 3) return m.join(", ");
  const step = (m[1] ?? 0) - (m[0] ?? 0);
  return `${m[0]}–${m[m.length - 1]} in steps of ${step}`;
}

/**
 * The Fargate task size for an agent's `resources.cpus` / `resources.memoryMb`, or an error that
 * names the agent, says what Fargate accepts and suggests the nearest valid value.
 */
export function fargateTaskSize(agent: string, cpus: number, memoryMb: number): FargateTaskSize {
  const where = `agent "${agent}": resources`;
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw new Error(`${where}.cpus must be a positive number, got ${cpus}`);
  }
  if (!Number.isInteger(memoryMb) || memoryMb <= 0) {
    throw new Error(`${where}.memoryMb must be a positive whole number of MiB, got ${memoryMb}`);
  }
  const cpu = Math.round(cpus * 1024);
  const row = FARGATE_SIZES.find((r) => r.cpu === cpu);
  if (!row) {
    const allowed = FARGATE_SIZES.map((r) => r.cpu / 1024).join(", ");
    throw new Error(`${where}.cpus ${cpus} is not a Fargate task size; Fargate accepts cpus ${allowed} (vCPU)`);
  }
  if (!row.memory.includes(memoryMb)) {
    const nearest = row.memory.reduce((best, m) => (Math.abs(m - memoryMb) < Math.abs(best - memoryMb) ? m : best));
    throw new Error(
      `${where}: Fargate does not accept memoryMb ${memoryMb} with cpus ${cpus}; ` +
        `with ${cpus} vCPU memoryMb must be ${describeRow(row)} (nearest: ${nearest})`,
    );
  }
  return { cpu, memory: memoryMb };
}

/** True when Fargate accepts this task-level cpu (units) / memory (MiB) pair. */
export function isFargateTaskSize(cpu: number, memory: number): boolean {
  return FARGATE_SIZES.some((r) => r.cpu === cpu && r.memory.includes(memory));
}
