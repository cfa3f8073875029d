/**
 * Deterministic scatter-add for backward passes whose gradient lands on data-dependent addresses (the texture
 * pyramid's texels). WGSL has only integer atomics; a compare-and-swap loop over bitcast floats works but adds in
 * whatever order the threads arrive, so the last bits change from run to run. Integer addition is associative, so
 * we add fixed-point values with atomicAdd on i32 instead: the result is the same for every thread order (the same
 * seed gives the same bits, on a given device).
 *
 * The fixed-point scale is a power of two 2^k chosen on the GPU from a bound B on the total magnitude that can land
 * in any one address: k = 29 − ⌊log₂ B⌋, so B·2^k < 2^30. Every contribution is rounded to the nearest integer
 * (error ≤ ½ quantum each), so a sum of m contributions stays below 2^30 + m/2 < 2^31 (no overflow) and is off by
 * at most m/2 quanta, a quantum being 2^−k ≤ B·2^−29. For the scatters here B = Σ|gy| (bilinear weights sum to 1),
 * so the error per address is ≤ m·Σ|gy|·2^−30: e.g. for 10k points a texel touched by one point is within ~1e-5
 * (relative) of its float value, and contributions 2^30 times smaller than Σ|gy| round to zero.
 *
 * Accumulation happens in place: the gradient tensor is zeroed, bound as array<atomic<i32>> by the scatter kernel,
 * then converted to f32 in place (fixedPointToFloat), so no buffer beyond the gradient itself is allocated.
 */
import { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';
import { perElementWgsl, WG } from './common';
import { reduceToScalar } from './reduce';

/** Most contributions one scatter may make, so that the rounding slack (½ each) cannot overflow i32. */
export const FIXED_POINT_MAX_CONTRIBUTIONS = 2 ** 28;

/**
 * WGSL: `fixedPointScale(bound)` = 2^k with B·2^k ∈ [2^29, 2^30) (exact: built from the exponent bits, no log2),
 * k clamped to the normal range; `fixedPointUnscale(bound)` = 2^−k. A zero or subnormal bound gives 2^126.
 */
export const FIXED_POINT_WGSL = /* wgsl */ `
fn fixedPointExponent(bound: f32) -> i32 {
  let e = i32((bitcast<u32>(bound) >> 23u) & 0xffu) - 127;
  return clamp(29 - e, -126, 126);
}
fn powerOfTwo(k: i32) -> f32 { return bitcast<f32>(u32(k + 127) << 23u); }
fn fixedPointScale(bound: f32) -> f32 { return powerOfTwo(fixedPointExponent(bound)); }
fn fixedPointUnscale(bound: f32) -> f32 { return powerOfTwo(-fixedPointExponent(bound)); }
fn boundIsFinite(bound: f32) -> bool { return ((bitcast<u32>(bound) >> 23u) & 0xffu) != 0xffu; }`;

/** Σ|x| as a [1] tensor: the fixed-point bound for a scatter whose per-element weights sum to at most 1. */
export function fixedPointBound(x: Tensor, op: string): Tensor {
  return reduceToScalar(`${op}-bound`, [x], x.size, 'abs(a[i])', 1);
}

/** In place: acc[i] (i32 bits, scaled by fixedPointScale(bound)) becomes the f32 value; NaN if the bound is not finite. */
const TO_FLOAT_WGSL = perElementWgsl({
  read: ['bound'],
  write: ['acc: u32'],
  helpers: FIXED_POINT_WGSL,
  body: `
  let b = bound[0];
  if (boundIsFinite(b)) {
    acc[i] = bitcast<u32>(f32(bitcast<i32>(acc[i])) * fixedPointUnscale(b));
  } else {
    // A quiet NaN built from integer bits (shaders may assume float math never produces one).
    acc[i] = bitcast<u32>(b) | 0x7fc00000u;
  }`,
});

/** Converts a scatter's fixed-point accumulator (made with the same bound) to float32, in place. */
export function fixedPointToFloat(acc: Tensor, bound: Tensor, op: string): void {
  const e = acc.engine;
  e.run({
    name: `${op}-to-float`,
    code: TO_FLOAT_WGSL,
    params: new Params().u32(acc.size),
    read: [bound],
    write: [acc],
    workgroups: e.grid(acc.size, WG),
  });
}
