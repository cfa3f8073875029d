/**
 * torchvision's tensor colour adjustments (spec §A.7 steps 4–5), per image of an [N,3,H,W] batch in
 * [0, 1], each image with its own operation and factor so that all of CLIP's views run in one dispatch
 * per jitter slot:
 *  - brightness f: clamp(f·x)                                  (`_blend(img, zeros, f)`)
 *  - contrast f:   clamp(f·x + (1 − f)·μ), μ = mean of gray over the whole image (all pixels)
 *  - saturation f: clamp(f·x + (1 − f)·gray(x)) per pixel
 *  - hue δ:        `_rgb2hsv`, h ← (h + δ) mod 1, `_hsv2rgb` (torchvision's formulas, p/q/t clamped to
 *                  [0, 1], no final clamp)
 *  - grayscale:    gray replicated to 3 channels (no clamp)
 * with gray = 0.2989·R + 0.587·G + 0.114·B. Clamps pass gradient where lo ≤ z ≤ hi (torch.clamp).
 *
 * Backward: the a.e. derivative. The hue round trip is differentiated in forward mode with dual
 * numbers (value and ∂/∂(r, g, b) in a vec4) through the same piecewise formulas, including
 * torchvision's `eqc` guards (gray pixels: divisors replaced by constant 1) and max/min ties resolved
 * to the first channel (R, then G, then B).
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, paramsWgsl, perElementOutput, perElementWgsl, storageWgsl } from './common';
import { RED_WG, workgroupSumWgsl } from './reduce';

export type ColorOp = 'none' | 'brightness' | 'contrast' | 'saturation' | 'hue' | 'grayscale';

const OPCODE: Record<ColorOp, number> = { none: 0, brightness: 1, contrast: 2, saturation: 3, hue: 4, grayscale: 5 };

/** torchvision's rgb_to_grayscale weights. */
export const GRAY_WEIGHTS: readonly [number, number, number] = [0.2989, 0.587, 0.114];

const GRAY_WGSL = /* wgsl */ `
const GRAY = vec3f(${GRAY_WEIGHTS.map((v) => v.toFixed(4)).join(', ')});`;

/** Dual numbers: .x the value, .yzw its partial derivatives w.r.t. the pixel's (r, g, b). */
const HUE_WGSL = /* wgsl */ `
fn dconst(c: f32) -> vec4f { return vec4f(c, 0.0, 0.0, 0.0); }
fn dmul(a: vec4f, b: vec4f) -> vec4f { return vec4f(a.x * b.x, a.x * b.yzw + b.x * a.yzw); }
fn ddiv(a: vec4f, b: vec4f) -> vec4f {
  let q = a.x / b.x;
  return vec4f(q, (a.yzw - q * b.yzw) / b.x);
}
fn dclamp01(a: vec4f) -> vec4f {
  if (a.x < 0.0) { return vec4f(0.0); }
  if (a.x > 1.0) { return dconst(1.0); }
  return a;
}
/** torchvision adjust_hue on one pixel (float path): _rgb2hsv, h <- (h + delta) % 1, _hsv2rgb. */
fn hueShift(rgb: vec3f, delta: f32) -> array<vec4f, 3> {
  let r = vec4f(rgb.x, 1.0, 0.0, 0.0);
  let g = vec4f(rgb.y, 0.0, 1.0, 0.0);
  let b = vec4f(rgb.z, 0.0, 0.0, 1.0);
  var maxc = r;
  if (g.x > maxc.x) { maxc = g; }
  if (b.x > maxc.x) { maxc = b; }
  var minc = r;
  if (g.x < minc.x) { minc = g; }
  if (b.x < minc.x) { minc = b; }
  let eqc = maxc.x == minc.x;
  let cr = maxc - minc;
  let s = ddiv(cr, select(maxc, dconst(1.0), eqc));
  let crd = select(cr, dconst(1.0), eqc);
  let rc = ddiv(maxc - r, crd);
  let gc = ddiv(maxc - g, crd);
  let bc = ddiv(maxc - b, crd);
  var h6: vec4f;
  if (maxc.x == r.x) {
    h6 = bc - gc;
  } else if (maxc.x == g.x) {
    h6 = dconst(2.0) + rc - bc;
  } else {
    h6 = dconst(4.0) + gc - rc;
  }
  // fmod(h6 / 6 + 1, 1) (the argument is positive), then (h + delta) % 1 with Python semantics.
  var h = h6 / 6.0 + dconst(1.0);
  h.x = h.x - floor(h.x);
  h.x = h.x + delta;
  h.x = h.x - floor(h.x);
  let v = maxc;
  // _hsv2rgb
  let hh = h * 6.0;
  let fi = floor(hh.x);
  let f = hh - dconst(fi);
  let i = ((i32(fi) % 6) + 6) % 6;
  let one = dconst(1.0);
  let pp = dclamp01(dmul(v, one - s));
  let qq = dclamp01(dmul(v, one - dmul(s, f)));
  let tt = dclamp01(dmul(v, one - dmul(s, one - f)));
  switch (i) {
    case 0: { return array<vec4f, 3>(v, tt, pp); }
    case 1: { return array<vec4f, 3>(qq, v, pp); }
    case 2: { return array<vec4f, 3>(pp, v, tt); }
    case 3: { return array<vec4f, 3>(pp, qq, v); }
    case 4: { return array<vec4f, 3>(tt, pp, v); }
    default: { return array<vec4f, 3>(v, pp, qq); }
  }
}`;

