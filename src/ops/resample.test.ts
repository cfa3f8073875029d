import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { upsample2x } from './resample';

/** PyTorch's source taps for output coordinate o of a ×2 bilinear upsample, align_corners=False. */
function tapRef(o: number, n: number): Array<[number, number]> {
  const s = Math.max((o + 0.5) / 2 - 0.5, 0);
  const i0 = Math.floor(s);
  const i1 = Math.min(i0 + 1, n - 1);
  const l = s - i0;
  return [
    [i0, 1 - l],
    [i1, l],
  ];
}

/** Float64 upsample + centre crop, and its exact adjoint (scatter). */
function upRef(shape: number[], x: Float32Array, oh: number, ow: number, gy: Float32Array) {
  const [n, c, h, w] = shape;
  const offy = Math.floor((2 * h - oh) / 2);
  const offx = Math.floor((2 * w - ow) / 2);
  const y = new Float64Array(n * c * oh * ow);
  const gx = new Float64Array(x.length);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const o = (p * oh + i) * ow + j;
        for (const [r, wy] of tapRef(i + offy, h)) {
          for (const [q, wx] of tapRef(j + offx, w)) {
            const src = (p * h + r) * w + q;
            y[o] += wy * wx * x[src];
            gx[src] += wy * wx * gy[o];
          }
        }
      }
    }
  }
  return { y, gx };
}

describe('upsample2x', () => {
  const cases: Array<{ shape: number[]; out?: [number, number] }> = [
    { shape: [1, 3, 5, 7] },
    { shape: [2, 2, 4, 5], out: [7, 9] },
    { shape: [2, 2, 4, 5], out: [8, 10] },
    { shape: [1, 2, 4, 5], out: [6, 7] },
    { shape: [1, 1, 1, 1] },
    { shape: [1, 2, 1, 3], out: [1, 5] },
  ];

  it('matches PyTorch bilinear (align_corners=False) with the DIP centre crop, forward and backward', async () => {
    const e = await testEngine();
    for (const [k, { shape, out }] of cases.entries()) {
      const [oh, ow] = out ?? [2 * shape[2], 2 * shape[3]];
      const size = shape.reduce((a, b) => a * b);
      const x = rand(size, 10 + k);
      const gy = rand(shape[0] * shape[1] * oh * ow, 20 + k);
      const ref = upRef(shape, x, oh, ow, gy);
      const { y, gx } = e.tidy(() => {
        const tx = e.fromArray(shape, x);
        tx.requiresGrad = true;
        const tape = Tape.start(e);
        const ty = out ? upsample2x(tx, oh, ow) : upsample2x(tx);
        expect(ty.shape).toEqual([shape[0], shape[1], oh, ow]);
        tape.backward(ty, e.fromArray(ty.shape, gy));
        return { y: ty, gx: tx.grad! };
      });
      const [yv, gxv] = await Promise.all([y.read(), gx.read()]);
      expect(maxAbsDiff(yv, ref.y)).toBeLessThan(1e-6);
      expect(maxAbsDiff(gxv, ref.gx) / maxAbs(ref.gx)).toBeLessThan(1e-4);
      y.release();
      gx.release();
    }
  });

  it('matches PyTorch on a known 2×2 example', async () => {
    const e = await testEngine();
    // torch.nn.Upsample(scale_factor=2, mode='bilinear')(torch.tensor([[[[1., 2.], [3., 4.]]]]))
    const want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
    const y = await upsample2x(e.fromArray([1, 1, 2, 2], [1, 2, 3, 4])).read();
    expect(maxAbsDiff(y, want)).toBeLessThan(1e-6);
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    for (const [k, { shape, out }] of cases.slice(0, 4).entries()) {
      const size = shape.reduce((a, b) => a * b);
      const r = await gradCheck(e, (x) => (out ? upsample2x(x, out[0], out[1]) : upsample2x(x)), [
        { shape, data: rand(size, 30 + k) },
      ]);
      expect(r.worst).toBeLessThan(1e-2);
    }
  });

  it('rejects bad inputs and crop sizes with an EngineError', async () => {
    const e = await testEngine();
    const x = e.fromArray([1, 2, 4, 5], rand(40, 1));
    const dispatches = e.dispatchCount;
    expect(() => upsample2x(x, 9, 10)).toThrow(EngineError);
    expect(() => upsample2x(x, 9, 10)).toThrow(/outHeight 9.*\[1,2,4,5\]/);
    expect(() => upsample2x(x, 8, 11)).toThrow(/outWidth 11/);
    expect(() => upsample2x(x, 0, 10)).toThrow(EngineError);
    expect(() => upsample2x(x, 7.5, 10)).toThrow(EngineError);
    expect(() => upsample2x(e.fromArray([2, 4, 5], rand(40, 1)))).toThrow(EngineError);
    expect(e.dispatchCount).toBe(dispatches);
  });
});
