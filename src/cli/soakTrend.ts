/**
 * The soak command's verdict on one metric: a least-squares line through its samples after the warm-up, and
 * whether its rise over the run is more than the metric's noise allowance. Pure functions, no GPU.
 */

export interface TrendPoint {
  step: number;
  value: number;
}

/** How much a metric may rise over the measured span before it counts as growing. */
export interface TrendTolerance {
  /** Absolute allowance, in the metric's unit (bytes, buffers). */
  absolute: number;
  /** Relative allowance, as a fraction of the metric's first measured value. */
  relative: number;
}

export type TrendKind = 'flat' | 'growing' | 'falling';

export interface TrendVerdict {
  verdict: TrendKind;
  /** Samples the line was fitted to (after the warm-up). */
  points: number;
  /** First and last measured values (after the warm-up). */
  first: number;
  last: number;
  /** Slope of the fitted line, per 100 steps. */
  slopePer100Steps: number;
  /** The fitted line's change from the first to the last measured step. */
  fittedChange: number;
  /** The change the tolerance allows. */
  allowance: number;
}

/** Least-squares slope of value over step (0 for fewer than two distinct steps). */
export function leastSquaresSlope(points: readonly TrendPoint[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanStep = points.reduce((s, p) => s + p.step, 0) / n;
  const meanValue = points.reduce((s, p) => s + p.value, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.step - meanStep) * (p.value - meanValue);
    variance += (p.step - meanStep) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/**
 * The verdict over the samples taken at or after `warmupSteps` (pipelines compile, the pool fills and V8 warms up
 * before that). Growing: the fitted line rises by more than the allowance over the measured span; falling: it
 * drops by more; flat otherwise. A fit over the whole span rather than last − first, so one noisy sample (a GC
 * that ran late, a larger crop) does not decide it.
 */
export function trendVerdict(
  samples: readonly TrendPoint[],
  tolerance: TrendTolerance,
  warmupSteps: number,
): TrendVerdict {
  const measured = samples.filter((p) => p.step >= warmupSteps);
  const points = measured.length >= 2 ? measured : samples.slice(-2);
  if (points.length === 0) {
    return { verdict: 'flat', points: 0, first: 0, last: 0, slopePer100Steps: 0, fittedChange: 0, allowance: 0 };
  }
  const first = points[0];
  const last = points[points.length - 1];
  const slope = leastSquaresSlope(points);
  const fittedChange = slope * (last.step - first.step);
  const allowance = Math.max(tolerance.absolute, tolerance.relative * Math.abs(first.value));
  const verdict: TrendKind = fittedChange > allowance ? 'growing' : fittedChange < -allowance ? 'falling' : 'flat';
  return {
    verdict,
    points: points.length,
    first: first.value,
    last: last.value,
    slopePer100Steps: slope * 100,
    fittedChange,
    allowance,
  };
}
