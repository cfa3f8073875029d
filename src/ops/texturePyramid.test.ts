import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { texturePyramidSample } from './texturePyramid';

interface Level {
  C: number;
  H: number;
  W: number;
  data: Float32Array;
}

/** Border-padded, align_corners=False taps along one axis (float64), with ∂x/∂t (0 outside the clamp). */
function axis(t: number, size: number) {
  const x = ((t + 1) * size - 1) / 2;
  const xc = Math.min(Math.max(x, 0), size - 1);
  const i0 = Math.min(Math.floor(xc), size - 1);
  return { i0, i1: Math.min(i0 + 1, size - 1), f: xc - i0, d: x > 0 && x < size - 1 ? size / 2 : 0 };
}

/** Float64 forward and exact adjoints for output gradient g [N, C]. */
function reference(levels: Level[], uv: Float32Array, g: Float32Array) {
  const N = uv.length / 2;
  const C = levels[0].C;
  const out = new Float64Array(N * C);
  const guv = new Float64Array(N * 2);
  const gt = levels.map((l) => new Float64Array(l.data.length));
  levels.forEach(({ H, W, data }, l) => {
    for (let n = 0; n < N; n++) {
      const ax = axis(uv[2 * n], W);
      const ay = axis(uv[2 * n + 1], H);
      for (let c = 0; c < C; c++) {
        const at = (y: number, x: number) => (c * H + y) * W + x;
        const taps = [
          [at(ay.i0, ax.i0), (1 - ax.f) * (1 - ay.f)],
          [at(ay.i0, ax.i1), ax.f * (1 - ay.f)],
          [at(ay.i1, ax.i0), (1 - ax.f) * ay.f],
          [at(ay.i1, ax.i1), ax.f * ay.f],
        ];
        const gy = g[n * C + c];
        for (const [k, w] of taps) {
          out[n * C + c] += w * data[k];
          gt[l][k] += w * gy;
        }
        const [v00, v01, v10, v11] = taps.map(([k]) => data[k]);
        guv[2 * n] += gy * ax.d * ((1 - ay.f) * (v01 - v00) + ay.f * (v11 - v10));
        guv[2 * n + 1] += gy * ay.d * ((1 - ax.f) * (v10 - v00) + ax.f * (v11 - v01));
      }
    }
  });
  return { out, guv, gt };
}

function makeLevels(C: number, sizes: Array<[number, number]>, seed: number): Level[] {
  return sizes.map(([H, W], l) => ({ C, H, W, data: rand(C * H * W, seed + l) }));
}

/** Runs forward and backward with output gradient g; returns everything read back. */
async function run(e: Engine, levels: Level[], uv: Float32Array, g: Float32Array) {
  const res = e.tidy(() => {
    const ts = levels.map((l) => e.fromArray([l.C, l.H, l.W], l.data));
    const tuv = e.fromArray([uv.length / 2, 2], uv);
    for (const t of [...ts, tuv]) t.requiresGrad = true;
    const tape = Tape.start(e);
    const out = texturePyramidSample(ts, tuv);
    tape.backward(out, e.fromArray(out.shape, g));
    return { out, guv: tuv.grad!, gt: ts.map((t) => t.grad!) };
  });
  const read = {
    out: await res.out.read(),
    guv: await res.guv.read(),
    gt: await Promise.all(res.gt.map((t) => t.read())),
    shape: res.out.shape,
  };
  for (const t of [res.out, res.guv, ...res.gt]) t.release();
  return read;
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-12);
}

/** uv in [lo, hi) plus the edge cases: ±1, texel edges and texel centres of the 4×4 level, beyond ±1. */
function pointsWithEdges(n: number, seed: number): Float32Array {
  const edges = [-1, 1, -0.5, 0, 0.5, -0.75, 0.25, 0.75, -1.3, 1.7, 1, -1];
  const uv = rand(2 * n, seed, -1.1, 1.1);
  edges.forEach((v, k) => {
    uv[2 * k] = v;
    uv[2 * k + 1] = edges[(k + 5) % edges.length];
  });
  return uv;
}

