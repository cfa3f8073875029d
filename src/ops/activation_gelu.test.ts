import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { quickGelu } from './activation_gelu';

describe('quickGelu', () => {
  it('matches x·σ(1.702x) in float64, including large |x|', async () => {
    const e = await testEngine();
    const x = rand(1000, 91, -6, 6);
    x[0] = 100;
    x[1] = -100;
    const y = e.tidy(() => quickGelu(e.fromArray([10, 100], x)));
    const got = await y.read();
    y.release();
    const want = Array.from(x, (v) => v / (1 + Math.exp(-1.702 * v)));
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(e, quickGelu, [{ shape: [4, 9], data: rand(36, 92, -4, 4) }], { eps: 1e-3 });
    expect(r.worst).toBeLessThan(1e-2);
  });
});
