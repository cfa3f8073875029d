/**
 * Which pixels do not follow the background: the residual r(x) = |flow(x) − model(x)| against an adaptive threshold
 *
 *   τ(x) = max( max(absolute, sigmas·σ) + relative·|model(x)|,  objectFraction · Q )
 *
 * - the noise part: σ is the fit's inlier scale (its own flow noise), never below `absolute` px; flow errors grow
 *   with the motion (and parallax leaves residuals proportional to it), hence the term relative to the model's
 *   flow length at x;
 * - the object part: Q is the `objectQuantile` quantile of the residuals above the noise part (the candidate
 *   moving pixels). The flow's smoothness spreads the object's motion a few pixels into the background, where the
 *   residual ramps from Q down to 0; half-way up the ramp is where the true edge lies, so τ is at least Q/2. It is
 *   used only when there are enough candidates (`minCandidates`), else only the noise part counts (no object).
 */

export interface ResidualThresholdOptions {
  /** The noise part's floor, px (default 0.5: about the flow's precision on real footage, VIDEO_ATLAS.md §1). */
  absolute?: number;
  /** Multiples of the fit's σ (default 3). */
  sigmas?: number;
  /** The fraction of the model's flow length added (default 0.1). */
  relative?: number;
  /** The quantile of the candidates' residuals that stands for the object's (default 0.9: inside the object, above the
   * ramp of the smoothed edge and of slower things near it such as a wake). */
  objectQuantile?: number;
  /** τ is at least this fraction of that quantile (default 0.5: the middle of the smoothed edge). */
  objectFraction?: number;
}

export const RESIDUAL_THRESHOLD_DEFAULTS: Readonly<Required<ResidualThresholdOptions>> = Object.freeze({
  absolute: 0.5,
  sigmas: 3,
  relative: 0.1,
  objectQuantile: 0.9,
  objectFraction: 0.5,
});

/** The threshold of one flow direction of one frame: τ(x) = max(noise + relative·|model(x)|, object). */
export interface ResidualThreshold {
  noise: number;
  relative: number;
  /** The object part (0 when there were too few candidates). */
  object: number;
  /** How many valid pixels exceeded the noise part. */
  candidates: number;
}

export function thresholdAt(t: ResidualThreshold, modelLength: number): number {
  return Math.max(t.noise + t.relative * modelLength, t.object);
}

/** The q-quantile (0..1) of `values` (sorted in place). */
function quantile(values: Float32Array, q: number): number {
  values.sort();
  const k = Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))));
  return values[k];
}

/**
 * The threshold from one direction's residual and model-flow-length maps over its valid pixels. `sigma` is the
 * background fit's residual scale (px); `minCandidates` the fewest candidate pixels that make an object level.
 */
export function residualThreshold(
  residual: Float32Array,
  modelLength: Float32Array,
  valid: Float32Array,
  sigma: number,
  minCandidates: number,
  opts: ResidualThresholdOptions = {},
): ResidualThreshold {
  const o = { ...RESIDUAL_THRESHOLD_DEFAULTS, ...opts };
  const t: ResidualThreshold = {
    noise: Math.max(o.absolute, o.sigmas * sigma),
    relative: o.relative,
    object: 0,
    candidates: 0,
  };
  const above: number[] = [];
  for (let k = 0; k < residual.length; k++) {
    if (valid[k] > 0.5 && residual[k] > t.noise + t.relative * modelLength[k]) above.push(residual[k]);
  }
  t.candidates = above.length;
  if (above.length >= Math.max(1, minCandidates)) {
    t.object = o.objectFraction * quantile(Float32Array.from(above), o.objectQuantile);
  }
  return t;
}
