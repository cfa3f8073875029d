import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { colorMatrix, DECORR_RGB } from './color';

function colorRef(shape: number[], x: Float32Array, m: readonly number[]): Float64Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const out = Float64Array.from(x);
  for (let b = 0; b < n; b++) {
    for (let s = 0; s < hw; s++) {
      const at = (ch: number) => (b * c + ch) * hw + s;
      for (let r = 0; r < 3; r++) {
        out[at(r)] = m[3 * r] * x[at(0)] + m[3 * r + 1] * x[at(1)] + m[3 * r + 2] * x[at(2)];
      }
    }
  }
  return out;
}

describe('colorMatrix', () => {
  it('defines DECORR_RGB as Text2LIVE does', () => {
    const want = [0.562829, 0.31172, 0.069271, 0.584476, 0, -0.173178, 0.584476, -0.31172, 0.103907];
    expect(DECORR_RGB).toHaveLength(9);
    expect(maxAbsDiff(DECORR_RGB, want)).toBeLessThan(1e-6);
  });

  it('mixes channels 0..2 and passes the others through', async () => {
    const e = await testEngine();
    const m = [...rand(9, 7)];
    for (const [k, shape] of [
      [1, 3, 5, 7],
      [2, 4, 5, 7],
      [2, 5, 3, 2],
    ].entries()) {
      const x = rand(
        shape.reduce((a, b) => a * b),
        k + 1,
      );
      for (const mat of [m, DECORR_RGB]) {
        const y = await colorMatrix(e.fromArray(shape, x), mat).read();
        expect(maxAbsDiff(y, colorRef(shape, x, mat))).toBeLessThan(1e-6);
      }
    }
  });

  it('has a backward (Mᵀ) that matches finite differences', async () => {
    const e = await testEngine();
    const m = [...rand(9, 3)];
    for (const shape of [
      [1, 3, 5, 7],
      [2, 5, 3, 2],
    ]) {
      const r = await gradCheck(e, (x) => colorMatrix(x, m), [
        {
          shape,
          data: rand(
            shape.reduce((a, b) => a * b),
            4,
          ),
        },
      ]);
      expect(r.worst).toBeLessThan(1e-2);
    }
  });

  it('rejects fewer than 3 channels and bad matrices with an EngineError', async () => {
    const e = await testEngine();
    const dispatches = e.dispatchCount;
    expect(() => colorMatrix(e.fromArray([1, 2, 2, 2], rand(8, 1)), DECORR_RGB)).toThrow(EngineError);
    expect(() => colorMatrix(e.fromArray([1, 2, 2, 2], rand(8, 1)), DECORR_RGB)).toThrow(/\[1,2,2,2\]/);
    expect(() => colorMatrix(e.fromArray([3, 2, 2], rand(12, 1)), DECORR_RGB)).toThrow(EngineError);
    expect(() => colorMatrix(e.fromArray([1, 3, 2, 2], rand(12, 1)), [1, 0, 0])).toThrow(EngineError);
    expect(e.dispatchCount).toBe(dispatches);
  });
});
