/**
 * Time per training step, measured on the running edit, and the time left from it. Crop-only steps and full-image
 * steps (every `sourceImageEvery` steps the full image is a second generator pass, about twice the work) are timed
 * apart, and the first step on a device is left out: it compiles every kernel. The time left counts the full-image
 * steps still to come, so the estimate does not jump when one of them enters or leaves a window of recent steps.
 */

/** Steps that go into the medians (the recent ones: the speed can change, e.g. when the GPU clocks down). */
const WINDOW = 20;

export interface StepTimingSummary {
  /** Median seconds of a crop-only step, once one was measured. */
  cropSeconds: number | null;
  /** Median seconds of a full-image step, once one was measured (a run's first step is one, but it compiles). */
  fullSeconds: number | null;
  /** Steps measured so far (the warm-up step excluded). */
  measured: number;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** How many of steps [from, to) (0-based) are full-image steps: those with step % every == 0. */
export function fullImageStepsIn(from: number, to: number, every: number): number {
  if (to <= from) return 0;
  const upTo = (n: number) => (n <= 0 ? 0 : Math.floor((n - 1) / every) + 1); // multiples of `every` in [0, n)
  return upTo(to) - upTo(from);
}

export class StepTimer {
  private crop: number[] = [];
  private full: number[] = [];
  private warm = false;

  /** After a new device (or at a run's start): the next step compiles again and is not counted. */
  reset(): void {
    this.crop = [];
    this.full = [];
    this.warm = false;
  }

  record(seconds: number, fullImageStep: boolean): void {
    if (!this.warm) {
      this.warm = true;
      return;
    }
    const list = fullImageStep ? this.full : this.crop;
    list.push(seconds);
    if (list.length > WINDOW) list.shift();
  }

  get summary(): StepTimingSummary {
    return {
      cropSeconds: median(this.crop),
      fullSeconds: median(this.full),
      measured: this.crop.length + this.full.length,
    };
  }

  /**
   * Seconds for steps [done, total) of a run whose full-image steps come every `every` steps; null until a crop step
   * was measured. A full-image step not measured yet counts twice a crop step.
   */
  secondsLeft(done: number, total: number, every: number): number | null {
    return runSeconds(this.summary, done, total, every);
  }

  /** Steps per second over the recent steps (crop and full-image steps in the proportion the run has them). */
  stepsPerSecond(every: number): number {
    const s = this.summary;
    const secs = runSeconds(s, 0, every, every);
    return secs && secs > 0 ? every / secs : 0;
  }
}

/** Seconds for steps [from, to) at the measured times (null without a measured crop step). */
export function runSeconds(t: StepTimingSummary, from: number, to: number, every: number): number | null {
  if (t.cropSeconds === null) return null;
  const full = fullImageStepsIn(from, to, every);
  const crop = Math.max(0, to - from) - full;
  return crop * t.cropSeconds + full * (t.fullSeconds ?? 2 * t.cropSeconds);
}
