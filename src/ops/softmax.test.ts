import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { Tape } from '../gpu/tape';
import { lanesPerRow } from './rowSegments';
import { softmax } from './softmax';

function refSoftmax(x: ArrayLike<number>, C: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += C) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[o + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[o + c] - m);
    for (let c = 0; c < C; c++) y[o + c] = Math.exp(x[o + c] - m) / s;
  }
  return y;
}

describe('softmax', () => {
  it('matches float64 on attention-sized rows, with large logits', async () => {
    const e = await testEngine();
    for (const [rows, C, scale] of [
      [37, 50, 1],
      [9, 71, 1],
      [3, 1000, 1],
      // exp(±500) overflows float32 unless the row max is subtracted.
      [20, 50, 500],
    ]) {
      const x = rand(rows * C, C + scale, -scale, scale);
      const y = e.tidy(() => softmax(e.fromArray([rows, C], x)));
      const got = await y.read();
      y.release();
      expect(got.every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(got, refSoftmax(x, C)), `rows ${rows} C ${C} scale ${scale}`).toBeLessThan(1e-6);
    }
  });

  it('picks lanes per row by width', () => {
    expect(lanesPerRow(7)).toBe(32);
    expect(lanesPerRow(71)).toBe(32);
    expect(lanesPerRow(200)).toBe(64);
    expect(lanesPerRow(3072)).toBe(256);
  });

  it('has a backward that matches finite differences and the exact adjoint', async () => {
    const e = await testEngine();
    const r = await gradCheck(e, softmax, [{ shape: [3, 2, 9], data: rand(54, 81, -2, 2) }], {
      eps: 1e-2,
      probes: 16,
    });
    expect(r.worst).toBeLessThan(1e-2);

    const [rows, C] = [40, 50];
    const x = rand(rows * C, 82, -3, 3);
    const g = rand(rows * C, 83);
    const dx = e.tidy(() => {
      const t = e.fromArray([rows, C], x);
      t.requiresGrad = true;
      const tape = Tape.start(e);
      const y = softmax(t);
      tape.backward(y, e.fromArray(y.shape, g));
      return t.grad!;
    });
    const y = refSoftmax(x, C);
    const want = new Float64Array(rows * C);
    for (let o = 0; o < rows * C; o += C) {
      let d = 0;
      for (let c = 0; c < C; c++) d += g[o + c] * y[o + c];
      for (let c = 0; c < C; c++) want[o + c] = y[o + c] * (g[o + c] - d);
    }
    expect(maxAbsDiff(await dx.read(), want) / maxAbs(want)).toBeLessThan(1e-4);
    dx.release();
  });
});
