import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { columnSum, layerNorm } from './layernorm';

/** Float64 LayerNorm forward and exact adjoints for seed g. */
function refLayerNorm(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  g: Float32Array,
  C: number,
  eps: number,
): { y: Float64Array; dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const rows = x.length / C;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[o + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[o + c] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    const xh = new Float64Array(C);
    let s1 = 0;
    let s2 = 0;
    for (let c = 0; c < C; c++) {
      xh[c] = (x[o + c] - mean) * rstd;
      y[o + c] = xh[c] * gamma[c] + beta[c];
      const gh = g[o + c] * gamma[c];
      s1 += gh;
      s2 += gh * xh[c];
      dgamma[c] += g[o + c] * xh[c];
      dbeta[c] += g[o + c];
    }
    for (let c = 0; c < C; c++) dx[o + c] = rstd * (g[o + c] * gamma[c] - s1 / C - (xh[c] * s2) / C);
  }
  return { y, dx, dgamma, dbeta };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-12);
}

describe('layerNorm', () => {
  it('matches float64 forward and exact adjoints (widths 7, 32, 300, 768 and 3072)', async () => {
    const e = await testEngine();
    // 300 rows of width 7 exercise the two-stage γ/β reduction; 3072 is CLIP's MLP width, 768 ViT-B's, 32 the
    // tiny CLIP's (8 rows per workgroup, the last workgroup partly empty).
    for (const [rows, C] of [
      [300, 7],
      [77, 32],
      [5, 300],
      [50, 768],
      [3, 3072],
    ]) {
      const xData = rand(rows * C, C, -2, 3);
      const gData = rand(C, C + 1, 0.5, 1.5);
      const bData = rand(C, C + 2);
      const seed = rand(rows * C, C + 3);
      const res = await e.tidy(() => {
        const x = e.fromArray([rows, C], xData);
        const gamma = e.fromArray([C], gData);
        const beta = e.fromArray([C], bData);
        for (const t of [x, gamma, beta]) t.requiresGrad = true;
        const tape = Tape.start(e);
        const y = layerNorm(x, gamma, beta);
        tape.backward(y, e.fromArray(y.shape, seed));
        return { y, dx: x.grad!, dgamma: gamma.grad!, dbeta: beta.grad! };
      });
      const want = refLayerNorm(xData, gData, bData, seed, C, 1e-5);
      const tag = `rows ${rows} C ${C}`;
      expect(relErr(await res.y.read(), want.y), tag).toBeLessThan(1e-5);
      expect(relErr(await res.dx.read(), want.dx), tag).toBeLessThan(1e-4);
      expect(relErr(await res.dgamma.read(), want.dgamma), tag).toBeLessThan(1e-4);
      expect(relErr(await res.dbeta.read(), want.dbeta), tag).toBeLessThan(1e-4);
      for (const t of Object.values(res)) t.release();
    }
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(
      e,
      (x: Tensor, g: Tensor, b: Tensor) => layerNorm(x, g, b),
      [
        { shape: [2, 3, 7], data: rand(42, 61) },
        { shape: [7], data: rand(7, 62, 0.5, 1.5) },
        { shape: [7], data: rand(7, 63) },
      ],
      { eps: 1e-2, probes: 16 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('releases its saved statistics when not recording', async () => {
    const e = await testEngine();
    const x = e.fromArray([4, 7], rand(28, 71)).keep();
    const g = e.fromArray([7], rand(7, 72)).keep();
    const b = e.fromArray([7], rand(7, 73)).keep();
    const before = e.pool.stats().liveBytes;
    const y = layerNorm(x, g, b);
    expect(e.pool.stats().liveBytes - before).toBeLessThanOrEqual(256);
    y.release();
    for (const t of [x, g, b]) t.release();
  });

  it('throws EngineError on mismatched γ/β', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const x = e.fromArray([2, 5], rand(10, 1));
      expect(() => layerNorm(x, e.fromArray([4], rand(4, 2)), e.fromArray([5], rand(5, 3)))).toThrow(EngineError);
      expect(() => layerNorm(x, e.fromArray([5], rand(5, 2)), e.fromArray([2, 5], rand(10, 3)))).toThrow(/beta/);
    });
  });
});

describe('columnSum', () => {
  it('sums rows in one or two stages', async () => {
    const e = await testEngine();
    for (const [rows, C] of [
      [3, 70],
      [1000, 5],
    ]) {
      const data = rand(rows * C, rows);
      const want = new Float64Array(C);
      for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) want[c] += data[r * C + c];
      const out = e.tidy(() => columnSum(e.fromArray([rows, C], data), rows, C));
      expect(relErr(await out.read(), want)).toBeLessThan(1e-5);
      out.release();
    }
  });
});
