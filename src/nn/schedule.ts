/**
 * Exponential learning-rate decay with a floor (spec §A.10): the first step uses lr0, and after every step
 * lr ← max(minLr, gamma·lr). Step j (1-based) therefore uses max(minLr, lr0·gamma^(j−1)).
 */
export class ExponentialLr {
  private current: number;
  /** Steps taken so far. */
  stepCount = 0;

  constructor(
    readonly lr0: number,
    readonly gamma: number,
    readonly minLr: number,
  ) {
    if (!(lr0 > 0) || !(gamma > 0) || !(minLr >= 0)) {
      throw new Error(`ExponentialLr: invalid settings lr0=${lr0}, gamma=${gamma}, minLr=${minLr}`);
    }
    this.current = lr0;
  }

  /** The learning rate of the next optimizer step. */
  get lr(): number {
    return this.current;
  }

  /** Call after each optimizer step. */
  step(): void {
    this.current = Math.max(this.minLr, this.gamma * this.current);
    this.stepCount++;
  }

  /** Restores the schedule after `steps` steps (for resuming), repeating the same multiplications. */
  restore(steps: number): void {
    this.current = this.lr0;
    this.stepCount = 0;
    for (let i = 0; i < steps; i++) this.step();
  }
}