/** The per-pixel kernels' helpers (image n's op and factor from the table) and the pixel's first index. */
const PIXEL_WGSL = /* wgsl */ `${GRAY_WGSL}
fn opcode(n: u32) -> u32 { return u32(table[2u * n]); }
fn factor(n: u32) -> f32 { return table[2u * n + 1u]; }
fn inside(z: vec3f) -> vec3f { return select(vec3f(0.0), vec3f(1.0), (z >= vec3f(0.0)) & (z <= vec3f(1.0))); }
/** Index of channel 0 of pixel i (one of N·H·W) in an [N,3,H,W] tensor. */
fn pixelBase(i: u32) -> u32 { return (i / p.hw) * 3u * p.hw + i % p.hw; }
${HUE_WGSL}`;

/** One thread per pixel: y = op_n(x). */
const FORWARD_WGSL = perElementWgsl({
  fields: 'hw: u32',
  read: ['x', 'table', 'means'],
  write: ['y'],
  helpers: PIXEL_WGSL,
  body: `
  let n = i / p.hw;
  let base = pixelBase(i);
  let rgb = vec3f(x[base], x[base + p.hw], x[base + 2u * p.hw]);
  let f = factor(n);
  var o = rgb;
  switch (opcode(n)) {
    case 1u: { o = clamp(f * rgb, vec3f(0.0), vec3f(1.0)); }
    case 2u: { o = clamp(f * rgb + (1.0 - f) * means[n], vec3f(0.0), vec3f(1.0)); }
    case 3u: { o = clamp(f * rgb + (1.0 - f) * dot(GRAY, rgb), vec3f(0.0), vec3f(1.0)); }
    case 4u: {
      let d = hueShift(rgb, f);
      o = vec3f(d[0].x, d[1].x, d[2].x);
    }
    case 5u: { o = vec3f(dot(GRAY, rgb)); }
    default: {}
  }
  y[base] = o.x;
  y[base + p.hw] = o.y;
  y[base + 2u * p.hw] = o.z;`,
});

