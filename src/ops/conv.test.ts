import { afterEach, describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { conv2d, conv2dOutputSize, convTuning, type ConvPadding } from './conv';

interface Case {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  padding: ConvPadding;
  bias: boolean;
}

function outSize(c: Case): [number, number] {
  const pad = c.padding === 'none' ? 0 : (c.k - 1) / 2;
  return [Math.floor((c.h + 2 * pad - c.k) / c.stride) + 1, Math.floor((c.w + 2 * pad - c.k) / c.stride) + 1];
}

/** Source index of padded coordinate i (already offset by -pad) on an axis of length n, or -1 for a zero. */
function srcIndex(i: number, n: number, mode: ConvPadding): number {
  if (i >= 0 && i < n) return i;
  if (mode !== 'reflect') return -1;
  return i < 0 ? -i : 2 * (n - 1) - i;
}

/** Straightforward float64 convolution. */
function convRef(c: Case, x: Float32Array, wt: Float32Array, b: Float32Array | null): Float64Array {
  const [ho, wo] = outSize(c);
  const pad = c.padding === 'none' ? 0 : (c.k - 1) / 2;
  const y = new Float64Array(c.n * c.cout * ho * wo);
  for (let n = 0; n < c.n; n++)
    for (let co = 0; co < c.cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          let s = b ? b[co] : 0;
          for (let ci = 0; ci < c.cin; ci++)
            for (let ky = 0; ky < c.k; ky++)
              for (let kx = 0; kx < c.k; kx++) {
                const iy = srcIndex(oy * c.stride + ky - pad, c.h, c.padding);
                const ix = srcIndex(ox * c.stride + kx - pad, c.w, c.padding);
                if (iy < 0 || ix < 0) continue;
                s += x[((n * c.cin + ci) * c.h + iy) * c.w + ix] * wt[((co * c.cin + ci) * c.k + ky) * c.k + kx];
              }
          y[((n * c.cout + co) * ho + oy) * wo + ox] = s;
        }
  return y;
}

/** The exact adjoint of convRef (scatter formulation), float64. */
function convBackRef(c: Case, x: Float32Array, wt: Float32Array, gy: Float32Array) {
  const [ho, wo] = outSize(c);
  const pad = c.padding === 'none' ? 0 : (c.k - 1) / 2;
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(wt.length);
  const gb = new Float64Array(c.cout);
  for (let n = 0; n < c.n; n++)
    for (let co = 0; co < c.cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const g = gy[((n * c.cout + co) * ho + oy) * wo + ox];
          gb[co] += g;
          for (let ci = 0; ci < c.cin; ci++)
            for (let ky = 0; ky < c.k; ky++)
              for (let kx = 0; kx < c.k; kx++) {
                const iy = srcIndex(oy * c.stride + ky - pad, c.h, c.padding);
                const ix = srcIndex(ox * c.stride + kx - pad, c.w, c.padding);
                if (iy < 0 || ix < 0) continue;
                const xi = ((n * c.cin + ci) * c.h + iy) * c.w + ix;
                const wi = ((co * c.cin + ci) * c.k + ky) * c.k + kx;
                gx[xi] += g * wt[wi];
                gw[wi] += g * x[xi];
              }
        }
  return { gx, gw, gb };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-6);
}

function caseData(c: Case, seed: number) {
  return {
    x: rand(c.n * c.cin * c.h * c.w, seed),
    wt: rand(c.cout * c.cin * c.k * c.k, seed + 1, -0.5, 0.5),
    b: c.bias ? rand(c.cout, seed + 2) : null,
  };
}

const base: Case = { n: 1, cin: 3, h: 7, w: 9, cout: 4, k: 3, stride: 1, padding: 'reflect', bias: true };

