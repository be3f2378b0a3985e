/**
 * A loop's pause between polls that a file-change notification can cut short. A wake-up that
 * comes while the loop is busy is kept: the loop's next sleep returns at once.
 */
export class WakeableSleep {
  private wakeUp: (() => void) | undefined;
  private wokenWhileBusy = false;

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenWhileBusy = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.wokenWhileBusy) {
      this.wokenWhileBusy = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakeUp = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
