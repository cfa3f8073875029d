/**
 * One Jacobi iteration of the linearised CLG equations (VIDEO_ATLAS.md §1), per pixel the 2×2 system
 *
 *   (J11 + λ) U + J12 V = λ Ū + J11 u0 + J12 v0 − J13
 *   J12 U + (J22 + λ) V = λ V̄ + J12 u0 + J22 v0 − J23
 *
 * where (u0, v0) is the flow the warp started from (the one the motion tensor was linearised at), Ū, V̄ are the
 * 4-neighbour means of the current iterate (replicated borders: a missing neighbour counts as the pixel itself)
 * and (U, V) the new iterate. The determinant is at least λ² > 0 because J is positive semi-definite.
 */
import { EngineError } from '../../gpu/errors';
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4, expectShape } from './checks';
import { MOTION_TENSOR_CHANNELS } from './motionTensor';
import { CLAMPED_INDEX_WGSL } from './sampling';

const JACOBI_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32, lambda: f32',
  read: ['tensor', 'start', 'current'],
  write: ['next'],
  helpers: UNRAVEL_WGSL + CLAMPED_INDEX_WGSL,
  body: `
  let at = unravel3(i, p.h, p.w);
  let hw = p.h * p.w;
  let pix = at.y * p.w + at.z;
  let x = i32(at.z);
  let y = i32(at.y);
  let jb = at.x * ${MOTION_TENSOR_CHANNELS}u * hw + pix;
  let j11 = tensor[jb];
  let j12 = tensor[jb + hw];
  let j22 = tensor[jb + 2u * hw];
  let j13 = tensor[jb + 3u * hw];
  let j23 = tensor[jb + 4u * hw];
  let ub = at.x * 2u * hw;
  let vb = ub + hw;
  let u0 = start[ub + pix];
  let v0 = start[vb + pix];
  let uMean = 0.25 * (current[clampedIndex(ub, x - 1, y, p.w, p.h)] + current[clampedIndex(ub, x + 1, y, p.w, p.h)]
    + current[clampedIndex(ub, x, y - 1, p.w, p.h)] + current[clampedIndex(ub, x, y + 1, p.w, p.h)]);
  let vMean = 0.25 * (current[clampedIndex(vb, x - 1, y, p.w, p.h)] + current[clampedIndex(vb, x + 1, y, p.w, p.h)]
    + current[clampedIndex(vb, x, y - 1, p.w, p.h)] + current[clampedIndex(vb, x, y + 1, p.w, p.h)]);
  let ru = p.lambda * uMean + j11 * u0 + j12 * v0 - j13;
  let rv = p.lambda * vMean + j12 * u0 + j22 * v0 - j23;
  let a11 = j11 + p.lambda;
  let a22 = j22 + p.lambda;
  let det = a11 * a22 - j12 * j12;
  next[ub + pix] = (a22 * ru - j12 * rv) / det;
  next[vb + pix] = (a11 * rv - j12 * ru) / det;`,
});

/**
 * tensor [P,5,H,W] (structureTensor), start and current [P,2,H,W] → the next iterate [P,2,H,W].
 */
export function jacobiStep(tensor: Tensor, start: Tensor, current: Tensor, lambda: number): Tensor {
  const op = 'jacobiStep';
  const [pairs, , h, w] = dims4(op, tensor, 'motion tensor', MOTION_TENSOR_CHANNELS);
  expectShape(op, start, 'start flow', [pairs, 2, h, w]);
  expectShape(op, current, 'current flow', [pairs, 2, h, w]);
  if (!(lambda > 0)) throw new EngineError(op, `λ must be > 0, got ${lambda}`);
  return perElementOutput({
    name: 'flow-jacobi',
    code: JACOBI_WGSL,
    params: new Params()
      .u32(pairs * h * w)
      .u32(h)
      .u32(w)
      .f32(lambda),
    read: [tensor, start, current],
    shape: [pairs, 2, h, w],
    count: pairs * h * w,
  });
}
