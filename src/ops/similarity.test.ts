import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { cosineSelfSimilarity, normalizeRows } from './similarity';

/** Prints a measured error (shown by vitest under the test's name). */
function report(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

const EPS = 1e-8;

/** max |got − want| / max |want|. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  return d / Math.max(s, 1e-30);
}

/** Float64 forward: t [B,N,D] → S [B,N,N]. */
function selfSimRef(t: ArrayLike<number>, b: number, n: number, d: number): Float64Array {
  const s = new Float64Array(b * n * n);
  const norm = (bb: number, a: number) => {
    let acc = 0;
    for (let k = 0; k < d; k++) acc += t[(bb * n + a) * d + k] ** 2;
    return Math.sqrt(acc);
  };
  for (let bb = 0; bb < b; bb++)
    for (let a = 0; a < n; a++)
      for (let c = 0; c < n; c++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += t[(bb * n + a) * d + k] * t[(bb * n + c) * d + k];
        s[(bb * n + a) * n + c] = dot / Math.max(norm(bb, a) * norm(bb, c), EPS);
      }
  return s;
}

/**
 * Exact float64 adjoint, written the way autograd walks the reference (P = T Tᵀ, n = ‖t‖, M = n nᵀ,
 * m = clamp_min(M, eps), S = P / m): dP = G/m, dm = −G·P/m², dM = dm·[M ≥ eps],
 * dn_a = Σ_c dM_ac n_c + Σ_c dM_ca n_c, dT = (dP + dPᵀ)T + dn·T/n (0 where n = 0).
 */
function selfSimAdjoint(t: ArrayLike<number>, g: ArrayLike<number>, b: number, n: number, d: number): Float64Array {
  const out = new Float64Array(b * n * d);
  for (let bb = 0; bb < b; bb++) {
    const row = (a: number, k: number) => t[(bb * n + a) * d + k];
    const nrm = Array.from({ length: n }, (_, a) =>
      Math.sqrt(Array.from({ length: d }, (_, k) => row(a, k) ** 2).reduce((x, y) => x + y, 0)),
    );
    const dP = new Float64Array(n * n);
    const dM = new Float64Array(n * n);
    for (let a = 0; a < n; a++)
      for (let c = 0; c < n; c++) {
        let p = 0;
        for (let k = 0; k < d; k++) p += row(a, k) * row(c, k);
        const M = nrm[a] * nrm[c];
        const m = Math.max(M, EPS);
        const G = g[(bb * n + a) * n + c];
        dP[a * n + c] = G / m;
        dM[a * n + c] = M >= EPS ? (-G * p) / (m * m) : 0;
      }
    for (let a = 0; a < n; a++) {
      let dn = 0;
      for (let c = 0; c < n; c++) dn += dM[a * n + c] * nrm[c] + dM[c * n + a] * nrm[c];
      for (let k = 0; k < d; k++) {
        let v = 0;
        for (let c = 0; c < n; c++) v += (dP[a * n + c] + dP[c * n + a]) * row(c, k);
        if (nrm[a] > 0) v += (dn * row(a, k)) / nrm[a];
        out[(bb * n + a) * d + k] = v;
      }
    }
  }
  return out;
}

/** Float64 central differences of Σ R·f(x). */
function numericGrad(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  r: ArrayLike<number>,
  h: (v: number) => number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const step = h(x[i]);
    const xp = x.slice();
    const xm = x.slice();
    xp[i] += step;
    xm[i] -= step;
    const fp = f(xp);
    const fm = f(xm);
    let s = 0;
    for (let j = 0; j < fp.length; j++) s += r[j] * (fp[j] - fm[j]);
    out[i] = s / (2 * step);
  }
  return out;
}

async function tapeGrad(
  e: Engine,
  f: (x: Tensor) => Tensor,
  shape: number[],
  x: Float32Array,
  g: Float32Array,
): Promise<Float32Array> {
  const xt = e.fromArray(shape, x).keep();
  xt.requiresGrad = true;
  const grad = e.tidy(() => {
    const tape = Tape.start(e);
    const y = f(xt);
    tape.backward(y, e.fromArray(y.shape, g));
    return xt.grad!;
  });
  const out = await grad.read();
  grad.release();
  xt.release();
  return out;
}

/** Token data with a tiny row (its self-pair is clamped) and an all-zero row in the second batch. */
function clampedTokens(b: number, n: number, d: number): Float32Array {
  const t = rand(b * n * d, 11);
  for (let k = 0; k < d; k++) {
    t[(1 * n + 2) * d + k] *= 3e-5; // ‖t‖ ≈ 5e-5: n² ≈ 3e-9 < 1e-8, but n·‖other‖ > 1e-8
    t[(1 * n + 4) * d + k] = 0;
  }
  return t;
}

