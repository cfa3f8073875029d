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

  /**
   * Restores the schedule after `steps` steps (for resuming), repeating the same multiplications until the rate
   * stops changing (at minLr, at a subnormal after underflow, or at once for γ = 1), so that a huge step count from
   * a damaged session costs at most some 10⁵ iterations.
   */
  restore(steps: number): void {
    if (!Number.isSafeInteger(steps) || steps < 0) throw new RangeError(`ExponentialLr: invalid step count ${steps}`);
    this.current = this.lr0;
    this.stepCount = 0;
    while (this.stepCount < steps) {
      const before = this.current;
      this.step();
      if (this.current === before) {
        this.stepCount = steps;
        break;
      }
    }
  }
}
