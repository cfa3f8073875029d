/**
 * ViT patch extraction (spec §A.6.1): x [B,C,H,W] → [B, hp·wp, C·p·p] with hp = floor(H/p), wp = floor(W/p).
 * Remainder rows at the bottom and columns at the right are dropped, as PyTorch's stride = kernel conv does.
 * Patches are row-major over the [hp, wp] grid (k = r·wp + c); inside a patch the values are ordered like a
 * PyTorch conv weight [C, kh, kw], so `patchify(x, p) · Wᵀ` with W = conv weight reshaped to [D, C·p·p]
 * equals conv2d(x, W, stride = p) flattened to tokens.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl, UNRAVEL_WGSL } from './common';

/** One invocation per output element: gathers x[b, ch, r·p + kh, c·p + kw] (p = ps; `patch` is reserved in WGSL). */
const PATCHIFY_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, ps: u32, wp: u32, tokens: u32',
  read: ['x'],
  write: ['out'],
  helpers: UNRAVEL_WGSL,
  body: `
  let bt = unravel3(i, p.tokens, p.c * p.ps * p.ps);
  let b = bt.x;
  let t = bt.y;
  let ck = unravel3(bt.z, p.ps, p.ps);
  let y = (t / p.wp) * p.ps + ck.y;
  let xx = (t % p.wp) * p.ps + ck.z;
  out[i] = x[((b * p.c + ck.x) * p.h + y) * p.w + xx];`,
});

/** One invocation per input pixel: reads its patch slot from the token gradient, zero for dropped pixels. */
const PATCHIFY_BACKWARD_WGSL = perElementWgsl({
  fields: 'c: u32, h: u32, w: u32, ps: u32, wp: u32, tokens: u32, hp: u32',
  read: ['g'],
  write: ['out'],
  helpers: UNRAVEL_WGSL,
  body: `
  let at = unravel4(i, p.c, p.h, p.w);
  let b = at.x;
  let ch = at.y;
  let y = at.z;
  let xx = at.w;
  let r = y / p.ps;
  let c = xx / p.ps;
  if (r >= p.hp || c >= p.wp) {
    out[i] = 0.0;
    return;
  }
  let pp = p.ps * p.ps;
  let k = p.c * pp;
  let t = r * p.wp + c;
  let j = ch * pp + (y % p.ps) * p.ps + (xx % p.ps);
  out[i] = g[(b * p.tokens + t) * k + j];`,
});

/**
 * Splits x [B,C,H,W] (C = 3 for CLIP) into non-overlapping patch × patch tokens: [B, hp·wp, C·patch·patch].
 * Backward scatters the token gradient back to the pixels (a gather per pixel) and writes zeros to the
 * dropped remainder rows/columns.
 */
export function patchify(x: Tensor, patch: number): Tensor {
  const op = 'patchify';
  assertRank(op, x, 4);
  if (!Number.isInteger(patch) || patch < 1)
    throw new EngineError(op, `patch must be a positive integer, got ${patch}`);
  const [b, c, h, w] = x.shape;
  if (h < patch || w < patch) {
    throw new EngineError(op, `input ${shapeStr(x.shape)} is smaller than one ${patch}×${patch} patch`);
  }
  const hp = Math.floor(h / patch);
  const wp = Math.floor(w / patch);
  const tokens = hp * wp;
  const k = c * patch * patch;
  const out = perElementOutput({
    name: op,
    code: PATCHIFY_WGSL,
    params: new Params()
      .u32(b * tokens * k)
      .u32(c)
      .u32(h)
      .u32(w)
      .u32(patch)
      .u32(wp)
      .u32(tokens),
    read: [x],
    shape: [b, tokens, k],
  });
  return record(op, [x], out, (gy) => [
    perElementOutput({
      name: `${op}-backward`,
      code: PATCHIFY_BACKWARD_WGSL,
      params: new Params().u32(x.size).u32(c).u32(h).u32(w).u32(patch).u32(wp).u32(tokens).u32(hp),
      read: [gy],
      shape: x.shape,
    }),
  ]);
}
