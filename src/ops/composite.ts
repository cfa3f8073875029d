/**
 * Alpha compositing of the generator's RGBA output (spec §A.5): out = (1 − α)·bg + α·fg, with fg the
 * edit colour [N,3,H,W], α [N,1,H,W] broadcast over the channels, and bg either an image [N,3,H,W] or a
 * constant colour (the green screen). Backward for fg, α and an image bg.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl, WG } from './common';

/** The reference's green screen colour (0, 177, 64)/255. */
export const GREEN_SCREEN: readonly [number, number, number] = [0, 177 / 255, 64 / 255];

// bg is read from `bgImg` when p.useImage == 1, else from the constant colour.
/** Both kernels' uniforms after the count (elements forward, pixels backward). */
const FIELDS = 'hw: u32, useImage: u32, r: f32, g: f32, b: f32';

const FORWARD_WGSL = perElementWgsl({
  fields: FIELDS,
  read: ['fg', 'alpha', 'bgImg'],
  write: ['out'],
  body: `
  let c = (i / p.hw) % 3u;
  let img = i / (3u * p.hw);
  let a = alpha[img * p.hw + i % p.hw];
  var bg = select(p.b, select(p.g, p.r, c == 0u), c < 2u);
  if (p.useImage == 1u) { bg = bgImg[i]; }
  out[i] = (1.0 - a) * bg + a * fg[i];`,
});

// d fg = α·g; d bg = (1 − α)·g; d α = Σ_c (fg − bg)·g (one thread per pixel i).
const BACKWARD_WGSL = perElementWgsl({
  fields: FIELDS,
  read: ['fg', 'alpha', 'bgImg', 'gy'],
  write: ['gFg', 'gAlpha', 'gBg'],
  body: `
  let img = i / p.hw;
  let q = i % p.hw;
  let a = alpha[i];
  let colour = array<f32, 3>(p.r, p.g, p.b);
  var ga = 0.0;
  for (var c = 0u; c < 3u; c++) {
    let k = (img * 3u + c) * p.hw + q;
    var bg = colour[c];
    if (p.useImage == 1u) { bg = bgImg[k]; }
    gFg[k] = a * gy[k];
    gBg[k] = (1.0 - a) * gy[k];
    ga += (fg[k] - bg) * gy[k];
  }
  gAlpha[i] = ga;`,
});

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
  const read = [fg, alpha, bgBinding];
  const out = perElementOutput({ name: op, code: FORWARD_WGSL, params: params(fg.size), read, shape: fg.shape });
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
