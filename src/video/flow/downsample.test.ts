import { describe, expect, it } from 'vitest';
import { planes, refDownsample } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { downsample2x } from './downsample';

describe('downsample2x', () => {
  it('averages 2×2 blocks of every plane, dropping an odd last row and column', async () => {
    const e = await testEngine();
    const img = planes(2, 2, 7, 9, rand(2 * 2 * 7 * 9, 3, 0, 1));
    const out = await runOnGpu(e, [img], downsample2x);
    expect([out.n, out.c, out.h, out.w]).toEqual([2, 2, 3, 4]);
    expect(maxAbsDiff(out.data, refDownsample(img).data)).toBeLessThan(1e-6);
    expect(out.data[0]).toBeCloseTo((img.data[0] + img.data[1] + img.data[9] + img.data[10]) / 4, 6);
  });

  it('refuses a plane it cannot halve', async () => {
    const e = await testEngine();
    const t = e.zeros([1, 1, 1, 4]);
    expect(() => downsample2x(t)).toThrow(/too small/);
    t.release();
  });
});
