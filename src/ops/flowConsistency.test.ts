import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { weightedAbsDifference, weightedPointDistance } from './flowConsistency';

type Loss = (a: Tensor, b: Tensor, w: Tensor) => Tensor;

/** Loss and the three gradients, read back. */
async function run(e: Engine, f: Loss, shapes: number[][], datas: Float32Array[]) {
  const res = e.tidy(() => {
    const ts = datas.map((d, k) => e.fromArray(shapes[k], d));
    for (const t of ts) t.requiresGrad = true;
    const tape = Tape.start(e);
    const loss = f(ts[0], ts[1], ts[2]);
    tape.backward(loss);
    return { loss, grads: ts.map((t) => t.grad!) };
  });
  const out = { loss: await res.loss.item(), grads: await Promise.all(res.grads.map((g) => g.read())) };
  for (const t of [res.loss, ...res.grads]) t.release();
  return out;
}

describe('weightedPointDistance', () => {
  const N = 40;
  const a = rand(2 * N, 1);
  const b = rand(2 * N, 2);
  // Rows 0–3 coincide (a = b), the weights include zeros (invalid flow) and alpha-like values.
  for (let k = 0; k < 8; k++) b[k] = a[k];
  const w = rand(N, 3, 0, 1).map((v, n) => (n % 7 === 3 ? 0 : v));

  it('is Σ w·‖a − b‖ / N with gradients (w·(a − b)/‖a − b‖, its negative, ‖a − b‖) / N, 0 where a = b', async () => {
    const e = await testEngine();
    const got = await run(e, weightedPointDistance, [[N, 2], [N, 2], [N]], [a, b, w]);
    const len = Array.from({ length: N }, (_, n) => Math.hypot(a[2 * n] - b[2 * n], a[2 * n + 1] - b[2 * n + 1]));
    const want = len.reduce((s, l, n) => s + w[n] * l, 0) / N;
    expect(Math.abs(got.loss - want) / want).toBeLessThan(1e-5);
    const ga = Float64Array.from(a, (v, i) => {
      const n = Math.floor(i / 2);
      return len[n] > 0 ? (w[n] * (v - b[i])) / len[n] / N : 0;
    });
    expect(maxAbsDiff(got.grads[0], ga)).toBeLessThan(1e-7);
    expect(
      maxAbsDiff(
        got.grads[1],
        ga.map((v) => -v),
      ),
    ).toBeLessThan(1e-7);
    expect(
      maxAbsDiff(
        got.grads[2],
        len.map((l) => l / N),
      ),
    ).toBeLessThan(1e-7);
    // The coinciding rows have a zero (not NaN) gradient.
    expect(Array.from(got.grads[0].slice(0, 8))).toEqual(new Array(8).fill(0));
  });

  it('takes [N, 1] weights (an MLP output) too', async () => {
    const e = await testEngine();
    const flat = await run(e, weightedPointDistance, [[N, 2], [N, 2], [N]], [a, b, w]);
    const column = await run(
      e,
      weightedPointDistance,
      [
        [N, 2],
        [N, 2],
        [N, 1],
      ],
      [a, b, w],
    );
    expect(column.loss).toBe(flat.loss);
    expect(column.grads[2]).toEqual(flat.grads[2]);
  });

  it('has a backward that matches central finite differences', async () => {
    const e = await testEngine();
    // Away from a = b, where the norm is not differentiable.
    const r = await gradCheck(e, weightedPointDistance, [
      { shape: [16, 2], data: rand(32, 4) },
      { shape: [16, 2], data: rand(32, 5).map((v) => v + 2) },
      { shape: [16], data: rand(16, 6, 0, 1) },
    ]);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects mismatched shapes', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const p = e.fromArray([4, 2], rand(8, 1));
      expect(() => weightedPointDistance(p, e.fromArray([2, 4], rand(8, 1)), e.fromArray([4], rand(4, 1)))).toThrow(
        EngineError,
      );
      expect(() => weightedPointDistance(p, p, e.fromArray([3], rand(3, 1)))).toThrow(/weight must hold 4/);
      const q = e.fromArray([2, 4], rand(8, 1));
      expect(() => weightedPointDistance(q, q, e.fromArray([2], rand(2, 1)))).toThrow(/\[N,2\]/);
    });
  });
});

describe('weightedAbsDifference', () => {
  it('is Σ w·|a − b| / N with gradients (w·sgn(a − b), its negative, |a − b|) / N, 0 where a = b', async () => {
    const e = await testEngine();
    const N = 50;
    const a = rand(N, 7, 0, 1);
    const b = rand(N, 8, 0, 1);
    for (let n = 0; n < 5; n++) b[n] = a[n];
    const w = rand(N, 9, 0, 1);
    const got = await run(e, weightedAbsDifference, [[N], [N], [N]], [a, b, w]);
    const want = Array.from(a).reduce((s, v, n) => s + w[n] * Math.abs(v - b[n]), 0) / N;
    expect(Math.abs(got.loss - want) / want).toBeLessThan(1e-5);
    const ga = Float64Array.from(a, (v, n) => (w[n] * Math.sign(v - b[n])) / N);
    expect(maxAbsDiff(got.grads[0], ga)).toBeLessThan(1e-7);
    expect(
      maxAbsDiff(
        got.grads[1],
        ga.map((v) => -v),
      ),
    ).toBeLessThan(1e-7);
    expect(
      maxAbsDiff(
        got.grads[2],
        Float64Array.from(a, (v, n) => Math.abs(v - b[n]) / N),
      ),
    ).toBeLessThan(1e-7);
    expect(Array.from(got.grads[0].slice(0, 5))).toEqual([0, 0, 0, 0, 0]);
  });

  it('has a backward that matches central finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(e, weightedAbsDifference, [
      { shape: [24, 1], data: rand(24, 10, 0, 1) },
      { shape: [24, 1], data: rand(24, 11, 0, 1).map((v, n) => (n % 2 ? v + 1.5 : v - 1.5)) },
      { shape: [24], data: rand(24, 12, 0, 1) },
    ]);
    expect(r.worst).toBeLessThan(1e-2);
  });
});
