/** Pause before the next claim after failures: base, doubled per failure in a row, capped. */
export function backoffDelayMs(baseMs: number, maxMs: number, failuresInARow: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failuresInARow - 1, 20));
}

/** When the task loop may claim again. */
export class Backoff {
  private until = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** After the `failuresInARow`-th failure in a row. */
  fail(failuresInARow: number): void {
    this.until = this.now() + backoffDelayMs(this.baseMs, this.maxMs, failuresInARow);
  }

  clear(): void {
    this.until = 0;
  }

  /** How long the loop must still wait (<= 0: it may claim). */
  remainingMs(): number {
    return this.until - this.now();
  }
}
