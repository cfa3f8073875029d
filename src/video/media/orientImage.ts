/**
 * Applies a video track's display orientation to a decoded frame: decoders hand out the coded picture, the
 * container says how to show it (phone videos are often stored sideways with a 90° rotation).
 */
import { createImage } from '../../edit/image';
import type { RgbaImage } from '../../edit/jobTypes';

export type Rotation = 0 | 90 | 180 | 270;

/** Rotates clockwise by `rotation` degrees, then mirrors horizontally when `flip` (mediabunny's convention). */
export function orientImage(img: RgbaImage, rotation: Rotation, flip = false): RgbaImage {
  if (rotation === 0 && !flip) return img;
  const { width: w, height: h } = img;
  const quarter = rotation === 90 || rotation === 270;
  const out = createImage(quarter ? h : w, quarter ? w : h);
  const ow = out.width;
  const oh = out.height;
  // Whole pixels as 32-bit words; a view needs 4-byte alignment, which a Node Buffer slice may lack.
  const data = img.data.byteOffset % 4 === 0 ? img.data : new Uint8ClampedArray(img.data);
  const s = new Uint32Array(data.buffer, data.byteOffset, w * h);
  const d = new Uint32Array(out.data.buffer, out.data.byteOffset, ow * oh);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Where source pixel (x, y) lands after the clockwise rotation.
      let ox: number;
      let oy: number;
      if (rotation === 90) {
        ox = h - 1 - y;
        oy = x;
      } else if (rotation === 180) {
        ox = w - 1 - x;
        oy = h - 1 - y;
      } else if (rotation === 270) {
        ox = y;
        oy = w - 1 - x;
      } else {
        ox = x;
        oy = y;
      }
      if (flip) ox = ow - 1 - ox;
      d[oy * ow + ox] = s[y * w + x];
    }
  }
  return out;
}
