/**
 * The dominant (background) motion of one frame pair, fitted robustly to flow samples: RANSAC over 3-point affine
 * hypotheses (a truncated-quadratic, MSAC, score), then iteratively reweighted least squares with Tukey's biweight,
 * in coordinates centred on the frame and scaled by half its long side (for conditioning). A homography is refined by
 * IRLS from the affine consensus (its algebraic equations, each weighted by 1/w² of the previous estimate, so that
 * the weighted algebraic error approximates the geometric one); RANSAC never needs 4-point homography hypotheses
 * because a pan is nearly affine between neighbouring frames.
 *
 * Runs on the CPU: the fit reduces a few thousand samples per pair many times (hypotheses, reweighting rounds),
 * which on the GPU would be dozens of tiny dispatches and readbacks per pair for microseconds of arithmetic.
 */
import { Rng } from '../../nn/rng';
import { solveLinear } from './linearSolve';
import { applyMatrix, IDENTITY3, type Matrix3, matrixParams, type MotionModelKind, multiply3 } from './motionModel';

/** Flow samples: pixel (x[i], y[i]) of the source frame moves by (u[i], v[i]). */
export interface FlowSamples {
  x: Float64Array;
  y: Float64Array;
  u: Float64Array;
  v: Float64Array;
}

export interface RobustFitOptions {
  /** The frame size (for the coordinate normalisation and the hypotheses' spread). */
  width: number;
  height: number;
  model?: MotionModelKind;
  /** RANSAC hypotheses (default 64: with half the samples on the object, P(no clean 3-point draw) ≈ 2·10⁻⁴). */
  hypotheses?: number;
  /** IRLS rounds after RANSAC (default 6). */
  irlsIterations?: number;
  seed?: number;
}

export interface RobustFit {
  model: MotionModelKind;
  /** Maps source pixel coordinates to target pixel coordinates (m33 = 1). */
  matrix: Matrix3;
  /** matrixParams of the matrix: 6 (affine) or 8 (homography) numbers. */
  params: number[];
  /** The fraction of samples with a non-zero final Tukey weight (the background's share). */
  inlierFraction: number;
  /** σ of the inliers' residual per component, px (from their median residual length, Rayleigh: σ = median/1.1774). */
  residualScale: number;
}

export const ROBUST_FIT_DEFAULTS = Object.freeze({ model: 'affine' as MotionModelKind, hypotheses: 64, irls: 6 });

/** Tukey's tuning constant in units of σ (95 % efficiency for Gaussian noise). */
const TUKEY_C = 4.685;
/** The median length of a 2-D Gaussian residual per unit σ: √(2 ln 2). */
const RAYLEIGH_MEDIAN = Math.sqrt(2 * Math.LN2);
/** σ never drops below this (px): flows are no more precise, and a zero σ would reject every sample. */
const MIN_SIGMA = 0.05;
/** A 3-point hypothesis whose triangle is thinner than this (normalised units², the frame ≈ [−1, 1]²) is skipped. */
const MIN_TRIANGLE_AREA = 0.01;

/** Coordinate normalisation: p̂ = (p − centre) / scale, the same for source and target. */
interface Normalisation {
  cx: number;
  cy: number;
  s: number;
}

function normalisation(width: number, height: number): Normalisation {
  return { cx: (width - 1) / 2, cy: (height - 1) / 2, s: Math.max(width, height) / 2 };
}

/** A model fitted in normalised coordinates, back in pixel coordinates: M = T⁻¹ M̂ T. */
function denormalise(m: Matrix3, n: Normalisation): Matrix3 {
  const t = Float64Array.of(1 / n.s, 0, -n.cx / n.s, 0, 1 / n.s, -n.cy / n.s, 0, 0, 1);
  const tInv = Float64Array.of(n.s, 0, n.cx, 0, n.s, n.cy, 0, 0, 1);
  const out = multiply3(tInv, multiply3(m, t));
  const k = 1 / out[8];
  for (let i = 0; i < 9; i++) out[i] *= k;
  return out;
}

