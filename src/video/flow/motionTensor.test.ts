import { describe, expect, it } from 'vitest';
import { planes, refMotionProducts, refStructureTensor } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { motionProducts, structureTensor } from './motionTensor';

describe('motionProducts (derivatives)', () => {
  const images = planes(3, 1, 7, 9, rand(3 * 7 * 9, 7, 0, 1));
  const warped = planes(4, 1, 7, 9, rand(4 * 7 * 9, 8, 0, 1));

  it('matches the reference: 5-tap Ix, Iy averaged over I1 and warped I2, It = I2w − I1', async () => {
    const e = await testEngine();
    const out = await runOnGpu(e, [images, warped], motionProducts);
    expect([out.n, out.c, out.h, out.w]).toEqual([4, 5, 7, 9]);
    expect(maxAbsDiff(out.data, refMotionProducts(images, warped).data)).toBeLessThan(1e-6);
  });

  it('differentiates a cubic exactly away from the border', async () => {
    const e = await testEngine();
    const [h, w] = [9, 11];
    const f = (x: number, y: number) => 0.001 * x * x * x - 0.02 * x * y + 0.03 * y * y + 0.1 * x;
    const fx = (x: number, y: number) => 0.003 * x * x - 0.02 * y + 0.1;
    const fy = (x: number, y: number) => -0.02 * x + 0.06 * y;
    const img = planes(2, 1, h, w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = f(x, y);
    // The warped target equals I1 (no temporal change): products are Ix², IxIy, Iy², 0, 0.
    const warpedSame = planes(1, 1, h, w, img.data.subarray(0, h * w));
    const out = await runOnGpu(e, [img, warpedSame], motionProducts);
    const hw = h * w;
    for (let y = 2; y < h - 2; y++) {
      for (let x = 2; x < w - 2; x++) {
        const k = y * w + x;
        expect(out.data[k]).toBeCloseTo(fx(x, y) ** 2, 6);
        expect(out.data[hw + k]).toBeCloseTo(fx(x, y) * fy(x, y), 6);
        expect(out.data[2 * hw + k]).toBeCloseTo(fy(x, y) ** 2, 6);
        expect(Math.abs(out.data[3 * hw + k])).toBe(0);
        expect(Math.abs(out.data[4 * hw + k])).toBe(0);
      }
    }
  });
});

describe('structureTensor', () => {
  it('is the products smoothed with G_ρ (ρ = 1), or the bare products for ρ = 0', async () => {
    const e = await testEngine();
    const images = planes(2, 1, 8, 10, rand(2 * 8 * 10, 9, 0, 1));
    const warped = planes(2, 1, 8, 10, rand(2 * 8 * 10, 10, 0, 1));
    for (const rho of [1, 0]) {
      const out = await runOnGpu(e, [images, warped], (a, b) => structureTensor(a, b, rho));
      expect(maxAbsDiff(out.data, refStructureTensor(images, warped, rho).data)).toBeLessThan(1e-6);
    }
  });
});
