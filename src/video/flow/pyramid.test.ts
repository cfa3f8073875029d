import { describe, expect, it } from 'vitest';
import { planes, refDownsample, refGaussianBlur } from '../../../test/flowReference';
import { toPlanes, toTensor } from '../../../test/flowScenes';
import { maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { buildPyramid, pyramidLevelsFor, pyramidSizes } from './pyramid';

describe('pyramid', () => {
  it('has the recipe’s level counts: 4 at 384×216, 5 at 768×432', () => {
    expect(pyramidLevelsFor(216, 384)).toBe(4);
    expect(pyramidLevelsFor(432, 768)).toBe(5);
    expect(pyramidLevelsFor(384, 216)).toBe(4);
    expect(pyramidLevelsFor(48, 64)).toBe(2);
    expect(pyramidLevelsFor(20, 20)).toBe(1);
    expect(pyramidSizes(216, 384, 4)).toEqual([
      [216, 384],
      [108, 192],
      [54, 96],
      [27, 48],
    ]);
    expect(() => pyramidSizes(4, 4, 4)).toThrow(/cannot have 4 levels/);
  });

  it('blurs (σ = 0.8) and halves each level, like the reference', async () => {
    const e = await testEngine();
    const img = planes(2, 1, 13, 18, rand(2 * 13 * 18, 4, 0, 1));
    const levels = e.tidy(() => buildPyramid(toTensor(e, img), 3, 0.8));
    let ref = img;
    for (const [l, level] of levels.entries()) {
      if (l > 0) ref = refDownsample(refGaussianBlur(ref, 0.8));
      const got = await toPlanes(level);
      expect([got.h, got.w]).toEqual([ref.h, ref.w]);
      expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-5);
      level.release();
    }
  });
});
