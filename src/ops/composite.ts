/**
 * Alpha compositing of the generator's RGBA output (spec §A.5): out = (1 − α)·bg + α·fg, with fg the
 * edit colour [N,3,H,W], α [N,1,H,W] broadcast over the channels, and bg either an image [N,3,H,W] or a
 * constant colour (the green screen). Backward for fg, α and an image bg.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, LINEAR_INDEX_WGSL, WG } from './common';

/** The reference's green screen colour (0, 177, 64)/255. */
export const GREEN_SCREEN: readonly [number, number, number] = [0, 177 / 255, 64 / 255];

// bg is read from `bgImg` when p.useImage == 1, else from the constant colour.
const FORWARD_WGSL = /* wgsl */ `
struct P { n: u32, hw: u32, useImage: u32, r: f32, g: f32, b: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> fg: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> bgImg: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= p.n) { return; }
  let c = (i / p.hw) % 3u;
  let img = i / (3u * p.hw);
  let a = alpha[img * p.hw + i % p.hw];
  var bg = select(p.b, select(p.g, p.r, c == 0u), c < 2u);
  if (p.useImage == 1u) { bg = bgImg[i]; }
  out[i] = (1.0 - a) * bg + a * fg[i];
}`;

// d fg = α·g; d bg = (1 − α)·g; d α = Σ_c (fg − bg)·g (one thread per pixel).
const BACKWARD_WGSL = /* wgsl */ `
struct P { pixels: u32, hw: u32, useImage: u32, r: f32, g: f32, b: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> fg: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> bgImg: array<f32>;
@group(0) @binding(4) var<storage, read> gy: array<f32>;
@group(0) @binding(5) var<storage, read_write> gFg: array<f32>;
@group(0) @binding(6) var<storage, read_write> gAlpha: array<f32>;
@group(0) @binding(7) var<storage, read_write> gBg: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let px = linearIndex(gid, nwg);
  if (px >= p.pixels) { return; }
  let img = px / p.hw;
  let q = px % p.hw;
  let a = alpha[px];
  let colour = array<f32, 3>(p.r, p.g, p.b);
  var ga = 0.0;
  for (var c = 0u; c < 3u; c++) {
    let i = (img * 3u + c) * p.hw + q;
    var bg = colour[c];
    if (p.useImage == 1u) { bg = bgImg[i]; }
    gFg[i] = a * gy[i];
    gBg[i] = (1.0 - a) * gy[i];
    ga += (fg[i] - bg) * gy[i];
  }
  gAlpha[px] = ga;
}`;

/** (1 − α)·bg + α·fg. `bg` is an image tensor like fg, or an RGB colour. */
export function alphaComposite(fg: Tensor, alpha: Tensor, bg: Tensor | readonly [number, number, number]): Tensor {
  const op = 'alphaComposite';
  assertRank(op, fg, 4, 'fg');
  assertRank(op, alpha, 4, 'alpha');
  const [n, c, h, w] = fg.shape;
  const bgImage = Array.isArray(bg) ? null : (bg as Tensor);
  if (c !== 3 || alpha.shape[0] !== n || alpha.shape[1] !== 1 || alpha.shape[2] !== h || alpha.shape[3] !== w) {
    throw new EngineError(
      op,
      `needs fg [N,3,H,W] and alpha [N,1,H,W]; got ${shapeStr(fg.shape)} and ${shapeStr(alpha.shape)}`,
    );
  }
  if (bgImage && bgImage.shape.join() !== fg.shape.join()) {
    throw new EngineError(op, `bg ${shapeStr(bgImage.shape)} must match fg ${shapeStr(fg.shape)}`);
  }
  const colour = bgImage ? [0, 0, 0] : (bg as readonly number[]);
  const e = fg.engine;
  const out = e.empty(fg.shape, op);
  const params = (count: number) =>
    new Params()
      .u32(count)
      .u32(h * w)
      .u32(bgImage ? 1 : 0)
      .f32(colour[0])
      .f32(colour[1])
      .f32(colour[2]);
  // Without an image background the kernel still needs a buffer bound there: fg is never read as bg.
  const bgBinding = bgImage ?? fg;
  e.run({
    name: op,
    code: FORWARD_WGSL,
    params: params(fg.size),
    read: [fg, alpha, bgBinding],
    write: [out],
    workgroups: e.grid(fg.size, WG),
  });
  const inputs = bgImage ? [fg, alpha, bgImage] : [fg, alpha];
  return record(op, inputs, out, (gy) => {
    const gFg = e.empty(fg.shape, `${op}.gradFg`);
    const gAlpha = e.empty(alpha.shape, `${op}.gradAlpha`);
    const gBg = e.empty(fg.shape, `${op}.gradBg`);
    e.run({
      name: `${op}.backward`,
      code: BACKWARD_WGSL,
      params: params(n * h * w),
      read: [fg, alpha, bgBinding, gy],
      write: [gFg, gAlpha, gBg],
      workgroups: e.grid(n * h * w, WG),
    });
    const keep = (t: Tensor, needed: boolean) => {
      if (needed) return t;
      t.release();
      return null;
    };
    const grads = [keep(gFg, fg.requiresGrad), keep(gAlpha, alpha.requiresGrad)];
    if (bgImage) grads.push(keep(gBg, bgImage.requiresGrad));
    else gBg.release();
    return grads;
  });
}
