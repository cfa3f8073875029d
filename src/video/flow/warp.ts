/**
 * Backward warping of each pair's target frame onto its source frame's grid:
 * out[p](x, y) = target(p)(x + u, y + v) with (u, v) = flow[p](x, y), bilinear, the sample position clamped into
 * the frame (clamp-to-edge; the forward–backward check marks such pixels invalid separately). With the flow from
 * frame t to t + 1 this is frame t + 1 seen from frame t: the recipe's warped I2.
 */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4, expectShape, forwardPairs } from './checks';
import { PAIRS_WGSL } from './pairs';
import { bilinearClampedWgsl } from './sampling';

/** One thread per output pixel (p, y, x), all channels. */
const WARP_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, pairs: u32',
  read: ['images', 'flow'],
  write: ['out'],
  helpers: UNRAVEL_WGSL + PAIRS_WGSL + bilinearClampedWgsl('images'),
  body: `
  let at = unravel3(i, p.h, p.w);
  let hw = p.h * p.w;
  let pix = at.y * p.w + at.z;
  let fbase = at.x * 2u * hw + pix;
  let sx = f32(at.z) + flow[fbase];
  let sy = f32(at.y) + flow[fbase + hw];
  let targetFrame = pairTarget(at.x, p.pairs);
  for (var ch = 0u; ch < p.c; ch++) {
    out[(at.x * p.c + ch) * hw + pix] = sample_images((targetFrame * p.c + ch) * hw, sx, sy, p.w, p.h);
  }`,
});

/**
 * images [F,C,H,W], flow [P,2,H,W] with P = F − 1 (forward pairs) or 2(F − 1) (forward, then backward) →
 * [P,C,H,W]: each pair's target frame sampled at x + flow(x).
 */
export function warpTargets(images: Tensor, flow: Tensor): Tensor {
  const op = 'warpTargets';
  const [f, c, h, w] = dims4(op, images, 'images');
  const pairs = flow.shape[0];
  expectShape(op, flow, 'flow', [pairs, 2, h, w]);
  const n = forwardPairs(op, f, pairs);
  return perElementOutput({
    name: 'flow-warp',
    code: WARP_WGSL,
    params: new Params()
      .u32(pairs * h * w)
      .u32(c)
      .u32(h)
      .u32(w)
      .u32(n),
    read: [images, flow],
    shape: [pairs, c, h, w],
    count: pairs * h * w,
  });
}
