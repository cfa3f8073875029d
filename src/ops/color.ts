/** A 3×3 colour matrix applied to the first three channels of an NCHW tensor; other channels pass through. */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl } from './common';

/** Text2LIVE's colour correlation matrix before normalisation (rows: output R, G, B). */
const COLOR_CORRELATION_SVD_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

function decorrelationMatrix(): number[] {
  const m = COLOR_CORRELATION_SVD_SQRT.map((row) => [row[0] / 1.6, row[1], row[2]]);
  let maxNorm = 0;
  for (let j = 0; j < 3; j++) maxNorm = Math.max(maxNorm, Math.hypot(m[0][j], m[1][j], m[2][j]));
  return m.flat().map((v) => v / maxNorm);
}

/**
 * Text2LIVE's colour-decorrelation matrix (row-major 3×3): the correlation matrix with its first column
 * divided by 1.6, then everything divided by the largest column L2 norm.
 */
export const DECORR_RGB: readonly number[] = Object.freeze(decorrelationMatrix());

/** out[c] = Σ_k m[c][k] · x[k] for channels c < 3 of each pixel; channels ≥ 3 are copied. */
const COLOR_MATRIX_WGSL = perElementWgsl({
  fields: 'c: u32, hw: u32, m0: f32, m1: f32, m2: f32, m3: f32, m4: f32, m5: f32, m6: f32, m7: f32, m8: f32',
  read: ['x'],
  write: ['out'],
  body: `
  let s = i % p.hw;
  let t = i / p.hw;
  let ch = t % p.c;
  if (ch >= 3u) {
    out[i] = x[i];
    return;
  }
  var rows = array<vec3f, 3>(vec3f(p.m0, p.m1, p.m2), vec3f(p.m3, p.m4, p.m5), vec3f(p.m6, p.m7, p.m8));
  let base = (t - ch) * p.hw + s;
  let rgb = vec3f(x[base], x[base + p.hw], x[base + 2u * p.hw]);
  let r = rows[ch];
  out[i] = r.x * rgb.x + r.y * rgb.y + r.z * rgb.z;`,
});

/** Applies m to `src` (whose size is that of `shape`, an [N,C,H,W] shape) into a new tensor of `shape`. */
function applyMatrix(src: Tensor, shape: readonly number[], m: readonly number[], op: string): Tensor {
  const params = new Params()
    .u32(src.size)
    .u32(shape[1])
    .u32(shape[2] * shape[3]);
  for (const v of m) params.f32(v);
  return perElementOutput({ name: op, code: COLOR_MATRIX_WGSL, params, read: [src], shape });
}

/**
 * For x [N,C,H,W] with C ≥ 3: channels 0..2 become M·rgb per pixel (m is M row-major), channels ≥ 3
 * pass through. The backward applies Mᵀ.
 */
export function colorMatrix(x: Tensor, m: readonly number[]): Tensor {
  const op = 'colorMatrix';
  assertRank(op, x, 4);
  if (x.shape[1] < 3) throw new EngineError(op, `needs at least 3 channels, got ${shapeStr(x.shape)}`);
  if (m.length !== 9 || m.some((v) => !Number.isFinite(v))) {
    throw new EngineError(op, `the matrix must be 9 finite numbers (3×3 row-major), got ${m.length} values`);
  }
  const mat = [...m];
  const out = applyMatrix(x, x.shape, mat, op);
  const mt = [mat[0], mat[3], mat[6], mat[1], mat[4], mat[7], mat[2], mat[5], mat[8]];
  return record(op, [x], out, (gy) => [applyMatrix(gy, x.shape, mt, `${op}-backward`)]);
}
