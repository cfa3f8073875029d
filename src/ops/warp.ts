/**
 * Geometric warps of CLIP's augmentation (spec §A.7 steps 1–3, §F.14): torchvision's tensor
 * `affine` / `perspective` with bilinear grid_sample (padding zeros, align_corners=False) and the
 * mask/fill rule, batched with one 3×3 matrix per image.
 *
 * Convention. Pixel (row i, column j) covers the square [j, j+1)×[i, i+1) in *edge coordinates*; its
 * centre is (j + 0.5, i + 0.5). Each image n has a homography Mₙ mapping output edge coordinates to
 * input edge coordinates: output pixel (i, j) samples the input at `(u, v) = Mₙ·(j + 0.5, i + 0.5, 1)`
 * (homogeneous divide), i.e. at index coordinates (u − 0.5, v − 0.5), which is exactly where
 * grid_sample(align_corners=False) lands for torchvision's grids:
 *  - affine (`_gen_affine_grid`): centred output coordinate p = (j + 0.5 − W/2, i + 0.5 − H/2),
 *    input centred coordinate R·(p − t) with R = [[cos θ, sin θ], [−sin θ, cos θ]] (torchvision's
 *    `_get_inverse_affine_matrix` with centre 0, scale 1, shear 0), so M = T(c)·R·T(−t)·T(−c) with
 *    c = (W/2, H/2);
 *  - perspective (`_perspective_grid`): M = [[a, b, c], [d, e, f], [g, h, 1]] from
 *    `_get_perspective_coeffs(startpoints, endpoints)` (destination corners → source corners),
 *    applied to (x + 0.5, y + 0.5);
 *  - horizontal flip: u ↦ W − u, exact (it lands on texel centres).
 * Sampling: index coordinate (ix, iy), corners ⌊ix⌋, ⌊ix⌋ + 1 (likewise y), weights (1 − fx, fx)
 * etc.; corners outside the image contribute nothing (zeros padding). The same weights applied to an
 * all-ones channel give the mask m; the result is `img·m + (1 − m)·fill` (torchvision's
 * `_apply_grid_transform`, where img is the zero-padded sample, so border pixels are img·m²-like). An
 * identity matrix reproduces the image exactly.
 *
 * Backward w.r.t. x only (the matrices are constants), as a gather: input pixel (r, q) is read by the
 * outputs whose sample point lies in the open square (q − 1, q + 1)×(r − 1, r + 1) (index coords).
 * The kernel maps that square's corners through M⁻¹ (uploaded with M), scans the bounding box of the
 * images widened by one pixel, and re-evaluates the forward weights there:
 * gx[r,q] = Σ_o w_o(r,q)·m_o·gy[o]. When M⁻¹'s denominator is not positive at all four corners (the
 * square would cross the horizon: never for torchvision's augmentations) it scans the whole output.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl, UNRAVEL_WGSL } from './common';

/** A 3×3 matrix, row-major. */
export type Mat3 = readonly number[];

export const IDENTITY3: Mat3 = Object.freeze([1, 0, 0, 0, 1, 0, 0, 0, 1]);

/** Floats per image in the matrix table: M (9), M⁻¹ (9). */
const MAT_STRIDE = 18;

const SAMPLE_WGSL = /* wgsl */ `
fn mat(n: u32, k: u32) -> f32 { return mats[n * ${MAT_STRIDE}u + k]; }
/** Index coordinates sampled by output pixel (ox, oy) of image n. */
fn sourceCoord(n: u32, ox: u32, oy: u32) -> vec2f {
  let u = f32(ox) + 0.5;
  let v = f32(oy) + 0.5;
  let den = mat(n, 6u) * u + mat(n, 7u) * v + mat(n, 8u);
  let sx = (mat(n, 0u) * u + mat(n, 1u) * v + mat(n, 2u)) / den - 0.5;
  let sy = (mat(n, 3u) * u + mat(n, 4u) * v + mat(n, 5u)) / den - 0.5;
  // A non-positive denominator (behind the horizon) or NaN samples nothing.
  if (!(den > 0.0) || !(abs(sx) < 1e7) || !(abs(sy) < 1e7)) { return vec2f(-1e7, -1e7); }
  return vec2f(sx, sy);
}
/** Bilinear footprint: corner (x0, y0), fractional parts, and the in-bounds weight of each axis' taps. */
struct Footprint { x0: i32, y0: i32, fx: f32, fy: f32, mx: f32, my: f32 }
fn footprint(s: vec2f, w: u32, h: u32) -> Footprint {
  let fl = floor(s);
  let x0 = i32(fl.x);
  let y0 = i32(fl.y);
  let fx = s.x - fl.x;
  let fy = s.y - fl.y;
  let mx = select(0.0, 1.0 - fx, x0 >= 0 && x0 < i32(w)) + select(0.0, fx, x0 + 1 >= 0 && x0 + 1 < i32(w));
  let my = select(0.0, 1.0 - fy, y0 >= 0 && y0 < i32(h)) + select(0.0, fy, y0 + 1 >= 0 && y0 + 1 < i32(h));
  return Footprint(x0, y0, fx, fy, mx, my);
}`;

