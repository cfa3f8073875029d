/**
 * Bilinear resizing for the CLIP side (spec §A.6.2, §F.7): PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False, antialias=False)` with an explicit output size,
 * up or down, optionally fused with a per-output crop so that all of CLIP's views (full image and random
 * crops) are cut and resized in one dispatch.
 *
 * Convention (PyTorch upsample_bilinear2d, size given so scale = in/out computed in float32): along an
 * axis of `len` input samples and `out` output samples, output index o reads source coordinate
 * `s = max(scale·(o + 0.5) − 0.5, 0)`, taps i0 = ⌊s⌋ and i1 = min(i0 + 1, len − 1) with weights
 * 1 − (s − i0) and s − i0. No antialiasing: when downsampling, only the two nearest input samples per
 * axis receive gradient.
 *
 * The backward is a gather (no atomics): each input pixel loops over the output rows and columns whose
 * taps can reach it. Output o reaches input i only if ⌊s(o)⌋ ∈ {i − 1, i}, i.e. s(o) ∈ [i − 1, i + 1),
 * an interval of about 2/scale + 1 outputs; the kernel scans that interval widened by one on each side
 * and re-evaluates the forward taps, so the weights are bit-identical to the forward's.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl, UNRAVEL_WGSL } from './common';
import { sliceLastDims } from './shape';

/** A crop of input image `src` (default 0): rows [top, top + height), columns [left, left + width). */
export interface CropBox {
  src?: number;
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Floats per box in the box table: src, top, left, height, width, scaleY, scaleX, (pad). */
const BOX_STRIDE = 8;

/**
 * WGSL: the taps of output o along an axis of `len` input samples at scale in/out (the module comment's rule, also
 * upsample2x's with scale 1/2), and the weight with which o reads sample k.
 */
export const BILINEAR_TAP_WGSL = /* wgsl */ `
struct Tap { i0: u32, i1: u32, l: f32 }
fn tap(o: u32, scale: f32, len: u32) -> Tap {
  let s = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
  let i0 = min(u32(s), len - 1u);
  let i1 = select(i0, i0 + 1u, i0 + 1u < len);
  return Tap(i0, i1, s - f32(i0));
}
/** Weight with which output o reads input sample k (both taps count when they coincide at the border). */
fn tapWeight(o: u32, scale: f32, len: u32, k: u32) -> f32 {
  let t = tap(o, scale, len);
  return select(0.0, 1.0 - t.l, t.i0 == k) + select(0.0, t.l, t.i1 == k);
}`;

/** WGSL: the bilinear blend of the input `x` between rows r0, r1 (offsets of their first tap column). */
export const BILINEAR_SAMPLE_WGSL = /* wgsl */ `
fn bilinear(r0: u32, r1: u32, tx: Tap, ty: Tap) -> f32 {
  let top = (1.0 - tx.l) * x[r0 + tx.i0] + tx.l * x[r0 + tx.i1];
  let bottom = (1.0 - tx.l) * x[r1 + tx.i0] + tx.l * x[r1 + tx.i1];
  return (1.0 - ty.l) * top + ty.l * bottom;
}`;

/** WGSL: box b of the box table. */
const BOX_WGSL = /* wgsl */ `
struct Box { src: u32, top: u32, left: u32, h: u32, w: u32, sy: f32, sx: f32 }
fn box(b: u32) -> Box {
  let o = b * ${BOX_STRIDE}u;
  return Box(u32(boxes[o]), u32(boxes[o + 1u]), u32(boxes[o + 2u]), u32(boxes[o + 3u]), u32(boxes[o + 4u]),
             boxes[o + 5u], boxes[o + 6u]);
}`;

/** One thread per output element (b, c, oy, ox). */
const FORWARD_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, oh: u32, ow: u32',
  read: ['x', 'boxes'],
  write: ['y'],
  helpers: UNRAVEL_WGSL + BILINEAR_TAP_WGSL + BILINEAR_SAMPLE_WGSL + BOX_WGSL,
  body: `
  let at = unravel4(i, p.c, p.oh, p.ow);
  let bx = box(at.x);
  let ty = tap(at.z, bx.sy, bx.h);
  let tx = tap(at.w, bx.sx, bx.w);
  let plane = (bx.src * p.c + at.y) * p.h * p.w;
  let r0 = plane + (bx.top + ty.i0) * p.w + bx.left;
  let r1 = plane + (bx.top + ty.i1) * p.w + bx.left;
  y[i] = bilinear(r0, r1, tx, ty);`,
});

/**
 * One thread per input element (s, c, r, q): sums, over the boxes cut from image s that contain (r, q),
 * weight · gy over the outputs whose taps reach it.
 */
