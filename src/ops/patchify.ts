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
import { assertRank, LINEAR_INDEX_WGSL, WG } from './common';

/** One invocation per output element: gathers x[b, ch, r·p + kh, c·p + kw]. */
const PATCHIFY_WGSL = /* wgsl */ `
struct P { n: u32, c: u32, h: u32, w: u32, p: u32, wp: u32, tokens: u32 }
@group(0) @binding(0) var<uniform> prm: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= prm.n) { return; }
  let pp = prm.p * prm.p;
  let k = prm.c * pp;
  let j = i % k;
  let t = (i / k) % prm.tokens;
  let b = i / (k * prm.tokens);
  let ch = j / pp;
  let kh = (j / prm.p) % prm.p;
  let kw = j % prm.p;
  let y = (t / prm.wp) * prm.p + kh;
  let xx = (t % prm.wp) * prm.p + kw;
  out[i] = x[((b * prm.c + ch) * prm.h + y) * prm.w + xx];
}`;

/** One invocation per input pixel: reads its patch slot from the token gradient, zero for dropped pixels. */
const PATCHIFY_BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32, c: u32, h: u32, w: u32, p: u32, wp: u32, tokens: u32, hp: u32 }
@group(0) @binding(0) var<uniform> prm: P;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= prm.n) { return; }
  let xx = i % prm.w;
  let y = (i / prm.w) % prm.h;
  let ch = (i / (prm.w * prm.h)) % prm.c;
  let b = i / (prm.w * prm.h * prm.c);
  let r = y / prm.p;
  let c = xx / prm.p;
  if (r >= prm.hp || c >= prm.wp) {
    out[i] = 0.0;
    return;
  }
  let pp = prm.p * prm.p;
  let k = prm.c * pp;
  let t = r * prm.wp + c;
  let j = ch * pp + (y % prm.p) * prm.p + (xx % prm.p);
  out[i] = g[(b * prm.tokens + t) * k + j];
}`;

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
  const e = x.engine;
  const out = e.empty([b, tokens, k], op);
  e.run({
    name: op,
    code: PATCHIFY_WGSL,
    params: new Params().u32(out.size).u32(c).u32(h).u32(w).u32(patch).u32(wp).u32(tokens),
    read: [x],
    write: [out],
    workgroups: e.grid(out.size, WG),
  });
  return record(op, [x], out, (gy) => {
    const gx = e.empty(x.shape, `${op}-backward`);
    e.run({
      name: `${op}-backward`,
      code: PATCHIFY_BACKWARD_WGSL,
      params: new Params().u32(x.size).u32(c).u32(h).u32(w).u32(patch).u32(wp).u32(tokens).u32(hp),
      read: [gy],
      write: [gx],
      workgroups: e.grid(x.size, WG),
    });
    return [gx];
  });
}
