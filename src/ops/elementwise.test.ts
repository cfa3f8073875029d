import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import { Tape } from '../gpu/tape';
import { add, affine, mul, scale, sub } from './elementwise';

describe('elementwise ops', () => {
  it('computes add, sub, mul and affine forward', async () => {
    const e = await testEngine();
    const a = rand(1000, 1);
    const b = rand(1000, 2);
    const [ta, tb] = [e.fromArray([10, 100], a), e.fromArray([10, 100], b)];
    const [s, d, m, f] = await Promise.all([
      add(ta, tb).read(),
      sub(ta, tb).read(),
      mul(ta, tb).read(),
      affine(ta, 3, 0.5).read(),
    ]);
    for (let i = 0; i < 1000; i++) {
      expect(s[i]).toBeCloseTo(a[i] + b[i], 6);
      expect(d[i]).toBeCloseTo(a[i] - b[i], 6);
      expect(m[i]).toBeCloseTo(a[i] * b[i], 6);
      expect(f[i]).toBeCloseTo(3 * a[i] + 0.5, 5);
    }
  });

  it('has backward passes that match finite differences', async () => {
    const e = await testEngine();
    const inputs = [
      { shape: [3, 7], data: rand(21, 3) },
      { shape: [3, 7], data: rand(21, 4) },
    ];
    for (const f of [
      add,
      sub,
      mul,
      (x: typeof inputs extends never ? never : Parameters<typeof add>[0], y: Parameters<typeof add>[0]) =>
        scale(mul(x, add(x, y)), -2),
    ]) {
      const r = await gradCheck(e, f, inputs);
      expect(r.worst).toBeLessThan(1e-3);
    }
  });

  it('accumulates gradients of a tensor used twice and releases intermediates', async () => {
    const e = await testEngine();
    const x = e.fromArray([4], [1, 2, 3, 4]).keep();
    x.requiresGrad = true;
    const before = e.pool.stats().liveBytes;
    const g = await e.tidy(() => {
      const tape = Tape.start(e);
      const y = mul(x, x); // dy/dx = 2x
      const z = add(y, x); // dz/dx = 2x + 1
      const ones = e.fromArray([4], [1, 1, 1, 1]);
      tape.backward(z, ones);
      return x.grad!;
    });
    expect([...(await g.read())]).toEqual([3, 5, 7, 9]);
    g.release();
    expect(e.pool.stats().liveBytes).toBe(before);
    x.release();
  });
});
