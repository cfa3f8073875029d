import { describe, expect, it } from 'vitest';
import { planes, refUpsampleFlow } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { upsampleFlow } from './upsample';

describe('upsampleFlow', () => {
  it('interpolates bilinearly with the pyramid’s geometry and doubles the vectors', async () => {
    const e = await testEngine();
    const flow = planes(3, 2, 4, 5, rand(3 * 2 * 4 * 5, 18, -2, 2));
    for (const [h, w] of [
      [8, 10],
      [9, 11],
    ]) {
      const out = await runOnGpu(e, [flow], (t) => upsampleFlow(t, h, w));
      expect([out.n, out.c, out.h, out.w]).toEqual([3, 2, h, w]);
      expect(maxAbsDiff(out.data, refUpsampleFlow(flow, h, w).data)).toBeLessThan(1e-6);
    }
  });

  it('turns a constant coarse flow into twice that flow everywhere', async () => {
    const e = await testEngine();
    const flow = planes(1, 2, 3, 3, [...new Array(9).fill(0.75), ...new Array(9).fill(-1.25)]);
    const out = await runOnGpu(e, [flow], (t) => upsampleFlow(t, 6, 6));
    expect(maxAbsDiff(out.data, [...new Array(36).fill(1.5), ...new Array(36).fill(-2.5)])).toBeLessThan(1e-6);
  });
});
