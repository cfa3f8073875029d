import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { linear, matmul } from './matmul';

/** Float64 reference: C_z = op(A_z)·op(B_z) with A_z/B_z read from flat storage (bStride 0 broadcasts). */
function refMatmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
  bBroadcast: boolean,
): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K;
    const bo = bBroadcast ? 0 : z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = tA ? a[ao + k * M + m] : a[ao + m * K + k];
          const bv = tB ? b[bo + n * K + k] : b[bo + k * N + n];
          s += av * bv;
        }
        c[z * M * N + m * N + n] = s;
      }
    }
  }
  return c;
}

/** Exact adjoints of L = Σ C⊙G for C = op(A)·op(B) (float64). */
function refMatmulGrads(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  g: ArrayLike<number>,
  batch: number,
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
  bBroadcast: boolean,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(batch * M * K);
  const db = new Float64Array(bBroadcast ? K * N : batch * K * N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K;
    const bo = bBroadcast ? 0 : z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const gv = g[z * M * N + m * N + n];
        for (let k = 0; k < K; k++) {
          const ai = tA ? ao + k * M + m : ao + m * K + k;
          const bi = tB ? bo + n * K + k : bo + k * N + n;
          da[ai] += gv * b[bi];
          db[bi] += gv * a[ai];
        }
      }
    }
  }
  return { da, db };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-12);
}

interface Case {
  M: number;
  N: number;
  K: number;
}

// Not multiples of the tile (or of 4: scalar loads and stores), spanning several tiles in M, N and K;
// and a multiple-of-4 case for the vec4 paths.
const CASES: Case[] = [
  { M: 70, N: 66, K: 37 },
  { M: 68, N: 72, K: 36 },
];

describe('matmul', () => {
  it('matches float64 forward and exact adjoints for every transpose, batched and broadcast', async () => {
    const e = await testEngine();
    for (const { M, N, K } of CASES) {
      for (const bBroadcast of [false, true]) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const batch = 3;
            const aData = rand(batch * M * K, 11 + M + K);
            const bData = rand((bBroadcast ? 1 : batch) * K * N, 12 + N);
            const gData = rand(batch * M * N, 13);
            const aShape = tA ? [batch, K, M] : [batch, M, K];
            const bMat = tB ? [N, K] : [K, N];
            const bShape = bBroadcast ? bMat : [batch, ...bMat];
            const { y, ga, gb } = await e.tidy(() => {
              const a = e.fromArray(aShape, aData);
              const b = e.fromArray(bShape, bData);
              a.requiresGrad = true;
              b.requiresGrad = true;
              const tape = Tape.start(e);
              const out = matmul(a, b, { transA: tA, transB: tB });
              expect(out.shape).toEqual([batch, M, N]);
              tape.backward(out, e.fromArray(out.shape, gData));
              return { y: out, ga: a.grad!, gb: b.grad! };
            });
            const tag = `M${M} N${N} K${K} tA=${tA} tB=${tB} broadcast=${bBroadcast}`;
            const want = refMatmul(aData, bData, batch, M, N, K, tA, tB, bBroadcast);
            const grads = refMatmulGrads(aData, bData, gData, batch, M, N, K, tA, tB, bBroadcast);
            expect(relErr(await y.read(), want), tag).toBeLessThan(1e-5);
            expect(ga.shape, tag).toEqual(aShape);
            expect(gb.shape, tag).toEqual(bShape);
            expect(relErr(await ga.read(), grads.da), `${tag} dA`).toBeLessThan(1e-4);
            expect(relErr(await gb.read(), grads.db), `${tag} dB`).toBeLessThan(1e-4);
            for (const t of [y, ga, gb]) t.release();
          }
        }
      }
    }
  });

  it('broadcasts a shared matrix over several batch dims and handles plain 2-D products', async () => {
    const e = await testEngine();
    const [M, N, K] = [5, 9, 7];
    const aData = rand(2 * 3 * M * K, 21);
    const bData = rand(K * N, 22);
    const y4 = await e.tidy(() => matmul(e.fromArray([2, 3, M, K], aData), e.fromArray([K, N], bData)));
    expect(y4.shape).toEqual([2, 3, M, N]);
    expect(relErr(await y4.read(), refMatmul(aData, bData, 6, M, N, K, false, false, true))).toBeLessThan(1e-5);
    y4.release();
    const y2 = await e.tidy(() =>
      matmul(e.fromArray([M, K], aData.subarray(0, M * K)), e.fromArray([K, N], bData), { alpha: 0.25 }),
    );
    const want2 = refMatmul(aData, bData, 1, M, N, K, false, false, true).map((v) => 0.25 * v);
    expect(relErr(await y2.read(), want2)).toBeLessThan(1e-5);
    y2.release();
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    for (const [tA, tB] of [
      [false, false],
      [true, true],
    ]) {
      // Dims that are not multiples of 4 reuse the kernels compiled above (SwiftShader compiles slowly).
      const aShape = tA ? [2, 5, 3] : [2, 3, 5];
      const bShape = tB ? [7, 5] : [5, 7];
      const r = await gradCheck(
        e,
        (a: Tensor, b: Tensor) => matmul(a, b, { transA: tA, transB: tB, alpha: tA ? 0.125 : 1 }),
        [
          { shape: aShape, data: rand(30, 31) },
          { shape: bShape, data: rand(35, 32) },
        ],
        { probes: 12 },
      );
      expect(r.worst).toBeLessThan(1e-2);
    }
  });

  it('throws EngineError on bad shapes before any GPU work', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const a = e.fromArray([2, 3, 4], rand(24, 1));
      const count = e.dispatchCount;
      expect(() => matmul(a, e.fromArray([5, 6], rand(30, 2)))).toThrow(EngineError);
      expect(() => matmul(a, e.fromArray([5, 6], rand(30, 2)))).toThrow(/K 4 vs 5/);
      expect(() => matmul(a, e.fromArray([3, 4, 6], rand(72, 3)))).toThrow(/batch dims differ/);
      expect(() => matmul(e.fromArray([4], rand(4, 4)), a)).toThrow(EngineError);
      expect(() => linear(a, e.fromArray([6, 5], rand(30, 5)), null)).toThrow(/in-features/);
      expect(() => linear(a, e.fromArray([6, 4], rand(24, 5)), e.fromArray([5], rand(5, 6)))).toThrow(/bias/);
      expect(e.dispatchCount).toBe(count);
    });
  });
});

