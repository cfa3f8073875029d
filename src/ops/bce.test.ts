import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { BCE_EPS, bceLoss } from './bce';

/** Float64 reference: mean of −w·(t·log q + (1 − t)·log(1 − q)), q = clamp(p) (p rounded to float32 first). */
function reference(p: Float32Array, t: Float32Array, w: Float32Array | null, eps = Math.fround(BCE_EPS)) {
  const N = p.length;
  const hi = Math.fround(1 - eps);
  let loss = 0;
  const gp = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const q = Math.min(Math.max(p[n], eps), hi);
    const wn = w ? w[n] : 1;
    loss += -wn * (t[n] * Math.log(q) + (1 - t[n]) * Math.log(1 - q));
    gp[n] = p[n] >= eps && p[n] <= hi ? (-wn * (t[n] / q - (1 - t[n]) / (1 - q))) / N : 0;
  }
  return { loss: loss / N, gp };
}

async function run(e: Engine, p: Float32Array, t: Float32Array, w: Float32Array | null) {
  const N = p.length;
  const res = e.tidy(() => {
    const tp = e.fromArray([N], p);
    tp.requiresGrad = true;
    const tape = Tape.start(e);
    const loss = bceLoss(tp, e.fromArray([N], t), w ? e.fromArray([N, 1], w) : undefined);
    tape.backward(loss);
    return { loss, gp: tp.grad! };
  });
  const out = { loss: await res.loss.item(), gp: await res.gp.read() };
  res.loss.release();
  res.gp.release();
  return out;
}

describe('bceLoss', () => {
  // Probabilities at and past the clamp (0, 1, 1e-9, 1 − 1e-9 = 1 in float32, ε itself), and ordinary ones.
  const N = 32;
  const p = rand(N, 1, 0.01, 0.99);
  p.set([0, 1, 1e-9, 1 - 1e-9, BCE_EPS, 1 - BCE_EPS, 1e-3, 0.999]);
  const t = rand(N, 2, 0, 1);
  t.set([0, 1, 1, 0, 0.5, 0.5, 1, 0]);
  const w = rand(N, 3, 0, 2);

  it('matches the clamped float64 reference, weighted and unweighted, with finite values at p = 0 and 1', async () => {
    const e = await testEngine();
    for (const weight of [null, w]) {
      const got = await run(e, p, t, weight);
      const want = reference(p, t, weight);
      expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.gp, want.gp) / maxAbs(want.gp)).toBeLessThan(1e-5);
      expect(got.gp.every(Number.isFinite)).toBe(true);
      // Outside [ε, 1 − ε] the clamp passes no gradient; at ε itself it does.
      expect(Array.from(got.gp.slice(0, 4))).toEqual([0, 0, 0, 0]);
      expect(got.gp[4]).not.toBe(0);
    }
  });

  it('is about −log(ε) for a confidently wrong prediction and about 0 for a right one', async () => {
    const e = await testEngine();
    const wrong = await run(e, new Float32Array([0, 1]), new Float32Array([1, 0]), null);
    // 1 − ε rounds to float32, so the second term is −log(1 − fround(1 − ε)), not exactly −log ε.
    const eps = Math.fround(BCE_EPS);
    const want = (-Math.log(eps) - Math.log(1 - Math.fround(1 - eps))) / 2;
    expect(Math.abs(wrong.loss - want) / want).toBeLessThan(1e-5);
    expect(wrong.loss).toBeCloseTo(-Math.log(BCE_EPS), 1);
    const right = await run(e, new Float32Array([0, 1]), new Float32Array([0, 1]), null);
    expect(right.loss).toBeLessThan(2e-6);
  });

  it('has a backward to p, the target and the weight that matches central finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(
      e,
      (a, b, c) => bceLoss(a, b, c),
      [
        { shape: [16], data: rand(16, 4, 0.1, 0.9) },
        { shape: [16], data: rand(16, 5, 0, 1) },
        { shape: [16], data: rand(16, 6, 0, 2) },
      ],
      { eps: 1e-3 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects mismatched shapes and a bad eps', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const a = e.fromArray([4], rand(4, 1, 0, 1));
      expect(() => bceLoss(a, e.fromArray([2, 2], rand(4, 1)))).toThrow(EngineError);
      expect(() => bceLoss(a, a, e.fromArray([3], rand(3, 1)))).toThrow(/weight must hold 4/);
      expect(() => bceLoss(a, a, undefined, 0)).toThrow(/eps/);
    });
  });
});
