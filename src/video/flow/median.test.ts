import { describe, expect, it } from 'vitest';
import { planes, refMedian3x3 } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { median3x3 } from './median';

describe('median3x3', () => {
  it('matches a sort-based reference on every plane, borders replicated, with ties', async () => {
    const e = await testEngine();
    const random = planes(2, 2, 5, 6, rand(2 * 2 * 5 * 6, 16, -3, 3));
    // Rounded to quarters: many equal values.
    const ties = planes(
      1,
      1,
      5,
      6,
      [...rand(30, 17, 0, 2)].map((x) => Math.round(4 * x) / 4),
    );
    for (const img of [random, ties]) {
      const out = await runOnGpu(e, [img], median3x3);
      expect(maxAbsDiff(out.data, refMedian3x3(img).data)).toBe(0);
    }
  });

  it('removes an isolated outlier and keeps a step edge', async () => {
    const e = await testEngine();
    const img = planes(1, 1, 5, 6);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) img.data[y * 6 + x] = x < 3 ? 0 : 1;
    img.data[2 * 6 + 1] = 50;
    const out = await runOnGpu(e, [img], median3x3);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) expect(out.data[y * 6 + x]).toBe(x < 3 ? 0 : 1);
  });
});
