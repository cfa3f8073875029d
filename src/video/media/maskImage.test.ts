import { describe, expect, it } from 'vitest';
import { createImage } from '../../edit/image';
import { maskCoverage, maskFromImage, resizeMask } from './maskImage';

describe('maskFromImage', () => {
  it('reads white (and DAVIS palette red) as object, black and transparent as background', () => {
    const img = createImage(5, 1);
    img.data.set([255, 255, 255, 255, 0, 0, 0, 255, 128, 0, 0, 255, 127, 127, 127, 255, 255, 255, 255, 0]);
    expect(Array.from(maskFromImage(img))).toEqual([255, 0, 255, 0, 0]);
  });
});

describe('resizeMask', () => {
  /** A w×h mask with a filled disc of radius r at the centre. */
  function disc(w: number, h: number, r: number): Uint8Array {
    const m = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) if ((x + 0.5 - w / 2) ** 2 + (y + 0.5 - h / 2) ** 2 <= r * r) m[y * w + x] = 255;
    }
    return m;
  }

  it('stays binary when shrinking and when growing, and keeps the object’s area', () => {
    const src = disc(768, 432, 150);
    for (const [w, h] of [
      [192, 108],
      [97, 55],
      [1000, 563],
    ]) {
      const out = resizeMask(src, 768, 432, w, h);
      expect(out).toHaveLength(w * h);
      expect(out.every((v) => v === 0 || v === 255)).toBe(true);
      expect(maskCoverage(out)).toBeCloseTo(maskCoverage(src), 2);
    }
  });

  it('copies at the same size and checks its input', () => {
    const src = disc(8, 8, 3);
    const out = resizeMask(src, 8, 8, 8, 8);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
    expect(() => resizeMask(src, 8, 9, 4, 4)).toThrow(RangeError);
  });

  it('keeps a pixel where the object covers at least half of it', () => {
    // Left half object in a 4×1 mask → 2×1: [255, 0]; three quarters → [255, 255] after the area filter.
    expect(Array.from(resizeMask(new Uint8Array([255, 255, 0, 0]), 4, 1, 2, 1))).toEqual([255, 0]);
    expect(Array.from(resizeMask(new Uint8Array([255, 255, 255, 0]), 4, 1, 2, 1))).toEqual([255, 255]);
    expect(Array.from(resizeMask(new Uint8Array([255, 0, 0, 0]), 4, 1, 1, 1))).toEqual([0]);
  });
});