/** One thread per pixel: gx = J_op(x)ᵀ·gy; contrast adds (1 − f)·gray weights·S/HW. */
const BACKWARD_WGSL = perElementWgsl({
  fields: 'hw: u32',
  read: ['x', 'gy', 'table', 'means', 'sums'],
  write: ['gx'],
  helpers: PIXEL_WGSL,
  body: `
  let n = i / p.hw;
  let base = pixelBase(i);
  let rgb = vec3f(x[base], x[base + p.hw], x[base + 2u * p.hw]);
  let g = vec3f(gy[base], gy[base + p.hw], gy[base + 2u * p.hw]);
  let f = factor(n);
  var o = g;
  switch (opcode(n)) {
    case 1u: { o = f * inside(f * rgb) * g; }
    case 2u: {
      o = f * inside(f * rgb + (1.0 - f) * means[n]) * g + (1.0 - f) * GRAY * (sums[n] / f32(p.hw));
    }
    case 3u: {
      let mg = inside(f * rgb + (1.0 - f) * dot(GRAY, rgb)) * g;
      o = f * mg + (1.0 - f) * GRAY * (mg.x + mg.y + mg.z);
    }
    case 4u: {
      let d = hueShift(rgb, f);
      o = g.x * d[0].yzw + g.y * d[1].yzw + g.z * d[2].yzw;
    }
    case 5u: { o = GRAY * (g.x + g.y + g.z); }
    default: {}
  }
  gx[base] = o.x;
  gx[base + p.hw] = o.y;
  gx[base + 2u * p.hw] = o.z;`,
});

/**
 * One workgroup per image n: means[n] = mean of gray over its pixels (torchvision's contrast mean) or,
 * with SUMS, sums[n] = Σ over pixels and channels of gy where f·x + (1 − f)·μ is inside [0, 1].
 */
function perImageReduceWgsl(backward: boolean): string {
  const bindings = backward ? storageWgsl(['x', 'gy', 'table', 'means'], ['out']) : storageWgsl(['x'], ['out']);
  const term = backward
    ? `let f = table[2u * n + 1u];
      let z = f * rgb + (1.0 - f) * means[n];
      let m = select(vec3f(0.0), vec3f(1.0), (z >= vec3f(0.0)) & (z <= vec3f(1.0)));
      acc += dot(m, vec3f(gy[base], gy[base + p.hw], gy[base + 2u * p.hw]));`
    : `acc += dot(GRAY, rgb);`;
  return /* wgsl */ `
${paramsWgsl('hw: u32, scale: f32')}
${bindings}
${GRAY_WGSL}
${workgroupSumWgsl(['sdata'])}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let n = wid.x;
  var acc = 0.0;
  for (var s = t; s < p.hw; s += ${RED_WG}u) {
    let base = n * 3u * p.hw + s;
    let rgb = vec3f(x[base], x[base + p.hw], x[base + 2u * p.hw]);
    ${term}
  }
  sdata[t] = acc;
  treeSum(t);
  if (t == 0u) { out[n] = sdata[0] * p.scale; }
}`;
}

const MEANS_WGSL = perImageReduceWgsl(false);
const SUMS_WGSL = perImageReduceWgsl(true);

function perImage(op: string, n: number, v: number | ArrayLike<number>): number[] {
  const arr = typeof v === 'number' ? new Array<number>(n).fill(v) : Array.from(v);
  if (arr.length !== n) throw new EngineError(op, `needs one factor per image: got ${arr.length} for ${n} images`);
  if (arr.some((f) => !Number.isFinite(f))) throw new EngineError(op, 'factors must be finite');
  return arr;
}

/**
 * Applies ops[n] with factors[n] to image n of x [N,3,H,W] (float, expected in [0, 1]). Hue factors
 * must lie in [−0.5, 0.5]; brightness, contrast and saturation factors must be ≥ 0; grayscale and
 * none ignore theirs. Differentiable w.r.t. x.
 */
