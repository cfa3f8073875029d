/** Per-channel normalization (x − mean_c) / std_c of NCHW images (torchvision Normalize), with backward. */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl } from './common';

/** CLIP's normalization mean (spec §A.6.2). */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** CLIP's normalization standard deviation (spec §A.6.2). */
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** out = a_c·x + b_c with per-channel a, b (at most 4 channels). */
const CHANNEL_AFFINE_WGSL = perElementWgsl({
  fields: 'c: u32, hw: u32, a: vec4f, b: vec4f',
  read: ['x'],
  write: ['y'],
  body: `
  let ch = (i / p.hw) % p.c;
  y[i] = p.a[ch] * x[i] + p.b[ch];`,
});

function channelAffine(x: Tensor, a: readonly number[], b: readonly number[], op: string): Tensor {
  const [, c, h, w] = x.shape;
  // The uniform struct aligns the vec4 fields to 16 bytes: one pad word after (n, c, hw).
  const params = new Params()
    .u32(x.size)
    .u32(c)
    .u32(h * w)
    .u32(0);
  for (let k = 0; k < 4; k++) params.f32(a[k] ?? 0);
  for (let k = 0; k < 4; k++) params.f32(b[k] ?? 0);
  return perElementOutput({
    name: 'channelAffine',
    code: CHANNEL_AFFINE_WGSL,
    params,
    read: [x],
    shape: x.shape,
    label: op,
  });
}

/**
 * (x − mean_c) / std_c per channel of x [N,C,H,W] (C ≤ 4, mean and std of length C), computed as
 * x·(1/std) + (−mean/std). Differentiable: gx = gy / std_c.
 */
export function normalizeImage(
  x: Tensor,
  mean: readonly number[] = CLIP_MEAN,
  std: readonly number[] = CLIP_STD,
): Tensor {
  const op = 'normalizeImage';
  assertRank(op, x, 4);
  const c = x.shape[1];
  if (c > 4 || mean.length !== c || std.length !== c) {
    throw new EngineError(op, `needs C ≤ 4 and ${c} means and stds for ${shapeStr(x.shape)}`);
  }
  if (std.some((s) => !(Math.abs(s) > 0) || !Number.isFinite(s)) || mean.some((m) => !Number.isFinite(m))) {
    throw new EngineError(op, 'means must be finite and stds finite and non-zero');
  }
  const inv = std.map((s) => 1 / s);
  const out = channelAffine(
    x,
    inv,
    mean.map((m, k) => -m * inv[k]),
    op,
  );
  return record(op, [x], out, (gy) => [channelAffine(gy, inv, [], `${op}-backward`)]);
}