describe('linear', () => {
  /** y = x·Wᵀ + b and exact adjoints for seed G (float64). */
  function refLinear(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    g: Float32Array,
    R: number,
    inF: number,
    outF: number,
  ) {
    const y = refMatmul(x, w, 1, R, outF, inF, false, true, true);
    if (bias) for (let r = 0; r < R; r++) for (let o = 0; o < outF; o++) y[r * outF + o] += bias[o];
    const { da: dx, db: dw } = refMatmulGrads(x, w, g, 1, R, outF, inF, false, true, true);
    const db = new Float64Array(outF);
    for (let r = 0; r < R; r++) for (let o = 0; o < outF; o++) db[o] += g[r * outF + o];
    return { y, dx, dw, db };
  }

  it('matches float64 forward and exact adjoints with and without bias (multi-tile)', async () => {
    const e = await testEngine();
    // 2·150 = 300 rows: several row tiles and a two-stage bias reduction.
    const [B, T, inF, outF] = [2, 150, 37, 70];
    const R = B * T;
    const xData = rand(R * inF, 41);
    const wData = rand(outF * inF, 42);
    const bData = rand(outF, 43);
    const gData = rand(R * outF, 44);
    for (const withBias of [true, false]) {
      const res = await e.tidy(() => {
        const x = e.fromArray([B, T, inF], xData);
        const w = e.fromArray([outF, inF], wData);
        const b = withBias ? e.fromArray([outF], bData) : null;
        for (const t of [x, w, b]) if (t) t.requiresGrad = true;
        const tape = Tape.start(e);
        const y = linear(x, w, b);
        tape.backward(y, e.fromArray(y.shape, gData));
        return { y, dx: x.grad!, dw: w.grad!, db: b?.grad ?? null };
      });
      const want = refLinear(xData, wData, withBias ? bData : null, gData, R, inF, outF);
      expect(res.y.shape).toEqual([B, T, outF]);
      expect(relErr(await res.y.read(), want.y)).toBeLessThan(1e-5);
      expect(relErr(await res.dx.read(), want.dx)).toBeLessThan(1e-4);
      expect(relErr(await res.dw.read(), want.dw)).toBeLessThan(1e-4);
      if (withBias) expect(relErr(await res.db!.read(), want.db)).toBeLessThan(1e-4);
      for (const t of [res.y, res.dx, res.dw, res.db]) t?.release();
    }
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(
      e,
      (x: Tensor, w: Tensor, b: Tensor) => linear(x, w, b),
      [
        { shape: [2, 3, 5], data: rand(30, 51) },
        { shape: [6, 5], data: rand(30, 52) },
        { shape: [6], data: rand(6, 53) },
      ],
      { probes: 12 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });
});