const BACKWARD_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, oh: u32, ow: u32, nbox: u32',
  read: ['gy', 'boxes'],
  write: ['gx'],
  helpers: `${UNRAVEL_WGSL}${BILINEAR_TAP_WGSL}${BOX_WGSL}
/** Outputs [lo, hi] (inclusive, possibly empty) along an axis that may read local input sample k. */
fn outRange(k: u32, scale: f32, out: u32) -> vec2i {
  let lo = i32(floor((f32(k) - 0.5) / scale - 0.5)) - 1;
  let hi = i32(ceil((f32(k) + 1.5) / scale - 0.5)) + 1;
  return vec2i(max(lo, 0), min(hi, i32(out) - 1));
}`,
  body: `
  let at = unravel4(i, p.c, p.h, p.w);
  let s = at.x;
  let ch = at.y;
  let r = at.z;
  let q = at.w;
  var acc = 0.0;
  for (var b = 0u; b < p.nbox; b++) {
    let bx = box(b);
    if (bx.src != s || r < bx.top || r >= bx.top + bx.h || q < bx.left || q >= bx.left + bx.w) { continue; }
    let kr = r - bx.top;
    let kq = q - bx.left;
    let ry = outRange(kr, bx.sy, p.oh);
    let rx = outRange(kq, bx.sx, p.ow);
    let plane = (b * p.c + ch) * p.oh * p.ow;
    for (var oy = ry.x; oy <= ry.y; oy++) {
      let wy = tapWeight(u32(oy), bx.sy, bx.h, kr);
      if (wy == 0.0) { continue; }
      let row = plane + u32(oy) * p.ow;
      var sx = 0.0;
      for (var ox = rx.x; ox <= rx.y; ox++) {
        let wx = tapWeight(u32(ox), bx.sx, bx.w, kq);
        if (wx != 0.0) { sx += wx * gy[row + u32(ox)]; }
      }
      acc += wy * sx;
    }
  }
  gx[i] = acc;`,
});

/**
 * Crops boxes out of x [N,C,H,W] and resizes each to (outH, outW) with PyTorch's bilinear rule
 * (align_corners=False, no antialias): output b = interpolate(x[src_b, :, box_b], (outH, outW)).
 * Returns [boxes.length, C, outH, outW]; differentiable w.r.t. x.
 */
export function cropResize(x: Tensor, boxes: readonly CropBox[], outH: number, outW: number): Tensor {
  const op = 'cropResize';
  assertRank(op, x, 4);
  const [n, c, h, w] = x.shape;
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new EngineError(op, `output size ${outH}×${outW} must be positive integers`);
  }
  if (boxes.length === 0) throw new EngineError(op, 'needs at least one box');
  const table = new Float32Array(boxes.length * BOX_STRIDE);
  boxes.forEach((b, k) => {
    const src = b.src ?? 0;
    const ints = [src, b.top, b.left, b.height, b.width];
    if (
      ints.some((v) => !Number.isInteger(v) || v < 0) ||
      src >= n ||
      b.height < 1 ||
      b.width < 1 ||
      b.top + b.height > h ||
      b.left + b.width > w
    ) {
      throw new EngineError(
        op,
        `box ${k} (src ${src}, top ${b.top}, left ${b.left}, ${b.height}×${b.width}) is outside input ${shapeStr(x.shape)}`,
      );
    }
    // PyTorch: scale = (float) input_size / output_size (area_pixel_compute_scale, size given).
    table.set([src, b.top, b.left, b.height, b.width, b.height / outH, b.width / outW, 0], k * BOX_STRIDE);
  });
  const e = x.engine;
  const boxT = e.fromArray([boxes.length, BOX_STRIDE], table, `${op}-boxes`);
  const out = perElementOutput({
    name: op,
    code: FORWARD_WGSL,
    params: new Params()
      .u32(boxes.length * c * outH * outW)
      .u32(c)
      .u32(h)
      .u32(w)
      .u32(outH)
      .u32(outW),
    read: [x, boxT],
    shape: [boxes.length, c, outH, outW],
  });
  record(op, [x], out, (gy) => [
    perElementOutput({
      name: `${op}-backward`,
      code: BACKWARD_WGSL,
      params: new Params().u32(x.size).u32(c).u32(h).u32(w).u32(outH).u32(outW).u32(boxes.length),
      read: [gy, boxT],
      shape: x.shape,
    }),
  ]);
  if (!out.requiresGrad) boxT.release();
  return out;
}

/**
 * F.interpolate(x, (outH, outW), mode='bilinear', align_corners=False, antialias=False) of x [N,C,H,W],
 * differentiable w.r.t. x. Same-size resizes are exact copies.
 */
export function resizeBilinear(x: Tensor, outH: number, outW: number): Tensor {
  assertRank('resizeBilinear', x, 4);
  const [n, , h, w] = x.shape;
  const boxes = Array.from({ length: n }, (_, src) => ({ src, top: 0, left: 0, height: h, width: w }));
  return cropResize(x, boxes, outH, outW);
}

/** x[..., top:top+h, left:left+w] (torchvision's crop on tensors), differentiable. */
export function crop(x: Tensor, top: number, left: number, h: number, w: number): Tensor {
  return sliceLastDims(x, [top, left], [h, w]);
}

/**
 * torchvision `Resize(size, max_size)` with an int size (spec §A.6.2): the short side becomes `size`,
 * the long side int(size·long/short); if that exceeds maxSize, the long side becomes maxSize and the
 * short side int(maxSize·size/newLong). Returns [newH, newW].
 */
export function resizeShortSide(h: number, w: number, size: number, maxSize?: number): [number, number] {
  if (!(h >= 1 && w >= 1 && size >= 1)) throw new EngineError('resizeShortSide', `invalid sizes ${h}×${w} → ${size}`);
  const [short, long] = w <= h ? [w, h] : [h, w];
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== undefined) {
    if (maxSize <= size) {
      throw new EngineError('resizeShortSide', `max_size ${maxSize} must be larger than the requested size ${size}`);
    }
    if (newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
  }
  return w <= h ? [newLong, newShort] : [newShort, newLong];
}
