/**
 * Positional encoding of point coordinates for the alpha MLP (VIDEO_ATLAS.md §2: 6 octaves on (x, y, t)).
 *
 * x [N, D] → [N, D + 2·D·L], row n laid out as
 *   x_0 … x_{D−1},  then for k = 0 … L−1:  sin(2^k·π·x_0) … sin(2^k·π·x_{D−1}),  cos(2^k·π·x_0) … cos(2^k·π·x_{D−1})
 * i.e. the input first, then NLA's positionalEncoding_vec order (per octave: all sines, then all cosines).
 *
 * The phase is reduced exactly before sin/cos: 2^k·π·x = 2π·r with r = 2^(k−1)·x − round(2^(k−1)·x) ∈ [−½, ½]
 * (a power-of-two multiply and the subtraction are exact in f32), so the trigonometric functions only see
 * [−π, π], where WGSL bounds their error (2^−11 absolute; SwiftShader's sin is ~2e-4 off near 0, GPUs do better);
 * high octaves and large |x| do not depend on the device's own range reduction.
 * Backward: gx = gy_x + Σ_k 2^k·π·(gy_sin·cos − gy_cos·sin).
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl } from './common';

/** WGSL: `phase(x, k)` = 2^k·π·x reduced to [−π, π] (exactly up to the final multiply by 2π). */
const PHASE_WGSL = /* wgsl */ `
const TWO_PI = 6.283185307179586;
/** 2^e, exact (built from the exponent bits; exp2 need not be exact). */
fn pow2(e: i32) -> f32 { return bitcast<f32>(u32(e + 127) << 23u); }
fn phase(x: f32, k: u32) -> f32 {
  let turns = x * pow2(i32(k) - 1);
  return TWO_PI * (turns - round(turns));
}`;

const FORWARD_WGSL = perElementWgsl({
  fields: 'd: u32, width: u32',
  read: ['x'],
  write: ['out'],
  helpers: PHASE_WGSL,
  body: `
  let n = i / p.width;
  let j = i % p.width;
  if (j < p.d) {
    out[i] = x[n * p.d + j];
    return;
  }
  let r = j - p.d;
  let k = r / (2u * p.d);
  let m = r % (2u * p.d);
  let a = phase(x[n * p.d + m % p.d], k);
  out[i] = select(sin(a), cos(a), m >= p.d);`,
});

/** One invocation per input element (n, j): gathers its D + 2·D·L output gradients. */
const BACKWARD_WGSL = perElementWgsl({
  fields: 'd: u32, width: u32, octaves: u32',
  read: ['x', 'gy'],
  write: ['gx'],
  helpers: PHASE_WGSL,
  body: `
  let n = i / p.d;
  let j = i % p.d;
  let row = n * p.width;
  var g = gy[row + j];
  for (var k = 0u; k < p.octaves; k++) {
    let a = phase(x[i], k);
    let s = row + p.d + 2u * p.d * k + j;
    g += pow2(i32(k)) * 3.141592653589793 * (gy[s] * cos(a) - gy[s + p.d] * sin(a));
  }
  gx[i] = g;`,
});

/** [N, D] → [N, D·(1 + 2·octaves)]: x, then per octave k the sines and cosines of 2^k·π·x (see the file comment). */
export function positionalEncoding(x: Tensor, octaves: number): Tensor {
  const op = 'positionalEncoding';
  assertRank(op, x, 2, 'x');
  if (!Number.isInteger(octaves) || octaves < 0 || octaves > 24) {
    throw new EngineError(op, `octaves must be an integer in [0, 24], got ${octaves} (x ${shapeStr(x.shape)})`);
  }
  const [N, D] = x.shape;
  const width = D * (1 + 2 * octaves);
  const out = perElementOutput({
    name: op,
    code: FORWARD_WGSL,
    params: new Params()
      .u32(N * width)
      .u32(D)
      .u32(width),
    read: [x],
    shape: [N, width],
  });
  return record(op, [x], out, (gy) => [
    perElementOutput({
      name: `${op}-backward`,
      code: BACKWARD_WGSL,
      params: new Params().u32(x.size).u32(D).u32(width).u32(octaves),
      read: [x, gy],
      shape: x.shape,
    }),
  ]);
}
