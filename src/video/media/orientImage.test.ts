import { describe, expect, it } from 'vitest';
import { createImage } from '../../edit/image';
import type { RgbaImage } from '../../edit/jobTypes';
import { orientImage } from './orientImage';

/** A 3×2 image whose pixels are numbered 1…6 in the red channel, row by row. */
function numbered(): RgbaImage {
  const img = createImage(3, 2);
  for (let i = 0; i < 6; i++) img.data.set([i + 1, 0, 0, 255], i * 4);
  return img;
}

const reds = (img: RgbaImage) => Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 4]);

describe('orientImage', () => {
  // 1 2 3
  // 4 5 6
  it('rotates clockwise', () => {
    const r90 = orientImage(numbered(), 90);
    expect([r90.width, r90.height]).toEqual([2, 3]);
    expect(reds(r90)).toEqual([4, 1, 5, 2, 6, 3]);
    expect(reds(orientImage(numbered(), 180))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(reds(orientImage(numbered(), 270))).toEqual([3, 6, 2, 5, 1, 4]);
  });

  it('flips after rotating, and leaves an upright image alone', () => {
    expect(reds(orientImage(numbered(), 0, true))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(reds(orientImage(numbered(), 90, true))).toEqual([1, 4, 2, 5, 3, 6]);
    const img = numbered();
    expect(orientImage(img, 0)).toBe(img);
  });

  it('handles pixel data that does not start on a 4-byte boundary', () => {
    const buffer = new Uint8ClampedArray(6 * 4 + 1);
    const img = { width: 3, height: 2, data: new Uint8ClampedArray(buffer.buffer, 1, 24) };
    img.data.set(numbered().data);
    expect(reds(orientImage(img, 180))).toEqual([6, 5, 4, 3, 2, 1]);
  });
});
