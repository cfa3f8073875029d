/**
 * 2× bilinear upsampling (nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)) fused with
 * the Deep-Image-Prior Concat centre crop: the cropped output is computed directly.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, LINEAR_INDEX_WGSL, WG } from './common';

/**
 * Source taps of full-resolution output coordinate o along an axis of n input samples (PyTorch's
 * area_pixel_compute_source_index with scale 1/2, then the neighbour clamp of upsample_bilinear2d).
 */
const TAP_WGSL = /* wgsl */ `
struct Tap { i0: u32, i1: u32, l: f32 }
fn tap(o: u32, n: u32) -> Tap {
  let s = max((f32(o) + 0.5) * 0.5 - 0.5, 0.0);
  let i0 = min(u32(s), n - 1u);
  let i1 = min(i0 + 1u, n - 1u);
  return Tap(i0, i1, s - f32(i0));
}`;

const UPSAMPLE_WGSL = /* wgsl */ `
struct P { n: u32, h: u32, w: u32, oh: u32, ow: u32, offy: u32, offx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${LINEAR_INDEX_WGSL}
${TAP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= p.n) { return; }
  let ox = i % p.ow;
  let t = i / p.ow;
  let oy = t % p.oh;
  let plane = t / p.oh;
  let ty = tap(oy + p.offy, p.h);
  let tx = tap(ox + p.offx, p.w);
  let r0 = plane * p.h * p.w + ty.i0 * p.w;
  let r1 = plane * p.h * p.w + ty.i1 * p.w;
  let top = (1.0 - tx.l) * x[r0 + tx.i0] + tx.l * x[r0 + tx.i1];
  let bottom = (1.0 - tx.l) * x[r1 + tx.i0] + tx.l * x[r1 + tx.i1];
  y[i] = (1.0 - ty.l) * top + ty.l * bottom;
}`;

/**
 * Gather backward: one thread per input pixel (r, c) sums weight · gy over the output pixels that read it.
 * Full-resolution rows that can read input row r are 2r − 1 .. 2r + 2 (likewise columns); each weight is
 * the sum of the tap weights that land on r (both taps when clamped at the border). Rows and columns
 * outside the crop window contribute nothing.
 */
const UPSAMPLE_BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32, h: u32, w: u32, oh: u32, ow: u32, offy: u32, offx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${LINEAR_INDEX_WGSL}
${TAP_WGSL}
/** Weight with which full-resolution coordinate o (along an axis of n samples) reads sample k. */
fn weight(o: u32, n: u32, k: u32) -> f32 {
  let tp = tap(o, n);
  return select(0.0, 1.0 - tp.l, tp.i0 == k) + select(0.0, tp.l, tp.i1 == k);
}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= p.n) { return; }
  let c = i % p.w;
  let t = i / p.w;
  let r = t % p.h;
  let plane = t / p.h;
  var wx: array<f32, 4>;
  var cx: array<u32, 4>;
  for (var b = 0u; b < 4u; b++) {
    wx[b] = 0.0;
    cx[b] = 0u;
    let fx = i32(2u * c + b) - 1;
    let ox = fx - i32(p.offx);
    if (fx >= 0 && ox >= 0 && ox < i32(p.ow)) {
      wx[b] = weight(u32(fx), p.w, c);
      cx[b] = u32(ox);
    }
  }
  var acc = 0.0;
  for (var a = 0u; a < 4u; a++) {
    let fy = i32(2u * r + a) - 1;
    let oy = fy - i32(p.offy);
    if (fy < 0 || oy < 0 || oy >= i32(p.oh)) { continue; }
    let wy = weight(u32(fy), p.h, r);
    if (wy == 0.0) { continue; }
    let row = (plane * p.oh + u32(oy)) * p.ow;
    var s = 0.0;
    for (var b = 0u; b < 4u; b++) {
      if (wx[b] != 0.0) { s += wx[b] * gy[row + cx[b]]; }
    }
    acc += wy * s;
  }
  gx[i] = acc;
}`;

/**
 * nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False) of x [N,C,H,W], centre-cropped to
 * (outHeight, outWidth) (defaults 2H, 2W) with offset floor((2H − outHeight) / 2) per axis, as the
 * Deep-Image-Prior Concat module crops.
 */
export function upsample2x(x: Tensor, outHeight?: number, outWidth?: number): Tensor {
  const op = 'upsample2x';
  assertRank(op, x, 4);
  const [n, c, h, w] = x.shape;
  const oh = outHeight ?? 2 * h;
  const ow = outWidth ?? 2 * w;
  for (const [name, v, full] of [
    ['outHeight', oh, 2 * h],
    ['outWidth', ow, 2 * w],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > full) {
      throw new EngineError(op, `${name} ${v} must be an integer in [1, ${full}] for input ${shapeStr(x.shape)}`);
    }
  }
  const offy = Math.floor((2 * h - oh) / 2);
  const offx = Math.floor((2 * w - ow) / 2);
  const e = x.engine;
  const out = e.empty([n, c, oh, ow], op);
  e.run({
    name: op,
    code: UPSAMPLE_WGSL,
    params: new Params().u32(out.size).u32(h).u32(w).u32(oh).u32(ow).u32(offy).u32(offx),
    read: [x],
    write: [out],
    workgroups: e.grid(out.size, WG),
  });
  return record(op, [x], out, (gy) => {
    const gx = e.empty(x.shape, `${op}-backward`);
    e.run({
      name: `${op}-backward`,
      code: UPSAMPLE_BACKWARD_WGSL,
      params: new Params().u32(x.size).u32(h).u32(w).u32(oh).u32(ow).u32(offy).u32(offx),
      read: [gy],
      write: [gx],
      workgroups: e.grid(x.size, WG),
    });
    return [gx];
  });
}
