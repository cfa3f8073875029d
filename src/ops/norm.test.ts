import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { batchNorm, bnChunks } from './norm';

type Shape = [number, number, number, number];

/** Float64 BatchNorm2d (training mode) forward and backward. */
function bnRef(shape: Shape, x: Float32Array, gamma: Float32Array, beta: Float32Array, gy: Float32Array, eps = 1e-5) {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const m = n * hw;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const idx: number[] = [];
    for (let b = 0; b < n; b++) for (let s = 0; s < hw; s++) idx.push((b * c + ch) * hw + s);
    let mu = 0;
    for (const i of idx) mu += x[i];
    mu /= m;
    let v = 0;
    for (const i of idx) v += (x[i] - mu) ** 2;
    v /= m;
    const inv = 1 / Math.sqrt(v + eps);
    let sg = 0;
    let sgx = 0;
    for (const i of idx) {
      const xhat = (x[i] - mu) * inv;
      y[i] = gamma[ch] * xhat + beta[ch];
      sg += gy[i];
      sgx += gy[i] * xhat;
    }
    dbeta[ch] = sg;
    dgamma[ch] = sgx;
    for (const i of idx) {
      const xhat = (x[i] - mu) * inv;
      dx[i] = ((gamma[ch] * inv) / m) * (m * gy[i] - sg - xhat * sgx);
    }
  }
  return { y, dx, dgamma, dbeta };
}

/** Runs batchNorm on the GPU with a tape and returns the output and the gradients for the seed gy. */
async function bnGpu(
  e: Engine,
  shape: Shape,
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  gy: Float32Array,
) {
  return e.tidy(() => {
    const tx = e.fromArray(shape, x);
    const tg = e.fromArray([shape[1]], gamma);
    const tb = e.fromArray([shape[1]], beta);
    for (const t of [tx, tg, tb]) t.requiresGrad = true;
    const tape = Tape.start(e);
    const y = batchNorm(tx, tg, tb);
    const seed = e.fromArray(shape, gy);
    tape.backward(y, seed);
    return { y, dx: tx.grad!, dgamma: tg.grad!, dbeta: tb.grad! };
  });
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-12);
}