export function colorAdjust(x: Tensor, ops: readonly ColorOp[], factors: ArrayLike<number>): Tensor {
  const op = 'colorAdjust';
  assertRank(op, x, 4);
  const [n, c, h, w] = x.shape;
  if (c !== 3) throw new EngineError(op, `needs RGB images [N,3,H,W], got ${shapeStr(x.shape)}`);
  if (ops.length !== n) throw new EngineError(op, `needs one op per image: got ${ops.length} for ${n} images`);
  const fs = perImage(op, n, factors);
  const table = new Float32Array(2 * n);
  ops.forEach((o, k) => {
    if (!(o in OPCODE)) throw new EngineError(op, `unknown colour op '${String(o)}'`);
    const f = fs[k];
    if (o === 'hue' && !(f >= -0.5 && f <= 0.5)) throw new EngineError(op, `hue factor ${f} is not in [-0.5, 0.5]`);
    if ((o === 'brightness' || o === 'contrast' || o === 'saturation') && !(f >= 0)) {
      throw new EngineError(op, `${o} factor ${f} must be non-negative`);
    }
    table[2 * k] = OPCODE[o];
    table[2 * k + 1] = f;
  });
  const e = x.engine;
  const hw = h * w;
  const npix = n * hw;
  const tableT = e.fromArray([n, 2], table, `${op}-table`);
  const anyContrast = ops.includes('contrast');
  const means = e.empty([n], `${op}-means`);
  if (anyContrast) {
    e.run({
      name: `${op}-means`,
      code: MEANS_WGSL,
      params: new Params().u32(hw).f32(1 / hw),
      read: [x],
      write: [means],
      workgroups: [n],
    });
  }
  const read = [x, tableT, means];
  const params = () => new Params().u32(npix).u32(hw);
  const out = perElementOutput({ name: op, code: FORWARD_WGSL, params: params(), read, shape: x.shape, count: npix });
  record(op, [x], out, (gy) => {
    const sums = e.empty([n], `${op}-sums`);
    if (anyContrast) {
      e.run({
        name: `${op}-sums`,
        code: SUMS_WGSL,
        params: new Params().u32(hw).f32(1),
        read: [x, gy, tableT, means],
        write: [sums],
        workgroups: [n],
      });
    }
    const gx = perElementOutput({
      name: `${op}-backward`,
      code: BACKWARD_WGSL,
      params: params(),
      read: [x, gy, tableT, means, sums],
      shape: x.shape,
      count: npix,
    });
    sums.release();
    return [gx];
  });
  if (!out.requiresGrad) {
    tableT.release();
    means.release();
  }
  return out;
}

function uniformOp(x: Tensor, kind: ColorOp, f: number | ArrayLike<number>): Tensor {
  assertRank(kind, x, 4);
  const n = x.shape[0];
  return colorAdjust(x, new Array<ColorOp>(n).fill(kind), perImage(kind, n, f));
}

/** torchvision adjust_brightness per image (f: one factor, or one per image). */
export function adjustBrightness(x: Tensor, f: number | ArrayLike<number>): Tensor {
  return uniformOp(x, 'brightness', f);
}

/** torchvision adjust_contrast per image: blend with the mean gray of each whole image. */
export function adjustContrast(x: Tensor, f: number | ArrayLike<number>): Tensor {
  return uniformOp(x, 'contrast', f);
}

/** torchvision adjust_saturation per image: blend with each pixel's gray. */
export function adjustSaturation(x: Tensor, f: number | ArrayLike<number>): Tensor {
  return uniformOp(x, 'saturation', f);
}

/** torchvision adjust_hue per image (δ in [−0.5, 0.5]): HSV round trip with h ← (h + δ) mod 1. */
export function adjustHue(x: Tensor, delta: number | ArrayLike<number>): Tensor {
  return uniformOp(x, 'hue', delta);
}

/** rgb_to_grayscale(num_output_channels=3) for the images flagged in `which` (default: all). */
export function grayscale(x: Tensor, which?: readonly boolean[]): Tensor {
  assertRank('grayscale', x, 4);
  const n = x.shape[0];
  if (which && which.length !== n) {
    throw new EngineError('grayscale', `needs one flag per image: got ${which.length} for ${n} images`);
  }
  const ops = Array.from({ length: n }, (_, k): ColorOp => (!which || which[k] ? 'grayscale' : 'none'));
  return colorAdjust(x, ops, new Array<number>(n).fill(0));
}
