/**
 * Temporal consistency of a video edit, measured (issue 11): two figures computed on the CPU from what a finished
 * edit produced.
 *
 * Warp error. For each consecutive pair (t, t + 1) and each pixel x of frame t whose forward flow f passes the
 * forward–backward check, the mean absolute RGB difference (0–255) between frame t at x and frame t + 1 sampled at
 * x + f (bilinear, clamped to the frame, as src/video/flow/warp.ts warps), both for the input clip and for the
 * edited clip; with the backward flows also the other direction (frame t + 1 against frame t warped by the
 * backward flow, on its valid pixels). An edit that sticks to the surfaces adds no error of its own, so its warp
 * error is about the input's (the flow's own error moves both); an edit that flickers or slides adds to it. The
 * figure is the ratio edited / input, per pair and over all pairs (sums of differences over sums of valid pixels).
 *
 * Alpha agreement. Wherever pixels of two frames have (nearly) the same atlas coordinates — LayerData.coords, the
 * raster's (column, row) — the edit layer must have the same α, since both sample the same edited atlas there. For
 * pixel pairs whose coordinates differ by less than `tolerance` texels on both axes (default 0.05), the largest and
 * the mean |Δα|; separately for pairs whose coordinates are bitwise identical (the α must then be exactly equal).
 * The α to pass is the one the atlas determines: the edit layer's α for a background edit of a background-only
 * decomposition (the layer's α is E.α·(1 − α_t) with α_t = 0), or the edit's own α otherwise (the layer's is also
 * confined by the object's α_t, which differs between frames).
 */
import type { RgbaImage } from '../../edit/jobTypes';
import { sampleBilinear } from '../flow/bilinearHost';

/** The flows of the pair (t, t + 1), planar [2·H·W] (u plane, then v) in pixels, and their FB masks [H·W]. */
export interface PairFlow {
  /** Frame t → t + 1: pixel x of frame t is at x + f in frame t + 1. */
  forward: Float32Array;
  /** 1 where the forward flow passes the forward–backward check (and x + f is inside), else 0. */
  forwardValid: Float32Array;
  /** Frame t + 1 → t, and its mask; optional (then only the forward direction is measured). */
  backward?: Float32Array;
  backwardValid?: Float32Array;
}

/** The summed absolute differences of one warp direction. */
export interface WarpErrorSum {
  /** Σ over valid pixels of the mean |Δ| over R, G, B (0–255). */
  sum: number;
  /** Valid pixels. */
  count: number;
}

export interface PairConsistency {
  /** The pair (t, t + 1). */
  t: number;
  /** Valid pixels compared (both directions together). */
  validPixels: number;
  /** Mean abs RGB warp error (0–255) of the input frames and of the edited frames. */
  inputError: number;
  editedError: number;
  /** editedError / inputError. */
  ratio: number;
}

export interface TemporalConsistency {
  pairs: PairConsistency[];
  validPixels: number;
  inputError: number;
  editedError: number;
  /** Over all pairs: Σ edited differences / Σ input differences. */
  ratio: number;
  /** The largest per-pair ratio. */
  worstRatio: number;
}

/** editedError / inputError, with 0/0 = 1 (no error either way) and x/0 = ∞. */
export function errorRatio(edited: number, input: number): number {
  if (input > 0) return edited / input;
  return edited > 0 ? Infinity : 1;
}

function checkSize(what: string, img: RgbaImage, w: number, h: number): void {
  if (img.width !== w || img.height !== h || img.data.length !== 4 * w * h) {
    throw new RangeError(`${what} is ${img.width}×${img.height}, expected ${w}×${h}`);
  }
}

/**
 * Σ |a(x) − b(x + f(x))| over the pixels x where valid(x) ≥ 0.5 (mean over RGB, 0–255): `b` warped back onto `a`'s
 * grid by the flow from a to b.
 */
export function warpError(a: RgbaImage, b: RgbaImage, flow: Float32Array, valid: Float32Array): WarpErrorSum {
  const { width: w, height: h } = a;
  const n = w * h;
  checkSize('the second frame', b, w, h);
  if (flow.length !== 2 * n || valid.length !== n) {
    throw new RangeError(`the flow has ${flow.length} values and the mask ${valid.length}; expected ${2 * n} and ${n}`);
  }
  let sum = 0;
  let count = 0;
  const rgba = new Float64Array(4);
  for (let k = 0; k < n; k++) {
    if (!(valid[k] >= 0.5)) continue;
    const x = (k % w) + flow[k];
    const y = Math.floor(k / w) + flow[n + k];
    sampleBilinear(b.data, w, h, 4, x, y, rgba);
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(a.data[4 * k + c] - rgba[c]);
    sum += d / 3;
    count++;
  }
  return { sum, count };
}

