/**
 * Automatic object masks from the flow (for the atlas's alpha bootstrap when the user gives none): pixels that do
 * not follow the dominant (camera/background) motion.
 *
 * Per pair: the background model fitted robustly to the FB-valid forward flow (robustFit.ts); the backward flow's
 * model is its inverse. Per frame t: the residuals |flow − model| of its outgoing flows (forward pair t, backward
 * pair t − 1; the first and last frames have one each) against adaptive thresholds (residualThreshold.ts).
 *
 * - Moving: the mean of residual/threshold over the pixel's FB-valid directions is ≥ 1. A pixel with no valid
 *   direction is background: the check fails where a pixel is occluded in the neighbouring frame (the background
 *   just ahead of a moving object, or disoccluded just behind it) or leaves the frame, and those pixels are
 *   background in frame t; object pixels that fail it (fast deformation) are enclosed by valid object pixels and
 *   come back through the closing and the hole filling.
 * - Core: moving, with coherent flow (flowCoherence.ts) and, with the frames given, texture (imageTexture.ts).
 * - The mask: the moving pixels within `coreReach` px of the core. The object's smoothed edge is kept; a moving
 *   region whose flow follows no surface (a reflection, a wake) or was dragged along by the smoothness (a plain
 *   road) is cut at that distance from the object.
 *
 * Then the clean-up (maskCleanup.ts) and an optional temporal vote through the flow (temporalVote.ts).
 */
import type { Engine } from '../../gpu/engine';
import { EngineError, shapeStr } from '../../gpu/errors';
import type { Tensor } from '../../gpu/tensor';
import type { FlowField } from '../flow';
import { flowPlane, type FlowDirection, type HostFlows, readFlowsToHost, validPlane } from './hostFlows';
import { flowGradientMagnitude } from './flowCoherence';
import { gridFlowSamples } from './flowSamples';
import { textureStrength } from './imageTexture';
import { cleanMask, tidyComponents } from './maskCleanup';
import { coverage } from './maskMetrics';
import { type MotionMaskOptions, resolveMotionMaskOptions, type ResolvedMotionMaskOptions } from './maskOptions';
import { dilate } from './morphology';
import { applyMatrix, invert3, type Matrix3, type MotionModelKind } from './motionModel';
import { fitBackgroundMotion, type RobustFit } from './robustFit';
import { type ResidualThreshold, residualThreshold, thresholdAt } from './residualThreshold';
import { temporalVote } from './temporalVote';

export interface BackgroundMotionFits {
  model: MotionModelKind;
  /** Per pair t (frame t → t + 1): matrixParams of the fitted map (6 affine, 8 homography numbers). */
  params: number[][];
  /** Per pair: the fraction of the fit's samples it explains (the background's share of the valid flow). */
  inlierFraction: number[];
  /** Per pair: the fit's residual σ, px. */
  residualScale: number[];
}

export interface MotionMasks {
  width: number;
  height: number;
  /** One per frame, 255 = moving object, at the flows' (working) size. */
  masks: Uint8Array[];
  /** The object's fraction of each frame. */
  coverage: number[];
  /** Whether an object was found: coverage ≥ minCoverage in at least minFrameFraction of the frames. */
  found: boolean;
  /** How many frames reached minCoverage. */
  framesWithObject: number;
  background: BackgroundMotionFits;
  /** Per frame: the thresholds of the directions that judged it (forward first). */
  thresholds: ResidualThreshold[][];
}

/** One flow direction's evidence on a frame: residual and model-flow length per pixel, validity, threshold. */
interface Evidence {
  residual: Float32Array;
  modelLength: Float32Array;
  valid: Float32Array;
  /** |∇f| of the flow. */
  gradient: Float32Array;
  threshold: ResidualThreshold;
}

function evidence(
  flows: HostFlows,
  direction: FlowDirection,
  pair: number,
  model: Matrix3,
  sigma: number,
  o: ResolvedMotionMaskOptions,
): Evidence {
  const { width, height } = flows;
  const hw = width * height;
  const flow = flowPlane(flows, direction, pair);
  const valid = validPlane(flows, direction, pair);
  const residual = new Float32Array(hw);
  const modelLength = new Float32Array(hw);
  for (let k = 0; k < hw; k++) {
    const x = k % width;
    const y = (k - x) / width;
    const [mx, my] = applyMatrix(model, x, y);
    const [mu, mv] = [mx - x, my - y];
    modelLength[k] = Math.hypot(mu, mv);
    residual[k] = Math.hypot(flow[k] - mu, flow[hw + k] - mv);
  }
  const threshold = residualThreshold(residual, modelLength, valid, sigma, o.minComponentArea, o.threshold);
  return { residual, modelLength, valid, gradient: flowGradientMagnitude(flow, width, height), threshold };
}

/**
 * The raw (uncleaned) mask: pixels whose mean residual/threshold over the valid directions is ≥ 1 (moving), kept
 * within `reach` px of the moving pixels whose mean |∇f| is below `coherence` (the core).
 */
function rawMask(
  ev: readonly Evidence[],
  width: number,
  height: number,
  coherence: number,
  reach: number,
  textured: Uint8Array | null,
): Uint8Array {
  const hw = width * height;
  const moving = new Uint8Array(hw);
  const core = new Uint8Array(hw);
  for (let k = 0; k < hw; k++) {
    let sum = 0;
    let gradient = 0;
    let n = 0;
    for (const e of ev) {
      if (e.valid[k] <= 0.5) continue;
      sum += e.residual[k] / thresholdAt(e.threshold, e.modelLength[k]);
      gradient += e.gradient[k];
      n++;
    }
    if (n === 0 || sum < n) continue;
    moving[k] = 255;
    if (gradient < coherence * n && (!textured || textured[k] !== 0)) core[k] = 255;
  }
  if (coherence === Infinity && !textured) return moving;
  const near = dilate(core, width, height, reach);
  return Uint8Array.from(moving, (m, k) => (m !== 0 && near[k] !== 0 ? 255 : 0));
}

