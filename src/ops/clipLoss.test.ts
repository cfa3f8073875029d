import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { cosineSimilarityRows, sphericalDistance } from './clipLoss';

/** Prints a measured error (shown by vitest under the test's name). */
function report(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  return d / Math.max(s, 1e-30);
}

const dot = (x: ArrayLike<number>, i: number, y: ArrayLike<number>, j: number, e: number) => {
  let s = 0;
  for (let k = 0; k < e; k++) s += x[i * e + k] * y[j * e + k];
  return s;
};

/** Float64 reference, via the angle: D = θ²/2 with θ = atan2(‖x̂ × ŷ‖-like sine, cosine) — computed as acos-free. */
function sphericalRef(x: ArrayLike<number>, y: ArrayLike<number>, v: number, t: number, e: number): Float64Array {
  const out = new Float64Array(v * t);
  for (let a = 0; a < v; a++)
    for (let b = 0; b < t; b++) {
      const nx = Math.max(Math.sqrt(dot(x, a, x, a, e)), 1e-12);
      const ny = Math.max(Math.sqrt(dot(y, b, y, b, e)), 1e-12);
      let d2 = 0;
      for (let k = 0; k < e; k++) d2 += (x[a * e + k] / nx - y[b * e + k] / ny) ** 2;
      const d = Math.sqrt(d2);
      // Chord d on the unit sphere ↔ angle θ = 2·asin(d/2), so 2·asin(d/2)² = θ²/2; θ from atan2 as a cross-check.
      const c = 1 - d2 / 2;
      const theta = Math.atan2(d * Math.sqrt(Math.max(0, 1 - d2 / 4)), c);
      out[a * t + b] = (theta * theta) / 2;
    }
  return out;
}

function cosineRef(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  v: number,
  t: number,
  e: number,
  eps: number,
): Float64Array {
  const out = new Float64Array(v * t);
  for (let a = 0; a < v; a++)
    for (let b = 0; b < t; b++) {
      const m = Math.max(Math.sqrt(dot(x, a, x, a, e)) * Math.sqrt(dot(y, b, y, b, e)), eps);
      out[a * t + b] = dot(x, a, y, b, e) / m;
    }
  return out;
}

/** Float64 central-difference gradient of Σ R·f(x, y) with respect to input `which`. */
function numericGrad(
  f: (x: Float64Array, y: Float64Array) => Float64Array,
  xs: [Float64Array, Float64Array],
  which: 0 | 1,
  r: ArrayLike<number>,
): Float64Array {
  const src = xs[which];
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = Math.max(Math.abs(src[i]), 1e-6) * 1e-6;
    const p = [xs[0].slice(), xs[1].slice()];
    const m = [xs[0].slice(), xs[1].slice()];
    p[which][i] += h;
    m[which][i] -= h;
    const fp = f(p[0], p[1]);
    const fm = f(m[0], m[1]);
    let s = 0;
    for (let j = 0; j < fp.length; j++) s += r[j] * (fp[j] - fm[j]);
    out[i] = s / (2 * h);
  }
  return out;
}

async function tapeGrads(
  e: Engine,
  f: (x: Tensor, y: Tensor) => Tensor,
  x: { shape: number[]; data: Float32Array },
  y: { shape: number[]; data: Float32Array },
  g: Float32Array,
): Promise<[Float32Array, Float32Array]> {
  const xt = e.fromArray(x.shape, x.data).keep();
  const yt = e.fromArray(y.shape, y.data).keep();
  xt.requiresGrad = true;
  yt.requiresGrad = true;
  const [gx, gy] = e.tidy(() => {
    const tape = Tape.start(e);
    const out = f(xt, yt);
    tape.backward(out, e.fromArray(out.shape, g));
    return [xt.grad!, yt.grad!];
  });
  const res: [Float32Array, Float32Array] = [await gx.read(), await gy.read()];
  for (const t of [gx, gy, xt, yt]) t.release();
  return res;
}