describe('cosineSelfSimilarity', () => {
  it('matches a float64 reference forward', async () => {
    const e = await testEngine();
    const [b, n, d] = [2, 5, 8];
    const t = clampedTokens(b, n, d);
    const got = await cosineSelfSimilarity(e.fromArray([b, n, d], t)).read();
    const want = selfSimRef(t, b, n, d);
    const err = relErr(got, want);
    report(`cosineSelfSimilarity forward rel err ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    expect(got[(1 * n + 4) * n + 4]).toBe(0); // zero row: 0 / eps
    expect(() => cosineSelfSimilarity(e.zeros([5, 8]))).toThrow(EngineError);
  });

  it('has a backward equal to the exact adjoint (incl. the clamp branch) and to finite differences', async () => {
    const e = await testEngine();
    const [b, n, d] = [2, 5, 8];
    // The CPU adjoint itself against float64 finite differences (plain and clamped data).
    for (const t of [rand(b * n * d, 12), clampedTokens(b, n, d)]) {
      const g = rand(b * n * n, 13);
      const x64 = Float64Array.from(t);
      const adj = selfSimAdjoint(x64, g, b, n, d);
      const num = numericGrad(
        (x) => selfSimRef(x, b, n, d),
        x64,
        g,
        (v) => Math.max(Math.abs(v), 1e-9) * 1e-6,
      );
      // Compare per row: the tiny row's gradient is ~1e4 times larger than the others.
      for (let r = 0; r < b * n; r++) {
        const s = r * d;
        expect(relErr(num.subarray(s, s + d), adj.subarray(s, s + d))).toBeLessThan(1e-5);
      }
    }

    let worstPlain = 0;
    let worstRow = 0;
    for (const [seed, t] of [
      [14, rand(b * n * d, 12)],
      [15, clampedTokens(b, n, d)],
    ] as const) {
      const g = rand(b * n * n, seed);
      const got = await tapeGrad(e, cosineSelfSimilarity, [b, n, d], t, g);
      const want = selfSimAdjoint(t, g, b, n, d);
      worstPlain = Math.max(worstPlain, relErr(got, want));
      for (let r = 0; r < b * n; r++) {
        worstRow = Math.max(worstRow, relErr(got.subarray(r * d, r * d + d), want.subarray(r * d, r * d + d)));
      }
    }
    const fd = await gradCheck(e, cosineSelfSimilarity, [{ shape: [b, n, d], data: rand(b * n * d, 16) }]);
    report(
      `cosineSelfSimilarity backward: vs adjoint ${worstPlain.toExponential(2)} (worst row ${worstRow.toExponential(2)}), gradCheck ${fd.worst.toExponential(2)}`,
    );
    expect(worstPlain).toBeLessThan(1e-4);
    expect(worstRow).toBeLessThan(1e-4);
    expect(fd.worst).toBeLessThan(1e-2);
  });
});

describe('normalizeRows', () => {
  it('matches a float64 reference forward and backward', async () => {
    const e = await testEngine();
    const [r, d] = [6, 10];
    const x = rand(r * d, 21);
    const nepsVals: Array<[number, Float32Array]> = [[1e-12, x]];
    // With eps = 0.5, rows scaled to norm ≈ 0.1 take the clamped branch.
    const xc = x.slice();
    for (let k = 0; k < 3 * d; k++) xc[k] *= 0.05;
    nepsVals.push([0.5, xc]);
    for (const [eps, data] of nepsVals) {
      const got = await normalizeRows(e.fromArray([2, 3, d], data), eps).read();
      const g = rand(r * d, 22);
      const gx = await tapeGrad(e, (t) => normalizeRows(t, eps), [2, 3, d], data, g);
      const want = new Float64Array(r * d);
      const wantG = new Float64Array(r * d);
      for (let i = 0; i < r; i++) {
        const row = Array.from(data.subarray(i * d, i * d + d));
        const nrm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
        const m = Math.max(nrm, eps);
        let gdotx = 0;
        for (let k = 0; k < d; k++) gdotx += g[i * d + k] * row[k];
        for (let k = 0; k < d; k++) {
          want[i * d + k] = row[k] / m;
          wantG[i * d + k] = g[i * d + k] / m - (nrm >= eps ? (gdotx * row[k]) / (m * m * nrm) : 0);
        }
      }
      const fwd = relErr(got, want);
      const bwd = relErr(gx, wantG);
      const fd = await gradCheck(e, (t) => normalizeRows(t, eps), [{ shape: [r, d], data }]);
      report(
        `normalizeRows eps=${eps}: forward ${fwd.toExponential(2)}, backward ${bwd.toExponential(2)}, gradCheck ${fd.worst.toExponential(2)}`,
      );
      expect(fwd).toBeLessThan(1e-6);
      expect(bwd).toBeLessThan(1e-5);
      expect(fd.worst).toBeLessThan(1e-2);
    }
  });
});
