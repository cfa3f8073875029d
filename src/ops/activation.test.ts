import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { leakyRelu, sigmoid } from './activation';
import { scale } from './elementwise';

describe('activations', () => {
  it('compute leakyRelu and sigmoid forward', async () => {
    const e = await testEngine();
    const x = rand(2 * 3 * 5 * 7, 1, -4, 4);
    x[0] = 0;
    x[1] = -100;
    x[2] = 100;
    const tx = e.fromArray([2, 3, 5, 7], x);
    const [l2, l1, s] = await Promise.all([leakyRelu(tx).read(), leakyRelu(tx, 0.01).read(), sigmoid(tx).read()]);
    expect(
      maxAbsDiff(
        l2,
        [...x].map((v) => (v > 0 ? v : 0.2 * v)),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        l1,
        [...x].map((v) => (v > 0 ? v : 0.01 * v)),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(
        s,
        [...x].map((v) => 1 / (1 + Math.exp(-v))),
      ),
    ).toBeLessThan(1e-6);
    expect(s[1]).toBeGreaterThanOrEqual(0);
    expect(s[1]).toBeLessThan(1e-40);
    expect(s[2]).toBe(1);
  });

  it('have backward passes that match finite differences', async () => {
    const e = await testEngine();
    // Keep leakyRelu probes away from the kink at 0 (finite differences straddling it are meaningless).
    const x = rand(3 * 5 * 7, 2, -3, 3).map((v) => (Math.abs(v) < 0.05 ? v + Math.sign(v || 1) * 0.1 : v));
    const input = [{ shape: [1, 3, 5, 7], data: x }];
    const fns: Array<[string, (t: Tensor) => Tensor]> = [
      ['leakyRelu', (t) => leakyRelu(t)],
      ['leakyRelu(0.05)', (t) => leakyRelu(t, 0.05)],
      ['sigmoid', sigmoid],
    ];
    for (const [name, f] of fns) {
      const r = await gradCheck(e, f, input);
      expect(r.worst, name).toBeLessThan(1e-2);
    }
  });

  it('uses slope·gy at x = 0 like PyTorch', async () => {
    const e = await testEngine();
    const x = e.fromArray([3], [-1, 0, 2]);
    x.requiresGrad = true;
    const tape = Tape.start(e);
    const y = leakyRelu(x);
    tape.backward(y, e.fromArray([3], [1, 1, 1]));
    const g = await x.grad!.read();
    expect(maxAbsDiff(g, [0.2, 0.2, 1])).toBeLessThan(1e-7);
  });

  it('needs only its output for the backward (slope > 0): the input can be released first', async () => {
    const e = await testEngine();
    const x = e.fromArray([4], [-2, -0.5, 0.5, 3]);
    x.requiresGrad = true;
    const tape = Tape.start(e);
    const h = scale(x, 2); // an intermediate whose only consumer is the activation
    const y = leakyRelu(h, 0.1);
    h.release();
    tape.backward(y, e.fromArray([4], [1, 1, 1, 1]));
    expect(maxAbsDiff(await x.grad!.read(), [0.2, 0.2, 2, 2])).toBeLessThan(1e-7);
  });
});