/** One thread per output pixel (n, oy, ox), all channels (p.n counts pixels). */
const FORWARD_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, fill: f32',
  read: ['x', 'mats'],
  write: ['y'],
  helpers: UNRAVEL_WGSL + SAMPLE_WGSL,
  body: `
  let at = unravel3(i, p.h, p.w);
  let n = at.x;
  let oy = at.y;
  let ox = at.z;
  let hw = p.h * p.w;
  let f = footprint(sourceCoord(n, ox, oy), p.w, p.h);
  let m = f.mx * f.my;
  // Tap weights (zero where out of bounds) and clamped addresses.
  let inx0 = f.x0 >= 0 && f.x0 < i32(p.w);
  let inx1 = f.x0 + 1 >= 0 && f.x0 + 1 < i32(p.w);
  let iny0 = f.y0 >= 0 && f.y0 < i32(p.h);
  let iny1 = f.y0 + 1 >= 0 && f.y0 + 1 < i32(p.h);
  let wx0 = select(0.0, 1.0 - f.fx, inx0);
  let wx1 = select(0.0, f.fx, inx1);
  let wy0 = select(0.0, 1.0 - f.fy, iny0);
  let wy1 = select(0.0, f.fy, iny1);
  let cx0 = u32(clamp(f.x0, 0, i32(p.w) - 1));
  let cx1 = u32(clamp(f.x0 + 1, 0, i32(p.w) - 1));
  let cy0 = u32(clamp(f.y0, 0, i32(p.h) - 1));
  let cy1 = u32(clamp(f.y0 + 1, 0, i32(p.h) - 1));
  for (var ch = 0u; ch < p.c; ch++) {
    let plane = (n * p.c + ch) * hw;
    var v = 0.0;
    if (m > 0.0) {
      let top = wx0 * x[plane + cy0 * p.w + cx0] + wx1 * x[plane + cy0 * p.w + cx1];
      let bottom = wx0 * x[plane + cy1 * p.w + cx0] + wx1 * x[plane + cy1 * p.w + cx1];
      v = wy0 * top + wy1 * bottom;
    }
    y[plane + oy * p.w + ox] = v * m + (1.0 - m) * p.fill;
  }`,
});

