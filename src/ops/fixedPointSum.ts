/**
 * Deterministic scatter-add for backward passes whose gradient lands on data-dependent addresses (the texture
 * pyramid's texels). WGSL has only integer atomics. A compare-and-swap loop over bitcast floats adds in whatever
 * order the threads arrive, so the last bits change from run to run (emulated for 10k points × 4 taps: 8 arrival
 * orders disagree on every texel of a 16² level, by up to thousands of ulps where signed contributions cancel, and on
 * 2 % of the touched texels of a 256² level). Integer addition is associative, so we add fixed-point values with
 * integer atomics: the same bits for every thread order, on a given device.
 *
 * Each value is a 64-bit two's-complement integer in two u32 words (lo, hi): atomicAdd on lo returns the old word,
 * which tells whether the add carried, and the carry goes into hi with the value's high word. The sum of carries
 * does not depend on the order (every lo part is non-negative, so the running sum wraps floor(Σ lo / 2^32) times).
 * The scale is a power of two 2^k chosen on the GPU from a bound B on the total magnitude one address can receive
 * (k = 61 − ⌊log₂ B⌋, so B·2^k < 2^62, and rounding each contribution to an integer cannot overflow 2^63); a quantum
 * is ≤ B·2^−61, so the converted sum is within about one float32 ulp of the exact sum (better than float atomics,
 * which round at every add). For the scatters here B = Σ|gy| (bilinear weights sum to 1). A 32-bit fixed point
 * (one word) measured ~5e-6 of a level's largest gradient off, tens of percent on texels touched once with a small
 * weight, which Adam's per-parameter normalisation would amplify; hence two words.
 *
 * Memory: lo is the float32 gradient tensor itself (zeroed, bound as atomics, converted in place by
 * fixedPointToFloat); hi is one transient u32 per address, released after the conversion.
 */
import { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';
import { perElementWgsl, WG } from './common';
import { reduceToScalar } from './reduce';

/** Most contributions one scatter may make (the rounding slack, ½ each, must stay far below 2^62). */
export const FIXED_POINT_MAX_CONTRIBUTIONS = 2 ** 40;

/**
 * WGSL: `fixedPointScale(bound)` = 2^k with B·2^k ∈ [2^61, 2^62) (exact: built from the exponent bits, no log2),
 * k clamped to [−126, 126]; `fixedPointUnscale(bound)` = 2^−k; `toFixedPoint(s)`: the 64-bit two's complement of
 * round(s) as vec2u(lo, hi).
 */
export const FIXED_POINT_WGSL = /* wgsl */ `
fn fixedPointExponent(bound: f32) -> i32 {
  let e = i32((bitcast<u32>(bound) >> 23u) & 0xffu) - 127;
  return clamp(61 - e, -126, 126);
}
fn powerOfTwo(k: i32) -> f32 { return bitcast<f32>(u32(k + 127) << 23u); }
fn fixedPointScale(bound: f32) -> f32 { return powerOfTwo(fixedPointExponent(bound)); }
fn fixedPointUnscale(bound: f32) -> f32 { return powerOfTwo(-fixedPointExponent(bound)); }
fn boundIsFinite(bound: f32) -> bool { return ((bitcast<u32>(bound) >> 23u) & 0xffu) != 0xffu; }
fn toFixedPoint(s: f32) -> vec2u {
  // |round(s)| < 2^62 has at most 24 significant bits, so both halves are exact.
  let m = abs(round(s));
  let mh = floor(m * 2.3283064365386963e-10);
  let ml = m - mh * 4294967296.0;
  let lo = u32(ml);
  let hi = u32(mh);
  if (s >= 0.0) { return vec2u(lo, hi); }
  return vec2u(~lo + 1u, ~hi + select(0u, 1u, lo == 0u));
}`;

/**
 * WGSL: `fn name(k: u32, s: f32)` adding round(s) (already scaled) at address k of the atomic<u32> arrays lo and hi.
 * One function per binding pair (WGSL cannot pass storage pointers to functions).
 */
export function fixedPointAddWgsl(name: string, lo: string, hi: string): string {
  return /* wgsl */ `
fn ${name}(k: u32, s: f32) {
  let q = toFixedPoint(s);
  if (q.x == 0u && q.y == 0u) { return; }
  let old = atomicAdd(&${lo}[k], q.x);
  let h = q.y + select(0u, 1u, old > 0xffffffffu - q.x);
  if (h != 0u) { atomicAdd(&${hi}[k], h); }
}`;
}

/** Σ|x| as a [1] tensor: the fixed-point bound for a scatter whose per-element weights sum to at most 1. */
export function fixedPointBound(x: Tensor, op: string): Tensor {
  return reduceToScalar(`${op}-bound`, [x], x.size, 'abs(a[i])', 1);
}

/** In place: (hi[i], lo[i]) scaled by fixedPointScale(bound) becomes the f32 value in lo; NaN if the bound is not finite. */
const TO_FLOAT_WGSL = perElementWgsl({
  read: ['bound', 'hi: u32'],
  write: ['lo: u32'],
  helpers: FIXED_POINT_WGSL,
  body: `
  let b = bound[0];
  if (!boundIsFinite(b)) {
    // A quiet NaN built from integer bits (shaders may assume float math never produces one).
    lo[i] = bitcast<u32>(b) | 0x7fc00000u;
    return;
  }
  var l = lo[i];
  var h = hi[i];
  let negative = (h >> 31u) != 0u;
  if (negative) {
    // Magnitude of the two's complement, so that small negative sums convert without cancellation.
    h = ~h + select(0u, 1u, l == 0u);
    l = ~l + 1u;
  }
  let magnitude = (f32(h) * 4294967296.0 + f32(l)) * fixedPointUnscale(b);
  lo[i] = bitcast<u32>(select(magnitude, -magnitude, negative));`,
});

/** Converts a scatter's fixed-point accumulator (lo words in `acc`, high words in `hi`, same bound) to float32 in acc. */
export function fixedPointToFloat(acc: Tensor, hi: Tensor, bound: Tensor, op: string): void {
  const e = acc.engine;
  e.run({
    name: `${op}-to-float`,
    code: TO_FLOAT_WGSL,
    params: new Params().u32(acc.size),
    read: [bound, hi],
    write: [acc],
    workgroups: e.grid(acc.size, WG),
  });
}
