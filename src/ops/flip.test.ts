import { describe, expect, it } from 'vitest';
import { adjoint, img, refFlip, refNormalize } from '../../test/augmentRef';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { forwardBackward } from '../../test/opRun';
import { EngineError } from '../gpu/errors';
import { flipHorizontal } from './flip';
import { CLIP_MEAN, CLIP_STD, normalizeImage } from './normalize';

const SHAPE: [number, number, number, number] = [3, 3, 4, 7];
const SIZE = SHAPE.reduce((a, b) => a * b);

describe('flipHorizontal', () => {
  it('flips the flagged images, forward and backward', async () => {
    const e = await testEngine();
    const x = rand(SIZE, 1, 0, 1);
    const gy = rand(SIZE, 2);
    for (const which of [undefined, [true, false, true]]) {
      const flags = which ?? [true, true, true];
      const ref = refFlip(img(SHAPE, x), flags);
      const res = await forwardBackward(
        e,
        SHAPE,
        x,
        (t) => flipHorizontal(t, which),
        () => gy,
      );
      expect(maxAbsDiff(res.y, ref.y.data)).toBe(0);
      expect(maxAbsDiff(res.gx, adjoint(ref.taps, gy, SIZE))).toBe(0);
    }
    const r = await gradCheck(e, (t) => flipHorizontal(t, [false, true, true]), [{ shape: SHAPE, data: x }]);
    console.log(`flip gradCheck worst rel. error ${r.worst.toExponential(2)}`);
    expect(r.worst).toBeLessThan(1e-2);
    e.tidy(() => expect(() => flipHorizontal(e.fromArray(SHAPE, x), [true])).toThrow(EngineError));
  });
});

describe('normalizeImage', () => {
  it('matches (x − mean)/std per channel, backward gy/std', async () => {
    const e = await testEngine();
    const x = rand(SIZE, 3, 0, 1);
    const gy = rand(SIZE, 4);
    const res = await forwardBackward(
      e,
      SHAPE,
      x,
      (t) => normalizeImage(t, CLIP_MEAN, CLIP_STD),
      () => gy,
    );
    const ref = refNormalize(img(SHAPE, x), CLIP_MEAN, CLIP_STD).data;
    expect(maxAbsDiff(res.y, ref)).toBeLessThan(2e-6);
    const hw = SHAPE[2] * SHAPE[3];
    const gx = Float64Array.from(gy, (g, i) => g / CLIP_STD[Math.floor(i / hw) % 3]);
    expect(maxAbsDiff(res.gx, gx) / maxAbs(gx)).toBeLessThan(1e-6);
    const r = await gradCheck(e, (t) => normalizeImage(t), [{ shape: SHAPE, data: x }]);
    console.log(`normalize gradCheck worst rel. error ${r.worst.toExponential(2)}`);
    expect(r.worst).toBeLessThan(1e-2);
    e.tidy(() => expect(() => normalizeImage(e.fromArray(SHAPE, x), [0, 0], [1, 1])).toThrow(EngineError));
  });
});