/** The background fit of each pair (forward flow) and its inverse for the backward flow. */
function fitPairs(flows: HostFlows, o: ResolvedMotionMaskOptions): { fits: RobustFit[]; inverses: Matrix3[] } {
  const { width, height } = flows;
  const fitOf = (direction: FlowDirection, p: number) =>
    fitBackgroundMotion(
      gridFlowSamples(flowPlane(flows, direction, p), validPlane(flows, direction, p), width, height),
      {
        width,
        height,
        model: o.model,
        hypotheses: o.hypotheses,
        irlsIterations: o.irlsIterations,
        seed: o.seed + p,
      },
    );
  const fits: RobustFit[] = [];
  const inverses: Matrix3[] = [];
  for (let p = 0; p < flows.pairs; p++) {
    const fit = fitOf('forward', p);
    fits.push(fit);
    // A singular fit (a collapsed map: only on broken flow) has no inverse; the backward flow then gets its own.
    inverses.push(invert3(fit.matrix) ?? fitOf('backward', p).matrix);
  }
  return { fits, inverses };
}

/** Where frame t has texture (imageTexture.ts): λ_min ≥ fraction × the frame's median λ_min. */
function texturedPixels(frames: Float32Array, t: number, width: number, height: number, fraction: number) {
  const hw = width * height;
  const strength = textureStrength(frames.subarray(3 * t * hw, 3 * (t + 1) * hw), width, height);
  const sorted = Float32Array.from(strength).sort();
  const limit = fraction * sorted[hw >> 1];
  return Uint8Array.from(strength, (v) => (v >= limit ? 255 : 0));
}

/**
 * motionMasks on flows already on the CPU (the GPU-free part; also what tests with known flows call). `frames`,
 * optional, are the clip's RGB planes [F,3,H,W] in [0, 1] for the texture test of the core.
 */
export function motionMasksFromHost(
  flows: HostFlows,
  opts: MotionMaskOptions = {},
  frames: Float32Array | null = null,
): MotionMasks {
  const { width, height, pairs } = flows;
  const o = resolveMotionMaskOptions(width, height, opts);
  if (frames && frames.length !== (pairs + 1) * 3 * width * height) {
    throw new RangeError(
      `motionMasks: frames of ${frames.length} values for ${pairs + 1} frames of ${width}×${height}`,
    );
  }
  const { fits, inverses } = fitPairs(flows, o);
  const thresholds: ResidualThreshold[][] = [];
  let masks: Uint8Array[] = [];
  for (let t = 0; t <= pairs; t++) {
    const ev: Evidence[] = [];
    if (t < pairs) ev.push(evidence(flows, 'forward', t, fits[t].matrix, fits[t].residualScale, o));
    if (t > 0) ev.push(evidence(flows, 'backward', t - 1, inverses[t - 1], fits[t - 1].residualScale, o));
    thresholds.push(ev.map((e) => e.threshold));
    const textured =
      frames && o.textureFraction > 0 ? texturedPixels(frames, t, width, height, o.textureFraction) : null;
    masks.push(cleanMask(rawMask(ev, width, height, o.coherence, o.coreReach, textured), width, height, o));
  }
  if (o.temporalVote && pairs >= 1) {
    masks = temporalVote(masks, flows).map((m) => tidyComponents(m, width, height, o));
  }
  const cover = masks.map(coverage);
  const framesWithObject = cover.filter((c) => c >= o.minCoverage && c > 0).length;
  return {
    width,
    height,
    masks,
    coverage: cover,
    found: framesWithObject > 0 && framesWithObject >= o.minFrameFraction * masks.length,
    framesWithObject,
    background: {
      model: o.model,
      params: fits.map((f) => f.params),
      inlierFraction: fits.map((f) => f.inlierFraction),
      residualScale: fits.map((f) => f.residualScale),
    },
    thresholds,
  };
}

/**
 * Moving-object masks of a clip from its flows (computeFlows' output, which stays the caller's) and, optionally, the
 * frames they were computed from ([F,3,H,W] in [0, 1], for the texture test of the core; recommended). Both are read
 * back once (hostFlows.ts says why the rest runs on the CPU).
 */
export async function motionMasks(
  engine: Engine,
  flows: FlowField,
  opts: MotionMaskOptions & { frames?: Tensor } = {},
): Promise<MotionMasks> {
  const { frames, ...options } = opts;
  if (flows.forward.engine !== engine || (frames && frames.engine !== engine)) {
    throw new EngineError('motionMasks', 'flows and frames must belong to this engine');
  }
  const [pairs, , h, w] = flows.forward.shape;
  if (frames && frames.shape.join() !== [pairs + 1, 3, h, w].join()) {
    throw new EngineError(
      'motionMasks',
      `frames ${shapeStr(frames.shape)} do not match flows ${shapeStr(flows.forward.shape)}`,
    );
  }
  resolveMotionMaskOptions(w, h, options);
  const [host, pixels] = await Promise.all([readFlowsToHost(flows), frames ? frames.read() : Promise.resolve(null)]);
  return motionMasksFromHost(host, options, pixels);
}