describe('batchNorm', () => {
  it('matches a float64 reference forward and backward on small odd shapes', async () => {
    const e = await testEngine();
    const cases: Array<{ shape: Shape; offset: number }> = [
      { shape: [1, 3, 5, 7], offset: 0 },
      { shape: [2, 4, 5, 7], offset: 0 },
      { shape: [2, 5, 3, 1], offset: 0 },
      // A large common offset: naive Σx² − (Σx)²/M would lose most digits here.
      { shape: [2, 3, 5, 7], offset: 100 },
    ];
    for (const [k, { shape, offset }] of cases.entries()) {
      const size = shape.reduce((a, b) => a * b);
      const x = rand(size, 10 + k, -2 + offset, 2 + offset);
      const gamma = rand(shape[1], 20 + k, 0.5, 1.5);
      const beta = rand(shape[1], 30 + k);
      const gy = rand(size, 40 + k);
      const ref = bnRef(shape, x, gamma, beta, gy);
      const got = await bnGpu(e, shape, x, gamma, beta, gy);
      const [y, dx, dgamma, dbeta] = await Promise.all([
        got.y.read(),
        got.dx.read(),
        got.dgamma.read(),
        got.dbeta.read(),
      ]);
      // fp32 inputs near 100 carry ~4e-6 absolute error, which becomes ~4e-6/σ in x̂.
      const tol = offset ? 1e-4 : 1e-5;
      expect(maxAbsDiff(y, ref.y)).toBeLessThan(tol * 5);
      expect(relErr(dx, ref.dx)).toBeLessThan(1e-4);
      expect(relErr(dgamma, ref.dgamma)).toBeLessThan(1e-4);
      expect(relErr(dbeta, ref.dbeta)).toBeLessThan(1e-5);
      for (const t of Object.values(got)) t.release();
    }
  });

  it('uses the multi-workgroup reduction on a 300×300 plane and still matches float64', async () => {
    const e = await testEngine();
    const shape: Shape = [1, 2, 300, 300];
    expect(bnChunks(300 * 300).groups).toBeGreaterThan(1);
    const size = 2 * 300 * 300;
    const x = rand(size, 5, -1, 3);
    // Channel 1 gets a different scale so the two channels have distinct statistics.
    for (let i = size / 2; i < size; i++) x[i] = 10 * x[i] - 4;
    const gamma = Float32Array.from([1.3, -0.7]);
    const beta = Float32Array.from([0.2, 0.5]);
    const gy = rand(size, 6);
    const ref = bnRef(shape, x, gamma, beta, gy);
    const got = await bnGpu(e, shape, x, gamma, beta, gy);
    const [y, dx, dgamma, dbeta] = await Promise.all([
      got.y.read(),
      got.dx.read(),
      got.dgamma.read(),
      got.dbeta.read(),
    ]);
    expect(maxAbsDiff(y, ref.y)).toBeLessThan(1e-4);
    expect(relErr(dx, ref.dx)).toBeLessThan(1e-4);
    expect(relErr(dgamma, ref.dgamma)).toBeLessThan(1e-4);
    expect(relErr(dbeta, ref.dbeta)).toBeLessThan(1e-4);
    for (const t of Object.values(got)) t.release();
  });

  it('has a backward that matches finite differences for x, gamma and beta', async () => {
    const e = await testEngine();
    for (const [k, shape] of (
      [
        [1, 3, 5, 7],
        [2, 4, 3, 5],
      ] as Shape[]
    ).entries()) {
      const size = shape.reduce((a, b) => a * b);
      const r = await gradCheck(
        e,
        (x, g, b) => batchNorm(x, g, b),
        [
          { shape, data: rand(size, 50 + k, -2, 2) },
          { shape: [shape[1]], data: rand(shape[1], 60 + k, 0.5, 1.5) },
          { shape: [shape[1]], data: rand(shape[1], 70 + k) },
        ],
        { eps: 1e-2 },
      );
      expect(r.worst).toBeLessThan(1e-2);
    }
  });

  it('returns gradients only for inputs that require them and releases its statistics', async () => {
    const e = await testEngine();
    const shape: Shape = [1, 3, 4, 4];
    const x = e.fromArray(shape, rand(48, 1)).keep();
    const g = e.fromArray([3], [1, 2, 3]).keep();
    const b = e.fromArray([3], [0, 0, 0]).keep();
    g.requiresGrad = true;
    const before = e.pool.stats().liveBytes;
    await e.tidy(async () => {
      const tape = Tape.start(e);
      const y = batchNorm(x, g, b);
      const grads = tape.backward(y, e.fromArray(shape, rand(48, 2)));
      expect([...grads.keys()]).toEqual([g]);
      expect(x.grad).toBeNull();
      expect(b.grad).toBeNull();
      await g.grad!.read();
      g.grad!.release();
    });
    e.noGrad(() => e.tidy(() => batchNorm(x, g, b).release()));
    await e.sync();
    expect(e.pool.stats().liveBytes).toBe(before);
    for (const t of [x, g, b]) t.release();
  });

  it('rejects bad shapes with an EngineError before any GPU work', async () => {
    const e = await testEngine();
    const x = e.fromArray([2, 3, 2, 2], rand(24, 1));
    const g3 = e.fromArray([3], [1, 1, 1]);
    const g4 = e.fromArray([4], [1, 1, 1, 1]);
    const dispatches = e.dispatchCount;
    expect(() => batchNorm(x, g4, g3)).toThrow(EngineError);
    expect(() => batchNorm(x, g4, g3)).toThrow(/gamma \[4\].*\[2,3,2,2\]/);
    expect(() => batchNorm(x, g3, g4)).toThrow(/beta/);
    expect(() => batchNorm(e.fromArray([3, 4], rand(12, 2)), g3, g3)).toThrow(EngineError);
    expect(() => batchNorm(e.fromArray([1, 3, 1, 1], [1, 2, 3]), g3, g3)).toThrow(/more than 1 value/);
    expect(e.dispatchCount).toBe(dispatches);
  });
});
