/**
 * Quality figures of a FlowField, computed on the GPU with small read-backs: one dispatch sums per-workgroup
 * partials of every figure (read back and added up in float64 here) and fills a histogram of the forward–backward
 * error (for the median) with atomics.
 *
 * - FB error of a pixel x with flow f: |f(x) + b(x + f(x))|, b the partner flow sampled bilinearly (clamped); over
 *   both directions, all pixels, and over the valid ones (the field's masks).
 * - Photometric error: frame t + 1 warped back onto frame t with the forward flow (bilinear, clamped) against
 *   frame t, mean absolute difference over R, G, B on a 0–255 scale; the same with zero flow (no compensation) is
 *   the reference it should beat.
 */
import type { Engine } from '../../gpu/engine';
import { EngineError } from '../../gpu/errors';
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { paramsWgsl, storageWgsl } from '../../ops/common';
import { RED_WG, reduceGroups, workgroupSumWgsl } from '../../ops/reduce';
import { dims4, expectShape } from './checks';
import type { FlowField } from './computeFlows';
import { FB_SAMPLE_STRUCT_WGSL, fbSampleWgsl } from './consistency';
import { bilinearClampedWgsl } from './sampling';

export interface FlowStats {
  /** Forward pairs (F − 1). */
  pairs: number;
  /** Mean FB end-point error in px over all pixels of both directions. */
  fbErrorMean: number;
  /** Median of the same, from a histogram of 1/64-px bins (interpolated inside the bin). */
  fbErrorMedian: number;
  /** Mean FB error over the pixels the masks mark valid, both directions. */
  fbErrorMeanValid: number;
  /** Fraction of valid pixels of the forward flows. */
  validForward: number;
  /** Fraction of valid pixels of the backward flows. */
  validBackward: number;
  /** Mean abs difference (0–255, RGB) between frame t and frame t + 1 warped back with the forward flow. */
  photometricWarped: number;
  /** The same over the forward-valid pixels. */
  photometricWarpedValid: number;
  /** The same with zero flow: frame t + 1 against frame t unwarped. */
  photometricZero: number;
  /** Mean flow magnitude in px, both directions. */
  meanFlowMagnitude: number;
}

const HIST_BINS = 1024;
const HIST_BIN_PX = 1 / 64;

/** The per-pixel terms summed, in the order of the partials. */
const TERMS = [
  'fbF',
  'fbFValid',
  'validF',
  'fbB',
  'fbBValid',
  'validB',
  'photo',
  'photoValid',
  'photoZero',
  'magF',
  'magB',
] as const;
type Term = (typeof TERMS)[number];

const STATS_WGSL = /* wgsl */ `${paramsWgsl('n: u32, groups: u32, h: u32, w: u32, bins: u32, binPx: f32')}
${storageWgsl(['forward', 'backward', 'forwardValid', 'backwardValid', 'frames'], ['partial', 'hist: atomic<u32>'])}
${workgroupSumWgsl(TERMS.map((t) => `s_${t}`))}
${bilinearClampedWgsl('forward')}
${bilinearClampedWgsl('backward')}
${bilinearClampedWgsl('frames')}
${FB_SAMPLE_STRUCT_WGSL}
${fbSampleWgsl('forwardAt', 'forward', 'backward')}
${fbSampleWgsl('backwardAt', 'backward', 'forward')}
fn histogram(e: f32) {
  atomicAdd(&hist[min(u32(e / p.binPx), p.bins - 1u)], 1u);
}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let hw = p.h * p.w;
  ${TERMS.map((term) => `var a_${term} = 0.0;`).join('\n  ')}
  for (var i = wid.x * ${RED_WG}u + t; i < p.n; i += p.groups * ${RED_WG}u) {
    let pair = i / hw;
    let pix = i % hw;
    let y = pix / p.w;
    let x = pix % p.w;
    let fs = forwardAt(pair * 2u * hw, pair * 2u * hw, x, y, p.w, p.h);
    let bs = backwardAt(pair * 2u * hw, pair * 2u * hw, x, y, p.w, p.h);
    let eF = length(fs.f + fs.b);
    let eB = length(bs.f + bs.b);
    histogram(eF);
    histogram(eB);
    let vF = forwardValid[i];
    let vB = backwardValid[i];
    a_fbF += eF;
    a_fbFValid += eF * vF;
    a_validF += vF;
    a_fbB += eB;
    a_fbBValid += eB * vB;
    a_validB += vB;
    a_magF += length(fs.f);
    a_magB += length(bs.f);
    var photo = 0.0;
    var zero = 0.0;
    for (var c = 0u; c < 3u; c++) {
      let now = frames[(pair * 3u + c) * hw + pix];
      let nextBase = ((pair + 1u) * 3u + c) * hw;
      photo += abs(sample_frames(nextBase, f32(x) + fs.f.x, f32(y) + fs.f.y, p.w, p.h) - now);
      zero += abs(frames[nextBase + pix] - now);
    }
    a_photo += photo * 85.0;
    a_photoValid += photo * 85.0 * vF;
    a_photoZero += zero * 85.0;
  }
  ${TERMS.map((term) => `s_${term}[t] = a_${term};`).join('\n  ')}
  treeSum(t);
  if (t == 0u) {
    ${TERMS.map((term, k) => `partial[${k}u * p.groups + wid.x] = s_${term}[0];`).join('\n    ')}
  }
}`;

