import { describe, expect, it } from 'vitest';
import { planes, refBlurAxis, refGaussianBlur } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { blurAxis, gaussianBlur, gaussianTaps } from './gaussian';

describe('gaussianTaps', () => {
  it('are symmetric, sum to one, and reach 3σ', () => {
    for (const [sigma, len] of [
      [0.8, 7],
      [1, 7],
      [0.3, 3],
      [1.5, 11],
    ]) {
      const taps = gaussianTaps(sigma);
      expect(taps.length).toBe(len);
      expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      taps.forEach((t, k) => expect(t).toBeCloseTo(taps[taps.length - 1 - k], 14));
      expect(taps[(len - 1) / 2 + 1] / taps[(len - 1) / 2]).toBeCloseTo(Math.exp(-1 / (2 * sigma * sigma)), 12);
    }
    expect(() => gaussianTaps(0)).toThrow();
  });
});

describe('gaussianBlur', () => {
  const img = planes(2, 3, 6, 9, rand(2 * 3 * 6 * 9, 2, 0, 1));

  it('matches the reference along each axis and in 2-D, borders replicated', async () => {
    const e = await testEngine();
    for (const axis of ['x', 'y'] as const) {
      const out = await runOnGpu(e, [img], (t) => blurAxis(t, 0.8, axis));
      expect(maxAbsDiff(out.data, refBlurAxis(img, 0.8, axis).data)).toBeLessThan(1e-6);
    }
    const both = await runOnGpu(e, [img], (t) => gaussianBlur(t, 1));
    expect(maxAbsDiff(both.data, refGaussianBlur(img, 1).data)).toBeLessThan(1e-6);
  });

  it('keeps a constant image (the taps are normalised, borders replicated)', async () => {
    const e = await testEngine();
    const flat = planes(1, 1, 4, 5, new Array(20).fill(0.37));
    const out = await runOnGpu(e, [flat], (t) => gaussianBlur(t, 0.8));
    expect(maxAbsDiff(out.data, flat.data)).toBeLessThan(1e-6);
  });
});
