import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { mse } from './loss';

describe('mse', () => {
  it('is the mean of squared differences', async () => {
    const e = await testEngine();
    for (const shape of [
      [1, 3, 5, 7],
      [2, 4, 5, 7],
      [3, 100, 101],
    ]) {
      const n = shape.reduce((a, b) => a * b);
      const a = rand(n, 1);
      const b = rand(n, 2);
      let want = 0;
      for (let i = 0; i < n; i++) want += (a[i] - b[i]) ** 2;
      want /= n;
      const got = await mse(e.fromArray(shape, a), e.fromArray(shape, b)).item();
      expect(Math.abs(got - want)).toBeLessThan(1e-6 * want);
    }
  });

  it('has a backward for both inputs that matches finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(e, mse, [
      { shape: [2, 3, 5, 7], data: rand(210, 3) },
      { shape: [2, 3, 5, 7], data: rand(210, 4) },
    ]);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects shape mismatches with an EngineError', async () => {
    const e = await testEngine();
    expect(() => mse(e.fromArray([2, 3], rand(6, 1)), e.fromArray([3, 2], rand(6, 1)))).toThrow(EngineError);
    expect(() => mse(e.fromArray([2, 3], rand(6, 1)), e.fromArray([3, 2], rand(6, 1)))).toThrow(/\[2,3\] vs \[3,2\]/);
  });
});