/** Samples in normalised coordinates: source (px, py), target (qx, qy). */
interface Normalised {
  px: Float64Array;
  py: Float64Array;
  qx: Float64Array;
  qy: Float64Array;
}

function normaliseSamples(s: FlowSamples, n: Normalisation): Normalised {
  const count = s.x.length;
  const out = {
    px: new Float64Array(count),
    py: new Float64Array(count),
    qx: new Float64Array(count),
    qy: new Float64Array(count),
  };
  for (let i = 0; i < count; i++) {
    out.px[i] = (s.x[i] - n.cx) / n.s;
    out.py[i] = (s.y[i] - n.cy) / n.s;
    out.qx[i] = (s.x[i] + s.u[i] - n.cx) / n.s;
    out.qy[i] = (s.y[i] + s.v[i] - n.cy) / n.s;
  }
  return out;
}

/** Weighted least-squares affine map in normalised coordinates (null when the weighted points are degenerate). */
function weightedAffine(p: Normalised, w: Float64Array): Matrix3 | null {
  const a = new Float64Array(9);
  const bx = new Float64Array(3);
  const by = new Float64Array(3);
  for (let i = 0; i < w.length; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const r = [p.px[i], p.py[i], 1];
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 3; k++) a[j * 3 + k] += wi * r[j] * r[k];
      bx[j] += wi * r[j] * p.qx[i];
      by[j] += wi * r[j] * p.qy[i];
    }
  }
  const rx = solveLinear(a, bx, 3);
  const ry = solveLinear(a, by, 3);
  if (!rx || !ry) return null;
  return Float64Array.of(rx[0], rx[1], rx[2], ry[0], ry[1], ry[2], 0, 0, 1);
}

/**
 * Weighted least-squares homography (h33 = 1) from the linear equations qx·(h31 x + h32 y + 1) = h11 x + h12 y + h13
 * (likewise for qy); each sample's weight is divided by the previous estimate's denominator squared.
 */
function weightedHomography(p: Normalised, w: Float64Array, previous: Matrix3): Matrix3 | null {
  const a = new Float64Array(64);
  const b = new Float64Array(8);
  const rows = [new Float64Array(8), new Float64Array(8)];
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    const [x, y, qx, qy] = [p.px[i], p.py[i], p.qx[i], p.qy[i]];
    const den = previous[6] * x + previous[7] * y + 1;
    const wi = w[i] / (den * den);
    rows[0].set([x, y, 1, 0, 0, 0, -x * qx, -y * qx]);
    rows[1].set([0, 0, 0, x, y, 1, -x * qy, -y * qy]);
    const rhs = [qx, qy];
    for (let e = 0; e < 2; e++) {
      const r = rows[e];
      for (let j = 0; j < 8; j++) {
        if (r[j] === 0) continue;
        for (let k = 0; k < 8; k++) a[j * 8 + k] += wi * r[j] * r[k];
        b[j] += wi * r[j] * rhs[e];
      }
    }
  }
  const h = solveLinear(a, b, 8);
  if (!h) return null;
  return Float64Array.of(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1);
}

/** Residual lengths |M̂ p − q| in normalised units. */
function residuals(p: Normalised, m: Matrix3, out: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) {
    const [x, y] = applyMatrix(m, p.px[i], p.py[i]);
    const r = Math.hypot(x - p.qx[i], y - p.qy[i]);
    out[i] = Number.isFinite(r) ? r : Infinity;
  }
  return out;
}

/** The median of the values below `limit` (NaN when there are none). */
function medianBelow(values: Float64Array, limit: number): number {
  const kept = values.filter((v) => v < limit).sort();
  if (kept.length === 0) return NaN;
  const mid = kept.length >> 1;
  return kept.length % 2 ? kept[mid] : 0.5 * (kept[mid - 1] + kept[mid]);
}