/** One thread per input pixel (n, r, q): gathers every channel's gradient, four channels at a time. */
const BACKWARD_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32',
  read: ['gy', 'mats'],
  write: ['gx'],
  helpers: `${UNRAVEL_WGSL}${SAMPLE_WGSL}
/** Homogeneous image of edge point (u, v) under M⁻¹ of image n. */
fn inverse(n: u32, u: f32, v: f32) -> vec3f {
  return vec3f(mat(n, 9u) * u + mat(n, 10u) * v + mat(n, 11u),
               mat(n, 12u) * u + mat(n, 13u) * v + mat(n, 14u),
               mat(n, 15u) * u + mat(n, 16u) * v + mat(n, 17u));
}
/** Weight with which a footprint reads input sample k along one axis. */
fn axisWeight(x0: i32, fr: f32, k: i32) -> f32 {
  return select(0.0, 1.0 - fr, x0 == k) + select(0.0, fr, x0 + 1 == k);
}`,
  body: `
  let at = unravel3(i, p.h, p.w);
  let n = at.x;
  let r = at.y;
  let q = at.z;
  let hw = p.h * p.w;
  // Output pixels whose sample point lies in the index-coordinate square (q-1, q+1)×(r-1, r+1), i.e.
  // the edge-coordinate square (q-0.5, q+1.5)×(r-0.5, r+1.5).
  var lo = vec2i(0, 0);
  var hi = vec2i(i32(p.w) - 1, i32(p.h) - 1);
  var ok = true;
  var bmin = vec2f(1e30, 1e30);
  var bmax = vec2f(-1e30, -1e30);
  for (var k = 0u; k < 4u; k++) {
    let u = f32(q) - 0.5 + 2.0 * f32(k & 1u);
    let v = f32(r) - 0.5 + 2.0 * f32(k >> 1u);
    let hmg = inverse(n, u, v);
    if (!(hmg.z > 0.0)) { ok = false; }
    let e = hmg.xy / hmg.z;
    bmin = min(bmin, e);
    bmax = max(bmax, e);
  }
  if (ok && all(abs(bmin) < vec2f(1e7)) && all(abs(bmax) < vec2f(1e7))) {
    // Output centre o + 0.5 in [bmin, bmax], widened by one pixel for rounding.
    lo = max(lo, vec2i(ceil(bmin - 0.5)) - 1);
    hi = min(hi, vec2i(floor(bmax - 0.5)) + 1);
  }
  let ir = i32(r);
  let iq = i32(q);
  for (var c0 = 0u; c0 < p.c; c0 += 4u) {
    var acc = vec4f(0.0);
    for (var oy = lo.y; oy <= hi.y; oy++) {
      for (var ox = lo.x; ox <= hi.x; ox++) {
        let f = footprint(sourceCoord(n, u32(ox), u32(oy)), p.w, p.h);
        let wgt = axisWeight(f.x0, f.fx, iq) * axisWeight(f.y0, f.fy, ir);
        if (wgt == 0.0) { continue; }
        let a = wgt * f.mx * f.my;
        let o = u32(oy) * p.w + u32(ox);
        for (var k = 0u; k < 4u; k++) {
          if (c0 + k < p.c) { acc[k] += a * gy[(n * p.c + c0 + k) * hw + o]; }
        }
      }
    }
    for (var k = 0u; k < 4u; k++) {
      if (c0 + k < p.c) { gx[(n * p.c + c0 + k) * hw + r * p.w + q] = acc[k]; }
    }
  }`,
});

/** Inverse of a 3×3 matrix (float64, adjugate). Throws on a singular matrix. */
export function invert3(m: Mat3): number[] {
  const [a, b, c, d, e, f, g, h, k] = m;
  const A = e * k - f * h;
  const B = -(d * k - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) throw new EngineError('invert3', 'singular matrix');
  return [
    A / det,
    -(b * k - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * k - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ];
}

/** Matrix product a·b of 3×3 row-major matrices. */
export function mul3(a: Mat3, b: Mat3): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 3; k++) out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
    }
  }
  return out;
}

/** Edge-coordinate map of a horizontal flip of an image W pixels wide (u ↦ W − u). */
export function flipMatrix(w: number): number[] {
  return [-1, 0, w, 0, 1, 0, 0, 0, 1];
}

/**
 * Edge-coordinate map (output → input) of torchvision's tensor `affine(img, angle, [tx, ty], scale=1,
 * shear=0)` on an image W×H: input = c + R·(out − c − t), R = [[cos θ, sin θ], [−sin θ, cos θ]],
 * c = (W/2, H/2), θ = angle in degrees.
 */
export function affineMatrix(angleDeg: number, tx: number, ty: number, w: number, h: number): number[] {
  const th = (angleDeg * Math.PI) / 180;
  const [co, si] = [Math.cos(th), Math.sin(th)];
  const [cx, cy] = [w / 2, h / 2];
  // input = R·out + (c − R·(c + t))
  const ux = cx + tx;
  const uy = cy + ty;
  return [co, si, cx - (co * ux + si * uy), -si, co, cy - (-si * ux + co * uy), 0, 0, 1];
}

/** A point [x, y]. */
export type Point = readonly [number, number];

/**
 * torchvision's `_get_perspective_coeffs(startpoints, endpoints)`: the homography taking the four
 * endpoints (destination corners) to the startpoints (source corners), as a 3×3 matrix
 * [[a, b, c], [d, e, f], [g, h, 1]]. Solved exactly (float64 Gaussian elimination; torchvision solves
 * the same 8×8 system by float32 least squares).
 */
