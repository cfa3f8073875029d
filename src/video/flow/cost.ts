/**
 * What one computeFlows call costs, predicted from its settings: the dispatch count (independent of the number of
 * frames, since every dispatch covers all pairs) and a FLOP estimate (arithmetic per output element of each kernel,
 * counted from its WGSL; loads, index arithmetic and clamps are not counted).
 */
import { gaussianTaps } from './gaussian';
import { MOTION_TENSOR_CHANNELS } from './motionTensor';
import type { ResolvedFlowOptions } from './options';
import { pyramidSizes } from './pyramid';

/** FLOPs per output element of each kernel. */
const FLOPS = {
  grey: 5,
  downsample: 4,
  /** Per channel of a bilinear sample (3 lerps) plus the position. */
  warp: 11,
  /** Two 5-tap derivatives of the sum of two images, It, five products (per pixel, all five channels). */
  motionProducts: 34,
  /** Two 4-neighbour means, two right-hand sides, the 2×2 solve (per pixel, both components). */
  jacobi: 30,
  /** 30 compare-exchanges of two operations each. */
  median: 60,
  upsample: 12,
  /** Two bilinear samples, the residual and the test (per pixel). */
  consistency: 36,
};

/** Dispatches of one computeFlows call with these options. */
export function flowDispatchCount(o: ResolvedFlowOptions): number {
  const pyramid = 3 * (o.levels - 1);
  const perWarp = 2 + (o.rho > 0 ? 2 : 0) + o.jacobiIterations + (o.median ? 1 : 0);
  return 1 + pyramid + o.levels * o.warps * perWarp + (o.levels - 1) + 1;
}

/** Estimated floating-point operations of one computeFlows call on F frames of H×W. */
export function flowFlopEstimate(frames: number, h: number, w: number, o: ResolvedFlowOptions): number {
  const pairs = 2 * (frames - 1);
  const sizes = pyramidSizes(h, w, o.levels);
  const blurTaps = (sigma: number) => gaussianTaps(sigma).length;
  let flops = FLOPS.grey * frames * h * w;
  for (let l = 1; l < o.levels; l++) {
    const [ph, pw] = sizes[l - 1];
    flops += 2 * 2 * blurTaps(o.pyramidSigma) * frames * ph * pw;
    flops += FLOPS.downsample * frames * sizes[l][0] * sizes[l][1];
  }
  for (let l = 0; l < o.levels; l++) {
    const px = pairs * sizes[l][0] * sizes[l][1];
    let perWarp = FLOPS.warp * px + FLOPS.motionProducts * px + FLOPS.jacobi * px * o.jacobiIterations;
    if (o.rho > 0) perWarp += 2 * 2 * blurTaps(o.rho) * MOTION_TENSOR_CHANNELS * px;
    if (o.median) perWarp += FLOPS.median * 2 * px;
    flops += o.warps * perWarp;
    if (l > 0) flops += FLOPS.upsample * 2 * pairs * sizes[l - 1][0] * sizes[l - 1][1];
  }
  return flops + FLOPS.consistency * pairs * h * w;
}