describe('sphericalDistance', () => {
  /** Runs forward and backward against the float64 reference; returns the relative errors. */
  async function sphericalErrors(e: Engine, x: Float32Array, y: Float32Array, v: number, t: number, d: number) {
    const got = await sphericalDistance(e.fromArray([v, d], x), e.fromArray([t, d], y)).read();
    const fwd = relErr(got, sphericalRef(x, y, v, t, d));
    const g = rand(v * t, 33);
    const [gx, gy] = await tapeGrads(e, sphericalDistance, { shape: [v, d], data: x }, { shape: [t, d], data: y }, g);
    const f = (a: Float64Array, b: Float64Array) => sphericalRef(a, b, v, t, d);
    const x64 = Float64Array.from(x);
    const y64 = Float64Array.from(y);
    const bx = relErr(gx, numericGrad(f, [x64, y64], 0, g));
    const by = relErr(gy, numericGrad(f, [x64, y64], 1, g));
    return { got, fwd, bx, by };
  }

  it('matches a float64 reference forward and backward', async () => {
    const e = await testEngine();
    const [v, t, d] = [4, 3, 16];
    const x = rand(v * d, 31);
    const y = rand(t * d, 32);
    // One target equal to a scaled view (distance 0).
    for (let k = 0; k < d; k++) y[k] = 2.5 * x[d + k];
    const { got, fwd, bx, by } = await sphericalErrors(e, x, y, v, t, d);
    expect(Math.abs(got[1 * t + 0])).toBeLessThan(1e-6);
    const fd = await gradCheck(e, sphericalDistance, [
      { shape: [v, d], data: rand(v * d, 34) },
      { shape: [t, d], data: rand(t * d, 35) },
    ]);
    report(
      `sphericalDistance: forward ${fwd.toExponential(2)}, backward vs f64 x ${bx.toExponential(2)} y ${by.toExponential(2)}, gradCheck ${fd.errors.map((z) => z.toExponential(2)).join(' ')}`,
    );
    expect(fwd).toBeLessThan(1e-6);
    expect(bx).toBeLessThan(1e-4);
    expect(by).toBeLessThan(1e-4);
    expect(fd.worst).toBeLessThan(1e-2);
  });

  it('stays finite and close near antipodal pairs (ill-conditioned in float32)', async () => {
    // asin near 1 amplifies the float32 rounding of ‖x̂ − ŷ‖ by 1/sqrt(1 − d²/4): for an angle of π − 0.008,
    // float32 inputs give ~2e-5 relative error in D and ~1e-3 in its gradient (PyTorch in float32 alike).
    const e = await testEngine();
    const [v, t, d] = [2, 2, 16];
    const x = rand(v * d, 36);
    const y = rand(t * d, 37);
    for (let k = 0; k < d; k++) y[k] = -x[k] + 0.01 * y[k];
    const { got, fwd, bx, by } = await sphericalErrors(e, x, y, v, t, d);
    report(
      `sphericalDistance near-antipodal: forward ${fwd.toExponential(2)}, backward x ${bx.toExponential(2)} y ${by.toExponential(2)}`,
    );
    expect(got[0]).toBeGreaterThan(4.8); // ≈ π²/2 = 4.93
    expect(fwd).toBeLessThan(1e-4);
    expect(bx).toBeLessThan(1e-2);
    expect(by).toBeLessThan(1e-2);
  });

  it('rejects mismatched shapes', async () => {
    const e = await testEngine();
    expect(() => sphericalDistance(e.zeros([4, 8]), e.zeros([3, 9]))).toThrow(/sphericalDistance.*\[4,8\].*\[3,9\]/);
    expect(() => sphericalDistance(e.zeros([4, 8, 1]), e.zeros([3, 8]))).toThrow(EngineError);
  });
});

describe('cosineSimilarityRows', () => {
  it('matches a float64 reference forward and backward, including a clamped pair', async () => {
    const e = await testEngine();
    const [v, t, d] = [5, 3, 16];
    const x = rand(v * d, 41);
    const y = rand(t * d, 42);
    for (let k = 0; k < d; k++) x[3 * d + k] *= 1e-9; // ‖x_3‖·‖y_t‖ ≈ 5e-9 < 1e-8: clamped
    const eps = 1e-8;
    const got = await cosineSimilarityRows(e.fromArray([v, d], x), e.fromArray([t, d], y)).read();
    const want = cosineRef(x, y, v, t, d, eps);
    const fwd = relErr(got, want);

    const g = rand(v * t, 43);
    const [gx, gy] = await tapeGrads(
      e,
      cosineSimilarityRows,
      { shape: [v, d], data: x },
      { shape: [t, d], data: y },
      g,
    );
    const f = (a: Float64Array, b: Float64Array) => cosineRef(a, b, v, t, d, eps);
    const x64 = Float64Array.from(x);
    const y64 = Float64Array.from(y);
    const nx = numericGrad(f, [x64, y64], 0, g);
    // Per row of x: the clamped row's gradient is ~1e8 times larger than the others.
    let bx = 0;
    for (let r = 0; r < v; r++) bx = Math.max(bx, relErr(gx.subarray(r * d, r * d + d), nx.subarray(r * d, r * d + d)));
    const by = relErr(gy, numericGrad(f, [x64, y64], 1, g));
    const fd = await gradCheck(e, (a, b) => cosineSimilarityRows(a, b), [
      { shape: [v, d], data: rand(v * d, 44) },
      { shape: [t, d], data: rand(t * d, 45) },
    ]);
    report(
      `cosineSimilarityRows: forward ${fwd.toExponential(2)}, backward vs f64 x ${bx.toExponential(2)} y ${by.toExponential(2)}, gradCheck ${fd.errors.map((z) => z.toExponential(2)).join(' ')}`,
    );
    expect(fwd).toBeLessThan(1e-5);
    expect(bx).toBeLessThan(1e-4);
    expect(by).toBeLessThan(1e-4);
    expect(fd.worst).toBeLessThan(1e-2);
  });

  it('computes only the gradients that are needed and rejects mismatched shapes', async () => {
    const e = await testEngine();
    const x = e.fromArray([2, 4], rand(8, 51)).keep();
    const y = e.fromArray([3, 4], rand(12, 52)).keep();
    x.requiresGrad = true;
    const grads = e.tidy(() => {
      const tape = Tape.start(e);
      const out = cosineSimilarityRows(x, y);
      return [...tape.backward(out, e.fromArray([2, 3], rand(6, 53))).keys()];
    });
    expect(grads).toEqual([x]);
    x.grad?.release();
    x.release();
    y.release();
    expect(() => cosineSimilarityRows(e.zeros([4, 8]), e.zeros([3, 7]))).toThrow(
      /cosineSimilarityRows.*\[4,8\].*\[3,7\]/,
    );
  });
});
