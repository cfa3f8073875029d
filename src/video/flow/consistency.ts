/**
 * The forward–backward consistency check (Sundaram et al. 2010): pixel x of a pair with flow f is valid when its
 * partner's flow b, sampled at x + f (bilinear, clamped), nearly undoes it,
 *
 *   |f + b(x + f)|² < α (|f|² + |b(x + f)|²) + β        (α = 0.01, β = 0.5 px²)
 *
 * and x + f lies inside the frame, [0, W − 1] × [0, H − 1] in pixel-centre coordinates (where the partner's flow
 * is sampled from real pixels, not from the clamped border). Occluded and disoccluded pixels fail the check, since
 * the partner's flow there belongs to the other surface — when the flow is sharp there. A smooth flow (Horn–Schunck's
 * quadratic smoothness carries one motion across the boundary) can be an invertible, hence consistent, map across an
 * occlusion; the opt-in motion-boundary test of the same paper also rejects pixels where the flow varies fast,
 *
 *   |∇u|² + |∇v|² > 0.01 |f|² + 0.002               (central differences, borders replicated),
 *
 * which removes the whole smoothed band around moving objects (and more: any flow gradient over ~0.045 px/px).
 */
import { EngineError, shapeStr } from '../../gpu/errors';
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4 } from './checks';
import { PAIRS_WGSL } from './pairs';
import { bilinearClampedWgsl, CLAMPED_INDEX_WGSL } from './sampling';

export interface ConsistencyTolerance {
  /** α: the tolerance relative to the flows' squared magnitudes (default 0.01). */
  relative: number;
  /** β: the absolute tolerance in px² (default 0.5). */
  absolute: number;
  /** Also reject motion boundaries (Sundaram et al.'s second test; default false, as in the recipe). */
  motionBoundaries: boolean;
}

export const DEFAULT_CONSISTENCY: ConsistencyTolerance = Object.freeze({
  relative: 0.01,
  absolute: 0.5,
  motionBoundaries: false,
});

/** The motion-boundary test's tolerances: |∇u|² + |∇v|² > MB_RELATIVE·|f|² + MB_ABSOLUTE. */
const MB_RELATIVE = 0.01;
const MB_ABSOLUTE = 0.002;

/** WGSL: the struct fbSample functions return: own flow f, partner flow b at x + f, whether x + f is inside. */
export const FB_SAMPLE_STRUCT_WGSL = /* wgsl */ `
struct FbSample { f: vec2f, b: vec2f, inside: bool }
fn fbPasses(s: FbSample, relative: f32, absolute: f32) -> bool {
  let d = s.f + s.b;
  return s.inside && dot(d, d) < relative * (dot(s.f, s.f) + dot(s.b, s.b)) + absolute;
}`;

/**
 * WGSL: `fn <name>(ownBase, partnerBase, x, y, w, h) -> FbSample` for flows stored as [·,2,H,W] planes in the
 * arrays `own` and `partner` (bases: the offsets of the pairs' u planes; v follows at + H·W). Needs
 * FB_SAMPLE_STRUCT_WGSL and bilinearClampedWgsl(partner) beside it.
 */
export function fbSampleWgsl(name: string, own: string, partner: string): string {
  return /* wgsl */ `
fn ${name}(ownBase: u32, partnerBase: u32, x: u32, y: u32, w: u32, h: u32) -> FbSample {
  let hw = h * w;
  let pix = y * w + x;
  let f = vec2f(${own}[ownBase + pix], ${own}[ownBase + hw + pix]);
  let sx = f32(x) + f.x;
  let sy = f32(y) + f.y;
  let b = vec2f(sample_${partner}(partnerBase, sx, sy, w, h), sample_${partner}(partnerBase + hw, sx, sy, w, h));
  let inside = sx >= 0.0 && sx <= f32(w - 1u) && sy >= 0.0 && sy <= f32(h - 1u);
  return FbSample(f, b, inside);
}`;
}

/** WGSL: whether the flow whose u plane starts at `base` of `flow` varies fast at (x, y) (the motion-boundary test). */
const MOTION_BOUNDARY_WGSL = /* wgsl */ `
fn onMotionBoundary(base: u32, x: i32, y: i32, w: u32, h: u32, f: vec2f) -> bool {
  var g2 = 0.0;
  for (var c = 0u; c < 2u; c++) {
    let plane = base + c * h * w;
    let dx = 0.5 * (flow[clampedIndex(plane, x + 1, y, w, h)] - flow[clampedIndex(plane, x - 1, y, w, h)]);
    let dy = 0.5 * (flow[clampedIndex(plane, x, y + 1, w, h)] - flow[clampedIndex(plane, x, y - 1, w, h)]);
    g2 += dx * dx + dy * dy;
  }
  return g2 > ${MB_RELATIVE} * dot(f, f) + ${MB_ABSOLUTE};
}`;

const VALID_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32, pairs: u32, relative: f32, absolute: f32, boundaries: u32',
  read: ['flow'],
  write: ['valid'],
  helpers:
    UNRAVEL_WGSL +
    PAIRS_WGSL +
    CLAMPED_INDEX_WGSL +
    bilinearClampedWgsl('flow') +
    FB_SAMPLE_STRUCT_WGSL +
    fbSampleWgsl('fbAt', 'flow', 'flow') +
    MOTION_BOUNDARY_WGSL,
  body: `
  let at = unravel3(i, p.h, p.w);
  let stride = 2u * p.h * p.w;
  let s = fbAt(at.x * stride, pairPartner(at.x, p.pairs) * stride, at.z, at.y, p.w, p.h);
  var ok = fbPasses(s, p.relative, p.absolute);
  if (ok && p.boundaries != 0u) { ok = !onMotionBoundary(at.x * stride, i32(at.z), i32(at.y), p.w, p.h, s.f); }
  valid[i] = select(0.0, 1.0, ok);`,
});

/**
 * flow [2n,2,H,W] (n forward pairs, then their n backward partners) → [2n,1,H,W]: 1 where the check passes,
 * else 0.
 */
export function forwardBackwardValid(flow: Tensor, tolerance: ConsistencyTolerance = DEFAULT_CONSISTENCY): Tensor {
  const op = 'forwardBackwardValid';
  const [pairs, , h, w] = dims4(op, flow, 'flow', 2);
  if (pairs < 2 || pairs % 2 !== 0) {
    throw new EngineError(op, `needs n forward pairs and their n backward partners, got ${shapeStr(flow.shape)}`);
  }
  const n = pairs / 2;
  return perElementOutput({
    name: 'flow-fb-check',
    code: VALID_WGSL,
    params: new Params()
      .u32(pairs * h * w)
      .u32(h)
      .u32(w)
      .u32(n)
      .f32(tolerance.relative)
      .f32(tolerance.absolute)
      .u32(tolerance.motionBoundaries ? 1 : 0),
    read: [flow],
    shape: [pairs, 1, h, w],
  });
}
