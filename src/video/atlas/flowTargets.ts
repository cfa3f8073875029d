/**
 * Where the flow takes a batch of points: for point k at pixel (px, py) of frame t, its position in the next (or
 * previous) frame, (px + u, py + v, t ± 1) in the atlas's normalised coordinates, and whether that flow is valid
 * there (the forward–backward check). The flows stay on the GPU (all pairs of a 70-frame clip at 768×432 are
 * hundreds of MB); the CPU only sends each point's packed pixel index. Not differentiated: flows are data.
 */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementWgsl, WG } from '../../ops/common';

/** A point without a flow in this direction (the last frame forward, the first backward). */
export const NO_FLOW = 0xffffffff;

const WGSL = perElementWgsl({
  // hw: pixels per frame; step: +1 forward, −1 backward (the target frame is t + step).
  fields: 'w: u32, h: u32, frames: u32, step: f32',
  read: ['flow', 'valid', 'index: u32', 'coords'],
  write: ['moved', 'ok'],
  body: `
  let id = index[i];
  if (id == ${NO_FLOW}u) {
    moved[3u * i] = coords[3u * i];
    moved[3u * i + 1u] = coords[3u * i + 1u];
    moved[3u * i + 2u] = coords[3u * i + 2u];
    ok[i] = 0.0;
    return;
  }
  let hw = p.w * p.h;
  let pair = id / hw;
  let pix = id % hw;
  let u = flow[(2u * pair) * hw + pix];
  let v = flow[(2u * pair + 1u) * hw + pix];
  // A pixel in normalised units is 2/W along both axes; t moves by 2/(F − 1) per frame.
  let px = 2.0 / f32(p.w);
  moved[3u * i] = coords[3u * i] + u * px;
  moved[3u * i + 1u] = coords[3u * i + 1u] + v * px;
  moved[3u * i + 2u] = coords[3u * i + 2u] + p.step * 2.0 / f32(max(p.frames, 2u) - 1u);
  ok[i] = valid[pair * hw + pix];`,
});

/**
 * `flow` [P,2,H,W] and `valid` [P,1,H,W] (pair p: frame p → p + 1 forward, or p + 1 → p backward), `index` [N]
 * (pair·H·W + py·W + px, or NO_FLOW, as u32 bits in a float tensor), `coords` [N,3] of the points. Returns the
 * moved points [N,3] and the validity [N] (0 where NO_FLOW).
 */
export function flowTargets(
  flow: Tensor,
  valid: Tensor,
  index: Tensor,
  coords: Tensor,
  frames: number,
  direction: 1 | -1,
): { moved: Tensor; ok: Tensor } {
  const e = coords.engine;
  const [, , h, w] = flow.shape;
  const n = coords.shape[0];
  const moved = e.empty([n, 3], 'flow-target');
  const ok = e.empty([n], 'flow-target-valid');
  e.run({
    name: 'flowTargets',
    code: WGSL,
    params: new Params().u32(n).u32(w).u32(h).u32(frames).f32(direction),
    read: [flow, valid, index, coords],
    write: [moved, ok],
    workgroups: e.grid(n, WG),
  });
  return { moved, ok };
}