/** The exact affine map of three samples (normalised), or null for a thin triangle. */
function affineOfThree(p: Normalised, i: number, j: number, k: number): Matrix3 | null {
  const area = 0.5 * Math.abs((p.px[j] - p.px[i]) * (p.py[k] - p.py[i]) - (p.px[k] - p.px[i]) * (p.py[j] - p.py[i]));
  if (area < MIN_TRIANGLE_AREA) return null;
  const w = new Float64Array(p.px.length);
  w[i] = w[j] = w[k] = 1;
  return weightedAffine(p, w);
}

/** The median of |(u, v)| over the samples (px). */
function medianFlowLength(s: FlowSamples): number {
  const len = new Float64Array(s.u.length);
  for (let i = 0; i < len.length; i++) len[i] = Math.hypot(s.u[i], s.v[i]);
  return medianBelow(len, Infinity);
}

/**
 * The dominant motion of the samples. With fewer than 3 samples the identity is returned with inlier fraction 0
 * (nothing to fit: the caller treats the pair as having no usable flow).
 */
export function fitBackgroundMotion(samples: FlowSamples, opts: RobustFitOptions): RobustFit {
  const model = opts.model ?? ROBUST_FIT_DEFAULTS.model;
  const count = samples.x.length;
  if (count < 3) {
    const matrix = Float64Array.from(IDENTITY3);
    return { model, matrix, params: matrixParams(model, matrix), inlierFraction: 0, residualScale: MIN_SIGMA };
  }
  const norm = normalisation(opts.width, opts.height);
  const p = normaliseSamples(samples, norm);
  const r = new Float64Array(count);
  // RANSAC: the inlier band grows with the motion (flow errors do), 1 px + 10 % of the median flow length.
  const band = (1 + 0.1 * medianFlowLength(samples)) / norm.s;
  const rng = new Rng(opts.seed ?? 1);
  let best: Matrix3 | null = null;
  let bestScore = Infinity;
  const hypotheses = opts.hypotheses ?? ROBUST_FIT_DEFAULTS.hypotheses;
  for (let h = 0; h < hypotheses; h++) {
    const i = rng.int(0, count - 1);
    const j = rng.int(0, count - 1);
    const k = rng.int(0, count - 1);
    if (i === j || j === k || i === k) continue;
    const m = affineOfThree(p, i, j, k);
    if (!m) continue;
    residuals(p, m, r);
    let score = 0;
    for (let q = 0; q < count; q++) score += Math.min(r[q] * r[q], band * band);
    if (score < bestScore) [best, bestScore] = [m, score];
  }
  // No usable hypothesis (all samples nearly collinear): plain least squares on everything.
  let m: Matrix3 = best ?? weightedAffine(p, new Float64Array(count).fill(1)) ?? Float64Array.from(IDENTITY3);
  let limit = band;
  const w = new Float64Array(count);
  let sigma = MIN_SIGMA / norm.s;
  const rounds = opts.irlsIterations ?? ROBUST_FIT_DEFAULTS.irls;
  for (let round = 0; round <= rounds; round++) {
    residuals(p, m, r);
    const med = medianBelow(r, limit);
    sigma = Math.max(MIN_SIGMA / norm.s, Number.isFinite(med) ? med / RAYLEIGH_MEDIAN : limit);
    limit = TUKEY_C * sigma;
    if (round === rounds) break;
    for (let q = 0; q < count; q++) w[q] = r[q] < limit ? (1 - (r[q] / limit) ** 2) ** 2 : 0;
    // The homography starts from the affine consensus: the first rounds stay affine.
    const next = model === 'homography' && round >= 1 ? weightedHomography(p, w, m) : weightedAffine(p, w);
    if (next) m = next;
  }
  let inliers = 0;
  for (let q = 0; q < count; q++) if (r[q] < limit) inliers++;
  const matrix = denormalise(m, norm);
  return {
    model,
    matrix,
    params: matrixParams(model, matrix),
    inlierFraction: inliers / count,
    residualScale: sigma * norm.s,
  };
}
