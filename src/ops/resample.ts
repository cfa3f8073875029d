/**
 * 2× bilinear upsampling (nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)) fused with
 * the Deep-Image-Prior Concat centre crop: the cropped output is computed directly.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl, UNRAVEL_WGSL } from './common';
import { BILINEAR_SAMPLE_WGSL, BILINEAR_TAP_WGSL } from './resize';

// Both kernels take the taps of full-resolution coordinate o from resize.ts's bilinear rule (PyTorch's
// area_pixel_compute_source_index, then the neighbour clamp of upsample_bilinear2d) at scale 1/2.
const FIELDS = 'h: u32, w: u32, oh: u32, ow: u32, offy: u32, offx: u32';

const UPSAMPLE_WGSL = perElementWgsl({
  fields: FIELDS,
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL + BILINEAR_TAP_WGSL + BILINEAR_SAMPLE_WGSL,
  body: `
  let at = unravel3(i, p.oh, p.ow);
  let plane = at.x;
  let ty = tap(at.y + p.offy, 0.5, p.h);
  let tx = tap(at.z + p.offx, 0.5, p.w);
  let r0 = plane * p.h * p.w + ty.i0 * p.w;
  let r1 = plane * p.h * p.w + ty.i1 * p.w;
  y[i] = bilinear(r0, r1, tx, ty);`,
});

/**
 * Gather backward: one thread per input pixel (r, c) sums weight · gy over the output pixels that read it.
 * Full-resolution rows that can read input row r are 2r − 1 .. 2r + 2 (likewise columns); each weight is
 * the sum of the tap weights that land on r (both taps when clamped at the border). Rows and columns
 * outside the crop window contribute nothing.
 */
const UPSAMPLE_BACKWARD_WGSL = perElementWgsl({
  fields: FIELDS,
  read: ['gy'],
  write: ['gx'],
  helpers: UNRAVEL_WGSL + BILINEAR_TAP_WGSL,
  body: `
  let at = unravel3(i, p.h, p.w);
  let plane = at.x;
  let r = at.y;
  let c = at.z;
  var wx: array<f32, 4>;
  var cx: array<u32, 4>;
  for (var b = 0u; b < 4u; b++) {
    wx[b] = 0.0;
    cx[b] = 0u;
    let fx = i32(2u * c + b) - 1;
    let ox = fx - i32(p.offx);
    if (fx >= 0 && ox >= 0 && ox < i32(p.ow)) {
      wx[b] = tapWeight(u32(fx), 0.5, p.w, c);
      cx[b] = u32(ox);
    }
  }
  var acc = 0.0;
  for (var a = 0u; a < 4u; a++) {
    let fy = i32(2u * r + a) - 1;
    let oy = fy - i32(p.offy);
    if (fy < 0 || oy < 0 || oy >= i32(p.oh)) { continue; }
    let wy = tapWeight(u32(fy), 0.5, p.h, r);
    if (wy == 0.0) { continue; }
    let row = (plane * p.oh + u32(oy)) * p.ow;
    var s = 0.0;
    for (var b = 0u; b < 4u; b++) {
      if (wx[b] != 0.0) { s += wx[b] * gy[row + cx[b]]; }
    }
    acc += wy * s;
  }
  gx[i] = acc;`,
});

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
  const params = (count: number) => new Params().u32(count).u32(h).u32(w).u32(oh).u32(ow).u32(offy).u32(offx);
  const shape = [n, c, oh, ow];
  const out = perElementOutput({ name: op, code: UPSAMPLE_WGSL, params: params(n * c * oh * ow), read: [x], shape });
  return record(op, [x], out, (gy) => [
    perElementOutput({
      name: `${op}-backward`,
      code: UPSAMPLE_BACKWARD_WGSL,
      params: params(x.size),
      read: [gy],
      shape: x.shape,
    }),
  ]);
}
