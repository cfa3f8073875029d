import { describe, expect, it } from 'vitest';
import { planes, refGrey } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { rgbToGrey } from './grey';

describe('rgbToGrey', () => {
  it('is the Rec. 601 luma of every pixel of every frame', async () => {
    const e = await testEngine();
    const rgb = planes(3, 3, 5, 7, rand(3 * 3 * 5 * 7, 1, 0, 1));
    const out = await runOnGpu(e, [rgb], rgbToGrey);
    expect([out.n, out.c, out.h, out.w]).toEqual([3, 1, 5, 7]);
    expect(maxAbsDiff(out.data, refGrey(rgb).data)).toBeLessThan(1e-6);
  });

  it('refuses anything but three channels', async () => {
    const e = await testEngine();
    const t = e.zeros([1, 4, 2, 2]);
    expect(() => rgbToGrey(t)).toThrow(/\[N,3,H,W\]/);
    t.release();
  });
});