/**
 * The warp errors of the input and the edited clip over every consecutive pair: `flows[t]` is the pair (t, t + 1).
 */
export function temporalConsistency(
  inputs: readonly RgbaImage[],
  edited: readonly RgbaImage[],
  flows: readonly PairFlow[],
): TemporalConsistency {
  if (inputs.length < 2 || edited.length !== inputs.length || flows.length !== inputs.length - 1) {
    throw new RangeError(
      `needs F ≥ 2 input frames, F edited frames and F − 1 flows; got ${inputs.length}, ${edited.length}, ${flows.length}`,
    );
  }
  const { width: w, height: h } = inputs[0];
  inputs.forEach((f, t) => checkSize(`input frame ${t}`, f, w, h));
  edited.forEach((f, t) => checkSize(`edited frame ${t}`, f, w, h));
  const pairs: PairConsistency[] = [];
  let [inputSum, editedSum, valid] = [0, 0, 0];
  flows.forEach((flow, t) => {
    const directions: Array<[number, number, Float32Array, Float32Array]> = [
      [t, t + 1, flow.forward, flow.forwardValid],
    ];
    if (flow.backward && flow.backwardValid) directions.push([t + 1, t, flow.backward, flow.backwardValid]);
    let [i, e, c] = [0, 0, 0];
    for (const [from, to, f, v] of directions) {
      const a = warpError(inputs[from], inputs[to], f, v);
      const b = warpError(edited[from], edited[to], f, v);
      i += a.sum;
      e += b.sum;
      c += a.count;
    }
    const inputError = c > 0 ? i / c : 0;
    const editedError = c > 0 ? e / c : 0;
    pairs.push({ t, validPixels: c, inputError, editedError, ratio: errorRatio(editedError, inputError) });
    inputSum += i;
    editedSum += e;
    valid += c;
  });
  return {
    pairs,
    validPixels: valid,
    inputError: valid > 0 ? inputSum / valid : 0,
    editedError: valid > 0 ? editedSum / valid : 0,
    ratio: errorRatio(editedSum, inputSum),
    worstRatio: Math.max(...pairs.map((p) => p.ratio)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Alpha agreement at shared atlas texels
// ---------------------------------------------------------------------------------------------------------------

/** The default coordinate tolerance, in raster texels. */
export const TEXEL_TOLERANCE = 0.05;

export interface PairAlphaAgreement {
  a: number;
  b: number;
  /** Pixel pairs (one of each frame) whose coordinates differ by < tolerance on both axes. */
  matches: number;
  maxDiff: number;
  meanDiff: number;
  /** Of those, pairs with bitwise identical coordinates, and their largest |Δα|. */
  exactMatches: number;
  exactMaxDiff: number;
}

export interface AlphaAgreement {
  tolerance: number;
  pairs: PairAlphaAgreement[];
  matches: number;
  maxDiff: number;
  meanDiff: number;
  exactMatches: number;
  exactMaxDiff: number;
}

/** Frame pairs to compare: consecutive ones (t, t + 1), or every pair (a < b). */
export function framePairs(frames: number, which: 'consecutive' | 'all' = 'consecutive'): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let a = 0; a < frames; a++) {
    if (which === 'consecutive') {
      if (a + 1 < frames) out.push([a, a + 1]);
    } else for (let b = a + 1; b < frames; b++) out.push([a, b]);
  }
  return out;
}

/** An RGBA layer's α as floats in [0, 1]. */
export function layerAlpha(layer: RgbaImage): Float32Array {
  const n = layer.width * layer.height;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = layer.data[4 * k + 3] / 255;
  return out;
}

/** A hash of frame b's pixels by their coordinates quantised to `tol`: bucket → first pixel, pixel → next. */
class CoordBuckets {
  private readonly head = new Map<number, number>();
  private readonly next: Int32Array;
  private static readonly SPAN = 1 << 24;

  constructor(
    readonly coords: Float32Array,
    readonly tol: number,
    include: ((k: number) => boolean) | null,
  ) {
    const n = coords.length / 2;
    this.next = new Int32Array(n).fill(-1);
    for (let k = n - 1; k >= 0; k--) {
      if (include && !include(k)) continue;
      const key = this.key(Math.round(coords[2 * k] / tol), Math.round(coords[2 * k + 1] / tol));
      const h = this.head.get(key);
      if (h !== undefined) this.next[k] = h;
      this.head.set(key, k);
    }
  }

  key(ku: number, kv: number): number {
    return ku * CoordBuckets.SPAN + kv;
  }

  /** Calls fn for each pixel of b within tol of (u, v) on both axes. */
  near(u: number, v: number, fn: (k: number) => void): void {
    const ku = Math.round(u / this.tol);
    const kv = Math.round(v / this.tol);
    for (let du = -1; du <= 1; du++) {
      for (let dv = -1; dv <= 1; dv++) {
        let k = this.head.get(this.key(ku + du, kv + dv));
        while (k !== undefined && k >= 0) {
          if (Math.abs(this.coords[2 * k] - u) < this.tol && Math.abs(this.coords[2 * k + 1] - v) < this.tol) fn(k);
          k = this.next[k];
        }
      }
    }
  }
}

export interface AlphaAgreementOptions {
  /** Coordinate tolerance in texels (default TEXEL_TOLERANCE). */
  tolerance?: number;
  /** The frame pairs (default: consecutive). */
  pairs?: ReadonlyArray<readonly [number, number]>;
  /** Which pixels of frame t take part (default all), e.g. those where the layer shows. */
  include?: (t: number, k: number) => boolean;
}

/**
 * |α_a(x) − α_b(y)| over the pixel pairs (x of frame a, y of frame b) whose raster coordinates coincide within the
 * tolerance. `coords[t]` is [H·W·2] (column, row) as in LayerData.coords, `alphas[t]` [H·W].
 */
export function alphaAgreement(
  coords: readonly Float32Array[],
  alphas: ReadonlyArray<ArrayLike<number>>,
  opts: AlphaAgreementOptions = {},
): AlphaAgreement {
  const tol = opts.tolerance ?? TEXEL_TOLERANCE;
  if (!(tol > 0)) throw new RangeError(`the tolerance must be positive, got ${tol}`);
  if (coords.length !== alphas.length) {
    throw new RangeError(`${coords.length} frames of coordinates but ${alphas.length} of α`);
  }
  coords.forEach((c, t) => {
    if (c.length !== 2 * alphas[t].length)
      throw new RangeError(`frame ${t}: ${c.length} coordinates, ${alphas[t].length} α`);
  });
  const which = opts.pairs ?? framePairs(coords.length);
  const include = opts.include ?? null;
  const result: AlphaAgreement = {
    tolerance: tol,
    pairs: [],
    matches: 0,
    maxDiff: 0,
    meanDiff: 0,
    exactMatches: 0,
    exactMaxDiff: 0,
  };
  let total = 0;
  for (const [a, b] of which) {
    if (!(a >= 0 && b >= 0 && a < coords.length && b < coords.length))
      throw new RangeError(`no frame pair (${a}, ${b})`);
    const buckets = new CoordBuckets(coords[b], tol, include ? (k) => include(b, k) : null);
    const ca = coords[a];
    const cb = coords[b];
    const [aa, ab] = [alphas[a], alphas[b]];
    const p: PairAlphaAgreement = { a, b, matches: 0, maxDiff: 0, meanDiff: 0, exactMatches: 0, exactMaxDiff: 0 };
    let sum = 0;
    for (let k = 0; k < aa.length; k++) {
      if (include && !include(a, k)) continue;
      const u = ca[2 * k];
      const v = ca[2 * k + 1];
      buckets.near(u, v, (j) => {
        const d = Math.abs(aa[k] - ab[j]);
        p.matches++;
        sum += d;
        if (d > p.maxDiff) p.maxDiff = d;
        if (cb[2 * j] === u && cb[2 * j + 1] === v) {
          p.exactMatches++;
          if (d > p.exactMaxDiff) p.exactMaxDiff = d;
        }
      });
    }
    p.meanDiff = p.matches > 0 ? sum / p.matches : 0;
    result.pairs.push(p);
    result.matches += p.matches;
    result.exactMatches += p.exactMatches;
    result.maxDiff = Math.max(result.maxDiff, p.maxDiff);
    result.exactMaxDiff = Math.max(result.exactMaxDiff, p.exactMaxDiff);
    total += sum;
  }
  result.meanDiff = result.matches > 0 ? total / result.matches : 0;
  return result;
}
