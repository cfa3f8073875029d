/**
 * The settings of the automatic masks, with the defaults for a given working size. Radii and areas scale with the
 * frame (the recipe's 384×216 is the reference: 2 px opening, 4 px closing, 166 px smallest component).
 */
import type { MotionModelKind } from './motionModel';
import type { ResidualThresholdOptions } from './residualThreshold';

export interface MotionMaskOptions {
  /** The background model (default 'homography': exact for a rotating camera, and the affine fit is its start). */
  model?: MotionModelKind;
  /** The residual threshold (residualThreshold.ts). */
  threshold?: ResidualThresholdOptions;
  /**
   * Moving pixels count as the object's core only where their flow is coherent, |∇f| below this (px per px, default
   * 0.05; flowCoherence.ts); Infinity turns the core test off (every moving pixel is core).
   */
  coherence?: number;
  /**
   * The mask keeps moving pixels within this distance of the core, px (default max(5, round(0.02·min(W, H))): 5 at
   * 384×216, 9 at 768×432): about the reach of the flow's smoothing across an edge (the core stops where the smoothed
   * band begins, the residual threshold where it is half-way), beyond which a moving but incoherent region (a
   * reflection, a wake) is not taken for the object.
   */
  coreReach?: number;
  /**
   * With the frames given, a core pixel must also have texture: the structure tensor's smaller eigenvalue at least
   * this fraction of the frame's median (default 0.5; 0 turns it off; imageTexture.ts). Untextured pixels take
   * their flow from the neighbours (a plain road before a car), so they cannot seed the object.
   */
  textureFraction?: number;
  /** Opening radius, px (default max(1, round(0.01·min(W, H))): 2 at 384×216): removes specks of flow noise. */
  openRadius?: number;
  /** Closing radius, px (default max(1, round(0.02·min(W, H))): 4 at 384×216): closes gaps along the object. */
  closeRadius?: number;
  /** Object components smaller than this fraction of the frame are dropped (default 0.002: 166 px at 384×216). */
  minComponentFraction?: number;
  /** Fill enclosed background regions (default true: holes come from textureless object interiors). */
  fillHoles?: boolean;
  /** Majority vote of each pixel with the pixels it flows to in the neighbouring frames (default true). */
  temporalVote?: boolean;
  /**
   * An object is `found` when at least `minFrameFraction` of the frames (default 0.5) have at least `minCoverage`
   * of their pixels (default 0.005, 0.5 %: 415 px at 384×216, a 23 px square) on it. Below that a two-layer fit
   * would bootstrap alpha to noise; a clip whose object is on screen only briefly is better decomposed as one layer.
   */
  minCoverage?: number;
  minFrameFraction?: number;
  /** RANSAC hypotheses and IRLS rounds of the background fit (robustFit.ts), and its seed. */
  hypotheses?: number;
  irlsIterations?: number;
  seed?: number;
}

export type ResolvedMotionMaskOptions = Required<Omit<MotionMaskOptions, 'threshold'>> & {
  threshold: ResidualThresholdOptions;
  /** minComponentFraction in pixels (at least 4). */
  minComponentArea: number;
};

export function resolveMotionMaskOptions(
  width: number,
  height: number,
  o: MotionMaskOptions = {},
): ResolvedMotionMaskOptions {
  const side = Math.min(width, height);
  const r: ResolvedMotionMaskOptions = {
    model: o.model ?? 'homography',
    threshold: o.threshold ?? {},
    coherence: o.coherence ?? 0.05,
    coreReach: o.coreReach ?? Math.max(5, Math.round(0.02 * side)),
    textureFraction: o.textureFraction ?? 0.5,
    openRadius: o.openRadius ?? Math.max(1, Math.round(0.01 * side)),
    closeRadius: o.closeRadius ?? Math.max(1, Math.round(0.02 * side)),
    minComponentFraction: o.minComponentFraction ?? 0.002,
    fillHoles: o.fillHoles ?? true,
    temporalVote: o.temporalVote ?? true,
    minCoverage: o.minCoverage ?? 0.005,
    minFrameFraction: o.minFrameFraction ?? 0.5,
    hypotheses: o.hypotheses ?? 64,
    irlsIterations: o.irlsIterations ?? 6,
    seed: o.seed ?? 1,
    minComponentArea: 0,
  };
  const bad = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`motionMasks: ${what}`);
  };
  bad(r.model === 'affine' || r.model === 'homography', `model must be 'affine' or 'homography', got ${r.model}`);
  bad(r.coherence > 0, `coherence must be > 0 (Infinity: off), got ${r.coherence}`);
  bad(r.textureFraction >= 0, `textureFraction must be ≥ 0, got ${r.textureFraction}`);
  bad(r.coreReach >= 0, `coreReach must be ≥ 0, got ${r.coreReach}`);
  bad(r.openRadius >= 0 && r.closeRadius >= 0, 'radii must be ≥ 0');
  bad(r.minComponentFraction >= 0 && r.minComponentFraction < 1, 'minComponentFraction must be in [0, 1)');
  bad(r.minCoverage >= 0 && r.minCoverage <= 1, 'minCoverage must be in [0, 1]');
  bad(r.minFrameFraction >= 0 && r.minFrameFraction <= 1, 'minFrameFraction must be in [0, 1]');
  bad(Number.isInteger(r.hypotheses) && r.hypotheses >= 1, 'hypotheses must be a positive integer');
  r.minComponentArea = Math.max(4, Math.round(r.minComponentFraction * width * height));
  return r;
}
