import { describe, expect, it } from 'vitest';
import { planes, refWarpTargets } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { warpTargets } from './warp';

describe('warpTargets', () => {
  // 3 frames, 2 channels; flows reach up to 4 px, some far outside the 8×6 frame (clamped).
  const images = planes(3, 2, 6, 8, rand(3 * 2 * 6 * 8, 5, 0, 1));

  it('samples each pair’s target at x + flow, bilinear and clamped (forward and backward pairs)', async () => {
    const e = await testEngine();
    const flow = planes(4, 2, 6, 8, rand(4 * 2 * 6 * 8, 6, -4, 4));
    const out = await runOnGpu(e, [images, flow], warpTargets);
    expect([out.n, out.c]).toEqual([4, 2]);
    expect(maxAbsDiff(out.data, refWarpTargets(images, flow).data)).toBeLessThan(1e-6);
  });

  it('takes forward pairs alone too, and a zero flow returns the next frame', async () => {
    const e = await testEngine();
    const zero = planes(2, 2, 6, 8);
    const out = await runOnGpu(e, [images, zero], warpTargets);
    expect(maxAbsDiff(out.data, images.data.subarray(2 * 6 * 8))).toBe(0);
  });

  it('moves by whole pixels exactly', async () => {
    const e = await testEngine();
    const shift = planes(2, 2, 6, 8);
    shift.data.fill(1, 0, 6 * 8); // u = 1 for pair 0
    const out = await runOnGpu(e, [images, shift], warpTargets);
    const next = images.data.subarray(2 * 6 * 8);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 7; x++) expect(out.data[y * 8 + x]).toBe(next[y * 8 + x + 1]);
  });

  it('refuses a pair count that does not fit the frames', async () => {
    const e = await testEngine();
    const t = e.zeros([3, 1, 4, 4]);
    const f = e.zeros([3, 2, 4, 4]);
    expect(() => warpTargets(t, f)).toThrow(/3 pairs do not fit 3 frames/);
    t.release();
    f.release();
  });
});
