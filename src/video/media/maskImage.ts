/**
 * Masks: one byte per pixel, 255 = object, 0 = background. Read from a mask image (white = object, as in the DAVIS
 * layout and NLA's Mask R-CNN output) and resized so that they stay binary.
 */
import { createImage, resizeAntialiased } from '../../edit/image';
import type { RgbaImage } from '../../edit/jobTypes';

/** Object where the pixel is bright (any colour channel ≥ 128: white, or DAVIS's palette red) and not transparent. */
export function maskFromImage(img: RgbaImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const bright = d[p] >= 128 || d[p + 1] >= 128 || d[p + 2] >= 128;
    out[i] = bright && d[p + 3] >= 128 ? 255 : 0;
  }
  return out;
}

/**
 * Resizes a binary mask with the project's antialiased resize (PIL bilinear, area-aware when shrinking) and
 * thresholds the result at half: a pixel is object when object covers at least half of its filter footprint. The
 * result is binary again (unlike NLA's bilinear resize, spec §C.1, which leaves soft values).
 */
export function resizeMask(
  mask: Uint8Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
): Uint8Array {
  if (mask.length !== width * height) {
    throw new RangeError(`resizeMask: ${mask.length} bytes for a ${width}×${height} mask`);
  }
  if (width === toWidth && height === toHeight) return mask.slice();
  const img = createImage(width, height);
  for (let i = 0; i < mask.length; i++) img.data[i * 4] = mask[i];
  const resized = resizeAntialiased(img, toWidth, toHeight);
  const out = new Uint8Array(toWidth * toHeight);
  for (let i = 0; i < out.length; i++) out[i] = resized.data[i * 4] >= 128 ? 255 : 0;
  return out;
}

/** The fraction of object pixels (for reports and tests). */
export function maskCoverage(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return mask.length ? n / mask.length : 0;
}