/** The bin-interpolated median of a histogram of `binWidth`-wide bins. */
export function histogramMedian(counts: ArrayLike<number>, binWidth: number): number {
  let total = 0;
  for (let k = 0; k < counts.length; k++) total += counts[k];
  if (total === 0) return NaN;
  const half = total / 2;
  let below = 0;
  for (let k = 0; k < counts.length; k++) {
    if (below + counts[k] >= half && counts[k] > 0) return (k + (half - below) / counts[k]) * binWidth;
    below += counts[k];
  }
  return counts.length * binWidth;
}

/**
 * The figures of `field` over `frames` [F,3,H,W] (the frames it was computed from). The check's settings only
 * matter through the field's masks; FB errors are measured, not thresholded.
 */
export async function flowStats(engine: Engine, frames: Tensor, field: FlowField): Promise<FlowStats> {
  const op = 'flowStats';
  const [f, , h, w] = dims4(op, frames, 'frames', 3);
  const n = f - 1;
  if (n < 1) throw new EngineError(op, 'needs at least two frames');
  expectShape(op, field.forward, 'forward flow', [n, 2, h, w]);
  expectShape(op, field.backward, 'backward flow', [n, 2, h, w]);
  expectShape(op, field.forwardValid, 'forward mask', [n, 1, h, w]);
  expectShape(op, field.backwardValid, 'backward mask', [n, 1, h, w]);
  const pixels = n * h * w;
  const groups = reduceGroups(pixels);
  const partial = engine.empty([TERMS.length, groups], `${op}-partial`);
  const hist = engine.zeros([HIST_BINS], `${op}-histogram`);
  engine.run({
    name: 'flow-stats',
    code: STATS_WGSL,
    params: new Params().u32(pixels).u32(groups).u32(h).u32(w).u32(HIST_BINS).f32(HIST_BIN_PX),
    read: [field.forward, field.backward, field.forwardValid, field.backwardValid, frames],
    write: [partial, hist],
    workgroups: [groups],
  });
  let sums: Float32Array;
  let counts: Uint32Array;
  try {
    sums = await partial.read();
    counts = new Uint32Array(await engine.readBytes(hist, HIST_BINS * 4));
  } finally {
    partial.release();
    hist.release();
  }
  const total = (term: Term): number => {
    const k = TERMS.indexOf(term);
    let s = 0;
    for (let g = 0; g < groups; g++) s += sums[k * groups + g];
    return s;
  };
  const validF = total('validF');
  const validB = total('validB');
  return {
    pairs: n,
    fbErrorMean: (total('fbF') + total('fbB')) / (2 * pixels),
    fbErrorMedian: histogramMedian(counts, HIST_BIN_PX),
    fbErrorMeanValid: (total('fbFValid') + total('fbBValid')) / (validF + validB),
    validForward: validF / pixels,
    validBackward: validB / pixels,
    photometricWarped: total('photo') / pixels,
    photometricWarpedValid: total('photoValid') / validF,
    photometricZero: total('photoZero') / pixels,
    meanFlowMagnitude: (total('magF') + total('magB')) / (2 * pixels),
  };
}
