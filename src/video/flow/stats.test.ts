import { describe, expect, it } from 'vitest';
import { bilinear, planes, type Planes } from '../../../test/flowReference';
import { toTensor } from '../../../test/flowScenes';
import { rand, testEngine } from '../../../test/gpu';
import { flowStats, histogramMedian } from './stats';

/** The figures of flowStats computed on the CPU (float64, exact median). */
function cpuStats(frames: Planes, fw: Planes, bw: Planes, fv: Planes, bv: Planes) {
  const [n, h, w] = [fw.n, fw.h, fw.w];
  const hw = h * w;
  const errors: number[] = [];
  let [fbValid, validF, validB, photo, photoValid, zero, mag] = [0, 0, 0, 0, 0, 0, 0];
  for (let t = 0; t < n; t++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = y * w + x;
        for (const [own, other, valid] of [
          [fw, bw, fv],
          [bw, fw, bv],
        ] as const) {
          const f = [own.data[2 * t * hw + k], own.data[(2 * t + 1) * hw + k]];
          const b = [0, 1].map((c) => bilinear(other, 2 * t + c, x + f[0], y + f[1]));
          const e = Math.hypot(f[0] + b[0], f[1] + b[1]);
          errors.push(e);
          const v = valid.data[t * hw + k];
          fbValid += e * v;
          if (own === fw) validF += v;
          else validB += v;
          mag += Math.hypot(f[0], f[1]);
        }
        let p = 0;
        let z = 0;
        for (let c = 0; c < 3; c++) {
          const now = frames.data[(3 * t + c) * hw + k];
          p += Math.abs(
            bilinear(frames, 3 * (t + 1) + c, x + fw.data[2 * t * hw + k], y + fw.data[(2 * t + 1) * hw + k]) - now,
          );
          z += Math.abs(frames.data[(3 * (t + 1) + c) * hw + k] - now);
        }
        photo += (p * 255) / 3;
        photoValid += ((p * 255) / 3) * fv.data[t * hw + k];
        zero += (z * 255) / 3;
      }
    }
  }
  const pixels = n * hw;
  errors.sort((a, b) => a - b);
  return {
    fbErrorMean: errors.reduce((a, b) => a + b, 0) / errors.length,
    fbErrorMedian: (errors[errors.length / 2 - 1] + errors[errors.length / 2]) / 2,
    fbErrorMeanValid: fbValid / (validF + validB),
    validForward: validF / pixels,
    validBackward: validB / pixels,
    photometricWarped: photo / pixels,
    photometricWarpedValid: photoValid / validF,
    photometricZero: zero / pixels,
    meanFlowMagnitude: mag / (2 * pixels),
  };
}

describe('flowStats', () => {
  it('matches a CPU evaluation of the same figures', async () => {
    const e = await testEngine();
    const [f, h, w] = [3, 9, 12];
    const n = f - 1;
    const frames = planes(f, 3, h, w, rand(f * 3 * h * w, 51, 0, 1));
    const fw = planes(n, 2, h, w, rand(n * 2 * h * w, 52, -2, 2));
    const bw = planes(n, 2, h, w, rand(n * 2 * h * w, 53, -2, 2));
    const fv = planes(
      n,
      1,
      h,
      w,
      [...rand(n * h * w, 54, 0, 1)].map((x) => (x < 0.7 ? 1 : 0)),
    );
    const bv = planes(
      n,
      1,
      h,
      w,
      [...rand(n * h * w, 55, 0, 1)].map((x) => (x < 0.6 ? 1 : 0)),
    );
    const field = {
      forward: toTensor(e, fw),
      backward: toTensor(e, bw),
      forwardValid: toTensor(e, fv),
      backwardValid: toTensor(e, bv),
    };
    const clip = toTensor(e, frames);
    const got = await flowStats(e, clip, field);
    const want = cpuStats(frames, fw, bw, fv, bv);
    expect(got.pairs).toBe(n);
    for (const [key, value] of Object.entries(want)) {
      // The median comes from 1/64-px histogram bins.
      const tolerance = key === 'fbErrorMedian' ? 1 / 64 : 1e-4 * Math.max(1, Math.abs(value));
      expect(Math.abs(got[key as keyof typeof got] - value), key).toBeLessThan(tolerance);
    }
    for (const t of [clip, ...Object.values(field)]) t.release();
  });
});

describe('histogramMedian', () => {
  it('interpolates inside the bin that holds the middle', () => {
    expect(histogramMedian([0, 4, 0, 0], 0.5)).toBeCloseTo(0.75, 12);
    expect(histogramMedian([2, 2], 1)).toBeCloseTo(1, 12);
    expect(histogramMedian([1, 0, 3], 1)).toBeCloseTo(2 + 1 / 3, 12);
    expect(histogramMedian([0, 0], 1)).toBeNaN();
  });
});