export function perspectiveMatrix(startpoints: readonly Point[], endpoints: readonly Point[]): number[] {
  if (startpoints.length !== 4 || endpoints.length !== 4) {
    throw new EngineError('perspectiveMatrix', 'needs four start and four end points');
  }
  const A: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = endpoints[i];
    const [u, v] = startpoints[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  const sol = solve(A, b);
  return [...sol, 1];
}

/** Gaussian elimination with partial pivoting (float64). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    if (Math.abs(M[piv][col]) < 1e-12) throw new EngineError('perspectiveMatrix', 'degenerate corner points');
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r][col] / M[col][col];
      if (f !== 0) for (let k = col; k <= n; k++) M[r][k] -= f * M[col][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

/**
 * Warps each image n of x [N,C,H,W] by its homography (matrices: N row-major 3×3 blocks mapping output
 * edge coordinates to input edge coordinates, see the module comment), with bilinear zero-padded
 * sampling and the mask/fill blend `img·m + (1 − m)·fill`. Output [N,C,H,W]; differentiable w.r.t. x.
 */
export function warpHomography(x: Tensor, matrices: readonly Mat3[], fill: number): Tensor {
  const op = 'warpHomography';
  assertRank(op, x, 4);
  const [n, c, h, w] = x.shape;
  if (matrices.length !== n) {
    throw new EngineError(op, `needs one matrix per image: got ${matrices.length} for ${shapeStr(x.shape)}`);
  }
  if (!Number.isFinite(fill)) throw new EngineError(op, `fill must be finite, got ${fill}`);
  const table = new Float32Array(n * MAT_STRIDE);
  matrices.forEach((m, k) => {
    if (m.length !== 9 || m.some((v) => !Number.isFinite(v))) {
      throw new EngineError(op, `matrix ${k} must be 9 finite numbers`);
    }
    table.set(m, k * MAT_STRIDE);
    table.set(invert3(m), k * MAT_STRIDE + 9);
  });
  const e = x.engine;
  const mats = e.fromArray([n, MAT_STRIDE], table, `${op}-matrices`);
  const pixels = n * h * w;
  const out = perElementOutput({
    name: op,
    code: FORWARD_WGSL,
    params: new Params().u32(pixels).u32(c).u32(h).u32(w).f32(fill),
    read: [x, mats],
    shape: x.shape,
    count: pixels,
  });
  record(op, [x], out, (gy) => [
    perElementOutput({
      name: `${op}-backward`,
      code: BACKWARD_WGSL,
      params: new Params().u32(pixels).u32(c).u32(h).u32(w),
      read: [gy, mats],
      shape: x.shape,
      count: pixels,
    }),
  ]);
  if (!out.requiresGrad) mats.release();
  return out;
}

/** Parameters of one torchvision RandomAffine draw (scale 1, shear 0). */
export interface AffineParams {
  /** Degrees. */
  angle: number;
  /** Pixels (torchvision draws integers). */
  tx: number;
  ty: number;
}

/**
 * torchvision tensor `affine` per image (null = identity), optionally preceded by a horizontal flip
 * per image (folded into the same sampling, exact), with bilinear sampling and the mask/fill rule.
 */
export function warpAffine(
  x: Tensor,
  params: ReadonlyArray<AffineParams | null>,
  fill: number,
  flips?: readonly boolean[],
): Tensor {
  assertRank('warpAffine', x, 4);
  const [, , h, w] = x.shape;
  const mats = params.map((a, k) => {
    const m = a ? affineMatrix(a.angle, a.tx, a.ty, w, h) : [...IDENTITY3];
    return flips?.[k] ? mul3(flipMatrix(w), m) : m;
  });
  return warpHomography(x, mats, fill);
}

/** Destination corners of one torchvision RandomPerspective draw (TL, TR, BR, BL), integer pixels. */
export type PerspectiveCorners = readonly [Point, Point, Point, Point];

/** torchvision's start points for an image W×H: (0,0), (W−1,0), (W−1,H−1), (0,H−1). */
export function perspectiveStartPoints(w: number, h: number): PerspectiveCorners {
  return [
    [0, 0],
    [w - 1, 0],
    [w - 1, h - 1],
    [0, h - 1],
  ];
}

/** torchvision tensor `perspective(img, startpoints, endpoints)` per image (null = identity), bilinear. */
export function warpPerspective(x: Tensor, endpoints: ReadonlyArray<PerspectiveCorners | null>, fill: number): Tensor {
  assertRank('warpPerspective', x, 4);
  const [, , h, w] = x.shape;
  const start = perspectiveStartPoints(w, h);
  return warpHomography(
    x,
    endpoints.map((end) => (end ? perspectiveMatrix(start, end) : IDENTITY3)),
    fill,
  );
}