describe('texturePyramidSample', () => {
  it('is the sum of border-clamped bilinear samples with the align_corners=False convention', async () => {
    const e = await testEngine();
    // Texture value = its column index: the sample is the clamped index coordinate x = ((u + 1)·W − 1)/2.
    const [H, W] = [3, 8];
    const ramp = Float32Array.from({ length: H * W }, (_, k) => k % W);
    const us = [-1, -0.875, -0.8, 0, 0.3, 0.875, 0.95, 1, 2];
    const uv = Float32Array.from(us.flatMap((u) => [u, 0.1]));
    const y = await e.tidy(() => texturePyramidSample([e.fromArray([1, H, W], ramp)], e.fromArray([us.length, 2], uv)));
    const want = us.map((u) => Math.min(Math.max(((u + 1) * W - 1) / 2, 0), W - 1));
    expect(maxAbsDiff(await y.read(), want)).toBeLessThan(1e-5);
    y.release();
  });

  it('matches the float64 reference forward and exact adjoints (texels and uv), edge points included', async () => {
    const e = await testEngine();
    const levels = makeLevels(
      3,
      [
        [4, 4],
        [8, 8],
        [6, 10],
        [16, 16],
      ],
      10,
    );
    const N = 64;
    const uv = pointsWithEdges(N, 3);
    const g = rand(N * 3, 4);
    const got = await run(e, levels, uv, g);
    const want = reference(levels, uv, g);
    expect(got.shape).toEqual([N, 3]);
    expect(relErr(got.out, want.out)).toBeLessThan(1e-5);
    expect(relErr(got.guv, want.guv)).toBeLessThan(1e-5);
    got.gt.forEach((gt, l) => expect(relErr(gt, want.gt[l]), `level ${l}`).toBeLessThan(1e-5));
    // At ±1 and beyond the sample is clamped: no gradient along that axis.
    expect(got.guv[0]).toBe(0);
    expect(got.guv[2 * 1]).toBe(0);
  });

  it('gives every texel its gradient to float32 accuracy, also over six decades of gradient magnitude', async () => {
    const e = await testEngine();
    const levels = makeLevels(
      2,
      [
        [4, 4],
        [32, 32],
      ],
      60,
    );
    const N = 64;
    // Dyadic coordinates: the tap weights are exact in float32 (down to 1/256), so this measures the scatter alone.
    const uv = rand(2 * N, 11, 0, 512).map((v) => -1 + Math.floor(v) / 256);
    // Positive gradients (no cancellation, so every texel can be checked relative to itself) from 1e-4 to 1e2.
    const g = rand(N * 2, 12, -4, 2).map((v) => 10 ** v);
    const got = await run(e, levels, uv, g);
    const want = reference(levels, uv, g);
    got.gt.forEach((gt, l) => {
      let worst = 0;
      gt.forEach((v, k) => {
        if (want.gt[l][k] !== 0) worst = Math.max(worst, Math.abs(v - want.gt[l][k]) / want.gt[l][k]);
        else expect(v, `untouched texel ${k} of level ${l}`).toBe(0);
      });
      expect(worst, `level ${l}`).toBeLessThan(1e-6);
    });
    // Negative sums (two's complement high words) convert to exactly the negated values.
    const negated = await run(
      e,
      levels,
      uv,
      g.map((v) => -v),
    );
    negated.gt.forEach((gt, l) => expect(Array.from(gt)).toEqual(Array.from(got.gt[l], (v) => 0 - v)));
  });

  it('gives gradients only to the inputs that require them', async () => {
    const e = await testEngine();
    const levels = makeLevels(
      3,
      [
        [4, 4],
        [8, 8],
        [16, 16],
      ],
      70,
    );
    const N = 16;
    const uv = rand(2 * N, 13);
    const g = rand(N * 3, 14);
    const res = e.tidy(() => {
      const ts = levels.map((l) => e.fromArray([l.C, l.H, l.W], l.data));
      ts[0].requiresGrad = true;
      ts[2].requiresGrad = true;
      const tuv = e.fromArray([N, 2], uv);
      const tape = Tape.start(e);
      const out = texturePyramidSample(ts, tuv);
      tape.backward(out, e.fromArray(out.shape, g));
      return { grads: ts.map((t) => t.grad), uvGrad: tuv.grad };
    });
    expect(res.grads[1]).toBeNull();
    expect(res.uvGrad).toBeNull();
    const want = reference(levels, uv, g);
    for (const l of [0, 2]) expect(relErr(await res.grads[l]!.read(), want.gt[l])).toBeLessThan(1e-5);
    for (const t of res.grads) t?.release();
  });

  it('sums more levels than one dispatch binds (two dispatch groups), down to a 1×1 level', async () => {
    const e = await testEngine();
    const sizes: Array<[number, number]> = [1, 2, 3, 4, 5, 6, 7, 8, 12].map((r) => [r, r]);
    const levels = makeLevels(2, sizes, 20);
    const N = 40;
    const uv = pointsWithEdges(N, 5);
    const g = rand(N * 2, 6);
    const got = await run(e, levels, uv, g);
    const want = reference(levels, uv, g);
    expect(relErr(got.out, want.out)).toBeLessThan(1e-5);
    expect(relErr(got.guv, want.guv)).toBeLessThan(1e-5);
    got.gt.forEach((gt, l) => expect(relErr(gt, want.gt[l]), `level ${l}`).toBeLessThan(1e-5));
  });

  it('has a backward that matches central finite differences', async () => {
    const e = await testEngine();
    const levels = makeLevels(
      3,
      [
        [4, 4],
        [8, 8],
        [16, 16],
      ],
      30,
    );
    const N = 32;
    const eps = 1e-3;
    // Keep every coordinate ≥ 10·eps (in index units) away from the texel centres of every level, where the
    // interpolant has kinks.
    const candidates = rand(8 * N, 7, -0.95, 0.95);
    const smooth = [...candidates].filter((t) =>
      levels.every(({ W }) => {
        const x = ((t + 1) * W - 1) / 2;
        return Math.abs(x - Math.round(x)) > (10 * eps * W) / 2;
      }),
    );
    expect(smooth.length).toBeGreaterThanOrEqual(2 * N);
    const uv = Float32Array.from(smooth.slice(0, 2 * N));
    const r = await gradCheck(
      e,
      (...xs: Tensor[]) => texturePyramidSample(xs.slice(0, -1), xs[xs.length - 1]),
      [...levels.map((l) => ({ shape: [l.C, l.H, l.W], data: l.data })), { shape: [N, 2], data: uv }],
      { eps, probes: 24 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('is deterministic: the same bits twice, and for the points in any order', async () => {
    const e = await testEngine();
    const levels = makeLevels(
      3,
      [
        [4, 4],
        [16, 16],
      ],
      40,
    );
    const N = 64;
    // Many points on the 4×4 level: every texel gets contributions from several threads.
    const uv = rand(2 * N, 8, -1, 1);
    const g = rand(N * 3, 9, -10, 10);
    const a = await run(e, levels, uv, g);
    const b = await run(e, levels, uv, g);
    const perm = [...Array(N).keys()].reverse();
    const uvP = Float32Array.from(perm.flatMap((n) => [uv[2 * n], uv[2 * n + 1]]));
    const gP = Float32Array.from(perm.flatMap((n) => [g[3 * n], g[3 * n + 1], g[3 * n + 2]]));
    const c = await run(e, levels, uvP, gP);
    for (let l = 0; l < levels.length; l++) {
      expect(Buffer.from(a.gt[l].buffer).equals(Buffer.from(b.gt[l].buffer))).toBe(true);
      expect(Buffer.from(a.gt[l].buffer).equals(Buffer.from(c.gt[l].buffer))).toBe(true);
    }
    expect(Buffer.from(a.guv.buffer).equals(Buffer.from(b.guv.buffer))).toBe(true);
  });

  it('propagates a non-finite output gradient as NaN texel gradients', async () => {
    const e = await testEngine();
    const levels = makeLevels(1, [[4, 4]], 50);
    const g = new Float32Array([1, Number.NaN]);
    const got = await run(e, levels, new Float32Array([0.1, 0.2, -0.3, 0.4]), g);
    expect(got.gt[0].every((v) => Number.isNaN(v))).toBe(true);
  });

  it('rejects bad shapes with an EngineError', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const uv = e.fromArray([2, 2], rand(4, 1));
      const t3 = e.fromArray([3, 4, 4], rand(48, 2));
      const t1 = e.fromArray([1, 4, 4], rand(16, 3));
      expect(() => texturePyramidSample([], uv)).toThrow(EngineError);
      expect(() => texturePyramidSample([t3, t1], uv)).toThrow(/one C/);
      expect(() => texturePyramidSample([t3], e.fromArray([2, 3], rand(6, 4)))).toThrow(/\[N,2\]/);
      expect(() => texturePyramidSample([e.fromArray([4, 4], rand(16, 5))], uv)).toThrow(/rank 3/);
    });
  });
});
