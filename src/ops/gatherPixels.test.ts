import { describe, expect, it } from 'vitest';
import { rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { gatherPixels, PixelIndexTable, pixelIndex } from './gatherPixels';

describe('gatherPixels', () => {
  it('reads every channel of the indexed pixels of an image batch', async () => {
    const e = await testEngine();
    const [F, C, H, W] = [3, 2, 5, 7];
    const images = rand(F * C * H * W, 1);
    const points: Array<[number, number, number]> = [
      [0, 0, 0],
      [2, 4, 6],
      [1, 2, 3],
      [2, 0, 6],
      [0, 4, 0],
      [1, 2, 3],
    ];
    const flat = points.map(([f, y, x]) => pixelIndex(f, y, x, H, W));
    const out = await e.tidy(() => gatherPixels(e.fromArray([F, C, H, W], images), PixelIndexTable.upload(e, flat)));
    expect(out.shape).toEqual([points.length, C]);
    const want = points.flatMap(([f, y, x]) =>
      Array.from({ length: C }, (_, c) => images[((f * C + c) * H + y) * W + x]),
    );
    expect(Array.from(await out.read())).toEqual(want);
    out.release();
  });

  it('rejects indices outside the batch, non-integer indices and images that want a gradient', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const images = e.fromArray([2, 1, 2, 2], rand(8, 2));
      expect(() => gatherPixels(images, PixelIndexTable.upload(e, [0, 8]))).toThrow(/outside 2 frames of 2×2/);
      expect(() => PixelIndexTable.upload(e, [1.5])).toThrow(EngineError);
      expect(() => PixelIndexTable.upload(e, [-1])).toThrow(/integers/);
      images.requiresGrad = true;
      Tape.start(e);
      expect(() => gatherPixels(images, PixelIndexTable.upload(e, [0]))).toThrow(/no gradient/);
      e.activeTape = null;
    });
  });
});
