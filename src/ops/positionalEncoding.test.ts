import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { forwardBackward } from '../../test/opRun';
import { EngineError } from '../gpu/errors';
import { positionalEncoding } from './positionalEncoding';

/**
 * WGSL's bound on sin/cos over [−π, π] (absolute error 2^−11). SwiftShader's are ~2e-4 off near 0; GPUs do better.
 */
const TRIG_TOLERANCE = 2 ** -11;

/** Float64 reference: x, then per octave k all sin(2^k·π·x_d), then all cos(2^k·π·x_d). */
function reference(x: Float32Array, D: number, L: number): Float64Array {
  const N = x.length / D;
  const W = D * (1 + 2 * L);
  const out = new Float64Array(N * W);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const v = x[n * D + d];
      out[n * W + d] = v;
      for (let k = 0; k < L; k++) {
        const a = 2 ** k * Math.PI * v;
        out[n * W + D + 2 * D * k + d] = Math.sin(a);
        out[n * W + D + 2 * D * k + D + d] = Math.cos(a);
      }
    }
  }
  return out;
}

/** Exact adjoint of the reference for output gradient g. */
function referenceGrad(x: Float32Array, g: Float32Array, D: number, L: number): Float64Array {
  const W = D * (1 + 2 * L);
  return Float64Array.from(x, (v, i) => {
    const n = Math.floor(i / D);
    const d = i % D;
    let s = g[n * W + d];
    for (let k = 0; k < L; k++) {
      const f = 2 ** k * Math.PI;
      s += f * (g[n * W + D + 2 * D * k + d] * Math.cos(f * v) - g[n * W + D + 2 * D * k + D + d] * Math.sin(f * v));
    }
    return s;
  });
}

describe('positionalEncoding', () => {
  it('lays out x, then per octave the sines and the cosines (39 features for (x, y, t) at 6 octaves)', async () => {
    const e = await testEngine();
    const x = new Float32Array([0.25, -0.5, 1, 0, 0.75, -1]);
    const y = await e.tidy(() => positionalEncoding(e.fromArray([2, 3], x), 6));
    expect(y.shape).toEqual([2, 39]);
    const got = await y.read();
    y.release();
    expect(maxAbsDiff(got, reference(x, 3, 6))).toBeLessThan(TRIG_TOLERANCE);
    expect(got.slice(0, 3)).toEqual(x.slice(0, 3));
    // Octave 1 of x = 0.25: sin(π/2) = 1, cos(π/2) = 0.
    expect(Math.abs(got[3 + 6] - 1)).toBeLessThan(TRIG_TOLERANCE);
    expect(Math.abs(got[3 + 6 + 3])).toBeLessThan(TRIG_TOLERANCE);
  });

  it('matches the float64 reference forward and adjoint, also for large |x| and many octaves', async () => {
    const e = await testEngine();
    for (const [N, D, L, lo, hi] of [
      [64, 3, 6, -1, 1],
      [16, 2, 10, -3, 3],
      [5, 4, 0, -1, 1],
    ]) {
      const x = rand(N * D, N + L, lo, hi);
      const W = D * (1 + 2 * L);
      const g = rand(N * W, 3);
      const { y, gx, shape } = await forwardBackward(
        e,
        [N, D],
        x,
        (t) => positionalEncoding(t, L),
        () => g,
      );
      expect(shape).toEqual([N, W]);
      // The exact phase reduction keeps high octaves and large |x| as accurate as sin itself.
      expect(maxAbsDiff(y, reference(x, D, L))).toBeLessThan(TRIG_TOLERANCE);
      const want = referenceGrad(x, g, D, L);
      const scale = Math.max(...want.map(Math.abs));
      expect(maxAbsDiff(gx, want) / scale).toBeLessThan(2 * TRIG_TOLERANCE);
    }
  });

  it('has a backward that matches central finite differences', async () => {
    const e = await testEngine();
    for (const [L, eps] of [
      [3, 1e-3],
      [6, 1e-4],
    ]) {
      const r = await gradCheck(e, (x) => positionalEncoding(x, L), [{ shape: [16, 3], data: rand(48, 5 + L) }], {
        eps,
        probes: 24,
      });
      expect(r.worst, `octaves ${L}`).toBeLessThan(1e-2);
    }
  });

  it('rejects a bad octave count or rank', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const x = e.fromArray([2, 3], rand(6, 1));
      expect(() => positionalEncoding(x, -1)).toThrow(EngineError);
      expect(() => positionalEncoding(x, 1.5)).toThrow(/octaves/);
      expect(() => positionalEncoding(e.fromArray([6], rand(6, 1)), 2)).toThrow(/rank 2/);
    });
  });
});