describe('conv2d', () => {
  const saved = { ...convTuning };
  afterEach(() => Object.assign(convTuning, saved));

  it('computes output sizes', () => {
    expect(conv2dOutputSize(7, 9, 3, 1, 'reflect')).toEqual([7, 9]);
    expect(conv2dOutputSize(7, 9, 3, 2, 'reflect')).toEqual([4, 5]);
    expect(conv2dOutputSize(512, 511, 3, 2, 'zeros')).toEqual([256, 256]);
    expect(conv2dOutputSize(7, 9, 3, 1, 'none')).toEqual([5, 7]);
    expect(conv2dOutputSize(7, 9, 1, 1, 'reflect')).toEqual([7, 9]);
    expect(conv2dOutputSize(8, 8, 4, 2, 'none')).toEqual([3, 3]);
  });

  it('matches a float64 reference forward', async () => {
    const e = await testEngine();
    const cases: Case[] = [
      base,
      { ...base, stride: 2 },
      { ...base, h: 5, w: 6, stride: 2 },
      { ...base, k: 1 },
      { ...base, k: 1, stride: 2, bias: false },
      { ...base, padding: 'zeros' },
      { ...base, padding: 'zeros', stride: 2, h: 6, w: 5 },
      { ...base, padding: 'none' },
      { ...base, padding: 'none', stride: 2, h: 8, w: 7 },
      { ...base, n: 2, bias: false },
      { ...base, k: 5, h: 3, w: 4 },
      { ...base, n: 1, cin: 3, cout: 5, h: 11, w: 13 },
      // Several tiles in every GEMM dimension: M = 70 > 64, K = 180 > 16, N = 2·17·19 > 64.
      { n: 2, cin: 20, h: 17, w: 19, cout: 70, k: 3, stride: 1, padding: 'reflect', bias: true },
      { n: 1, cin: 20, h: 17, w: 19, cout: 70, k: 3, stride: 2, padding: 'reflect', bias: false },
    ];
    for (const [i, c] of cases.entries()) {
      const d = caseData(c, 10 + i);
      const got = await e.tidy(() => {
        const x = e.fromArray([c.n, c.cin, c.h, c.w], d.x);
        const w = e.fromArray([c.cout, c.cin, c.k, c.k], d.wt);
        const b = d.b ? e.fromArray([c.cout], d.b) : null;
        return conv2d(x, w, b, { stride: c.stride, padding: c.padding });
      });
      const [ho, wo] = outSize(c);
      expect(got.shape).toEqual([c.n, c.cout, ho, wo]);
      const err = relErr(await got.read(), convRef(c, d.x, d.wt, d.b));
      got.release();
      expect(err, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it('has backward passes that match finite differences', async () => {
    const e = await testEngine();
    const cases: Case[] = [
      { n: 1, cin: 2, h: 4, w: 5, cout: 3, k: 3, stride: 1, padding: 'reflect', bias: true },
      { n: 1, cin: 2, h: 2, w: 3, cout: 2, k: 3, stride: 1, padding: 'reflect', bias: true },
      { n: 2, cin: 2, h: 3, w: 2, cout: 3, k: 3, stride: 2, padding: 'reflect', bias: true },
      { n: 1, cin: 2, h: 5, w: 7, cout: 2, k: 3, stride: 2, padding: 'reflect', bias: true },
      { n: 1, cin: 2, h: 3, w: 4, cout: 2, k: 5, stride: 1, padding: 'reflect', bias: true },
      { n: 1, cin: 3, h: 3, w: 4, cout: 2, k: 1, stride: 1, padding: 'reflect', bias: true },
      { n: 1, cin: 2, h: 4, w: 3, cout: 3, k: 3, stride: 1, padding: 'zeros', bias: true },
      { n: 1, cin: 2, h: 5, w: 4, cout: 2, k: 3, stride: 2, padding: 'zeros', bias: false },
      { n: 1, cin: 2, h: 5, w: 4, cout: 2, k: 3, stride: 1, padding: 'none', bias: true },
    ];
    const worst: string[] = [];
    for (const [i, c] of cases.entries()) {
      const d = caseData(c, 100 + 3 * i);
      const inputs = [
        { shape: [c.n, c.cin, c.h, c.w], data: d.x },
        { shape: [c.cout, c.cin, c.k, c.k], data: d.wt },
      ];
      if (d.b) inputs.push({ shape: [c.cout], data: d.b });
      const f = (x: Tensor, w: Tensor, b?: Tensor) => conv2d(x, w, b ?? null, c);
      const r = await gradCheck(e, f, inputs);
      worst.push(
        `${c.padding} k${c.k} s${c.stride} ${c.h}×${c.w}: ${r.errors.map((v) => v.toExponential(1)).join(' ')}`,
      );
      expect(r.worst, JSON.stringify(c)).toBeLessThan(1e-2);
    }
    process.stderr.write(`conv2d gradCheck relative errors (x, weight, bias):\n  ${worst.join('\n  ')}\n`);
  });

  /** Analytic gradients of L = Σ conv(x, w, b)·gy against the float64 adjoint. */
  async function checkAdjoint(c: Case, seed: number): Promise<number> {
    const e = await testEngine();
    const d = caseData(c, seed);
    const [ho, wo] = outSize(c);
    const gyData = rand(c.n * c.cout * ho * wo, seed + 5);
    const ref = convBackRef(c, d.x, d.wt, gyData);
    const x = e.fromArray([c.n, c.cin, c.h, c.w], d.x).keep();
    const w = e.fromArray([c.cout, c.cin, c.k, c.k], d.wt).keep();
    const b = e.fromArray([c.cout], d.b ?? new Float32Array(c.cout)).keep();
    for (const t of [x, w, b]) t.requiresGrad = true;
    const before = e.dispatchCount;
    // The gradients are returned so that the scope keeps them.
    e.tidy(() => {
      const tape = Tape.start(e);
      const y = conv2d(x, w, b, c);
      tape.backward(y, e.fromArray(y.shape, gyData));
      return [x.grad, w.grad, b.grad];
    });
    const dispatches = e.dispatchCount - before;
    const errs = [
      relErr(await x.grad!.read(), ref.gx),
      relErr(await w.grad!.read(), ref.gw),
      relErr(await b.grad!.read(), ref.gb),
    ];
    for (const t of [x, w, b]) {
      t.grad!.release();
      t.release();
    }
    expect(Math.max(...errs), `${JSON.stringify(c)}: ${errs.join(', ')}`).toBeLessThan(1e-4);
    return dispatches;
  }

  it('matches the float64 adjoint on a multi-tile case with split-K', async () => {
    // Weight gradient: 2 × 3 tiles of 64×64, 2·17·19 = 646 pixels in 5 chunks of 144.
    const c: Case = { n: 2, cin: 20, h: 17, w: 19, cout: 70, k: 3, stride: 1, padding: 'reflect', bias: true };
    const splitDispatches = await checkAdjoint(c, 500);
    // Forward, seed upload aside: forward + grad-x + grad-w + its reduction + grad-b.
    expect(splitDispatches).toBe(5);
    convTuning.minChunkPixels = 1 << 30;
    expect(await checkAdjoint(c, 500)).toBe(4);
  });

  it('matches the float64 adjoint on thin tiles, strides and split-K', async () => {
    convTuning.minChunkPixels = 16;
    const cases: Case[] = [
      { n: 2, cin: 3, h: 11, w: 13, cout: 5, k: 3, stride: 2, padding: 'reflect', bias: true },
      { n: 1, cin: 20, h: 9, w: 10, cout: 3, k: 3, stride: 1, padding: 'zeros', bias: true },
      { n: 1, cin: 17, h: 16, w: 17, cout: 66, k: 5, stride: 3, padding: 'reflect', bias: true },
    ];
    for (const [i, c] of cases.entries()) expect(await checkAdjoint(c, 600 + 10 * i)).toBe(5);
  });

  it('computes only the gradients that are required', async () => {
    const e = await testEngine();
    const c: Case = { n: 1, cin: 3, h: 5, w: 6, cout: 4, k: 3, stride: 1, padding: 'reflect', bias: true };
    const d = caseData(c, 700);
    const [ho, wo] = outSize(c);
    const gyData = rand(c.n * c.cout * ho * wo, 705);
    const ref = convBackRef(c, d.x, d.wt, gyData);
    const x = e.fromArray([c.n, c.cin, c.h, c.w], d.x).keep();
    const w = e.fromArray([c.cout, c.cin, c.k, c.k], d.wt).keep();
    const b = e.fromArray([c.cout], d.b!).keep();
    w.requiresGrad = true;
    const before = e.dispatchCount;
    e.tidy(() => {
      const tape = Tape.start(e);
      const y = conv2d(x, w, b, c);
      tape.backward(y, e.fromArray(y.shape, gyData));
      return w.grad;
    });
    expect(e.dispatchCount - before).toBe(2);
    expect(x.grad).toBeNull();
    expect(b.grad).toBeNull();
    expect(relErr(await w.grad!.read(), ref.gw)).toBeLessThan(1e-4);
    w.grad!.release();
    for (const t of [x, w, b]) t.release();
  });

  it('rejects bad shapes and settings with EngineError before the GPU sees them', async () => {
    const e = await testEngine();
    const made: Tensor[] = [];
    const t = (shape: number[]) => {
      const x = e.empty(shape);
      made.push(x);
      return x;
    };
    const bad: Array<[() => unknown, RegExp]> = [
      [() => conv2d(t([3, 8, 8]), t([4, 3, 3, 3]), null), /rank 4.*\[3,8,8\]/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 9]), null), /rank 4.*\[4,3,9\]/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 2, 3, 3]), null), /Cin = 3.*expects 2.*\[1,3,8,8\].*\[4,2,3,3\]/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 1]), null), /square.*3×1/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 2, 2]), null), /odd kernel.*2×2.*\[4,3,2,2\]/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 2, 2]), null, { padding: 'zeros' }), /odd kernel/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), t([5])), /bias.*\[4\].*\[5\]/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), t([1, 4])), /bias.*\[1,4\]/],
      [() => conv2d(t([1, 3, 1, 8]), t([4, 3, 3, 3]), null), /reflection padding 1.*≥ 2.*1×8.*\[1,3,1,8\]/],
      [() => conv2d(t([1, 3, 8, 2]), t([4, 3, 5, 5]), null), /reflection padding 2.*≥ 3.*8×2/],
      [() => conv2d(t([1, 3, 2, 8]), t([4, 3, 3, 3]), null, { padding: 'none' }), /output size 0×6/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), null, { stride: 0 }), /stride/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), null, { stride: 1.5 }), /stride/],
      [() => conv2d(t([0, 3, 8, 8]), t([4, 3, 3, 3]), null), /empty/],
      [() => conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), null, { padding: 'circular' as ConvPadding }), /padding/],
      [() => conv2dOutputSize(1, 5, 3, 1, 'reflect'), /reflection padding 1/],
      [() => conv2dOutputSize(2, 2, 5, 1, 'none'), /output size/],
    ];
    const before = e.dispatchCount;
    for (const [fn, msg] of bad) {
      let err: unknown = null;
      try {
        fn();
      } catch (ex) {
        err = ex;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect((err as Error).message).toMatch(/^conv2d: /);
      expect((err as Error).message).toMatch(msg);
    }
    expect(e.dispatchCount).toBe(before);
    for (const x of made) x.release();
  });
});
