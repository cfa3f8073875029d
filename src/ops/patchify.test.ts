import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { patchify } from './patchify';

/** CPU patchify written from the definition: token (r, c), element (ch, kh, kw). */
function patchifyRef(x: Float32Array, b: number, c: number, h: number, w: number, p: number): Float32Array {
  const hp = Math.floor(h / p);
  const wp = Math.floor(w / p);
  const k = c * p * p;
  const out = new Float32Array(b * hp * wp * k);
  for (let n = 0; n < b; n++)
    for (let r = 0; r < hp; r++)
      for (let q = 0; q < wp; q++)
        for (let ch = 0; ch < c; ch++)
          for (let kh = 0; kh < p; kh++)
            for (let kw = 0; kw < p; kw++) {
              const t = r * wp + q;
              out[(n * hp * wp + t) * k + (ch * p + kh) * p + kw] = x[((n * c + ch) * h + r * p + kh) * w + q * p + kw];
            }
  return out;
}

describe('patchify', () => {
  it('matches a CPU reference and drops the remainder rows/columns', async () => {
    const e = await testEngine();
    const [b, c, h, w, p] = [2, 3, 19, 26, 8];
    const x = rand(b * c * h * w, 1);
    const out = patchify(e.fromArray([b, c, h, w], x), p);
    expect(out.shape).toEqual([b, 2 * 3, 3 * 64]);
    const got = await out.read();
    expect(maxAbsDiff(got, patchifyRef(x, b, c, h, w, p))).toBe(0);
  });

  it('patchify · Wᵀ equals a direct stride = kernel convolution', async () => {
    const e = await testEngine();
    const [c, h, w, p, d] = [3, 19, 26, 8, 5];
    const x = rand(c * h * w, 2);
    const wt = rand(d * c * p * p, 3); // conv weight [D, C, kh, kw]
    const tokens = await patchify(e.fromArray([1, c, h, w], x), p).read();
    const hp = Math.floor(h / p);
    const wp = Math.floor(w / p);
    const k = c * p * p;
    let worst = 0;
    for (let r = 0; r < hp; r++)
      for (let q = 0; q < wp; q++)
        for (let o = 0; o < d; o++) {
          // Direct convolution, stride p, no padding, output position (r, q).
          let conv = 0;
          for (let ch = 0; ch < c; ch++)
            for (let kh = 0; kh < p; kh++)
              for (let kw = 0; kw < p; kw++) {
                conv += wt[((o * c + ch) * p + kh) * p + kw] * x[(ch * h + r * p + kh) * w + q * p + kw];
              }
          let mm = 0;
          const t = r * wp + q;
          for (let j = 0; j < k; j++) mm += tokens[t * k + j] * wt[o * k + j];
          worst = Math.max(worst, Math.abs(conv - mm));
        }
    expect(worst).toBeLessThan(1e-5);
  });

  it('backward gathers the token gradient and writes zeros to dropped pixels', async () => {
    const e = await testEngine();
    const [b, c, h, w, p] = [1, 3, 19, 26, 8];
    const x = e.fromArray([b, c, h, w], rand(b * c * h * w, 4)).keep();
    x.requiresGrad = true;
    const g = rand(b * 6 * c * p * p, 5);
    // Fill the output of the pooled buffer with garbage first, so that unwritten elements would show.
    e.fromArray([b, c, h, w], new Float32Array(b * c * h * w).fill(7)).release();
    const grad = await e.tidy(() => {
      const tape = Tape.start(e);
      const y = patchify(x, p);
      tape.backward(y, e.fromArray(y.shape, g));
      return x.grad!;
    });
    const got = await grad.read();
    grad.release();
    x.release();
    // Expected: the adjoint of the gather, accumulated on the CPU.
    const want = new Float32Array(b * c * h * w);
    const idx = patchifyRef(
      Float32Array.from({ length: want.length }, (_, i) => i),
      b,
      c,
      h,
      w,
      p,
    );
    idx.forEach((src, j) => (want[src] += g[j]));
    expect(maxAbsDiff(got, want)).toBe(0);
    for (let y = 16; y < h; y++) expect(got[y * w]).toBe(0);

    const r = await gradCheck(e, (t) => patchify(t, p), [{ shape: [1, c, h, w], data: rand(c * h * w, 6) }]);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects inputs smaller than one patch and bad ranks', async () => {
    const e = await testEngine();
    expect(() => patchify(e.zeros([1, 3, 7, 20]), 8)).toThrow(EngineError);
    expect(() => patchify(e.zeros([1, 3, 20, 7]), 8)).toThrow(/patchify.*\[1,3,20,7\]/);
    expect(() => patchify(e.zeros([3, 20, 20]), 8)).toThrow(EngineError);
  });
});
