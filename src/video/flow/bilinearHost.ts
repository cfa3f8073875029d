/** Bilinear sampling on the CPU (evaluations and measurements that warp frames by flows). */

/**
 * Bilinear sample of an interleaved `channels`-channel image (w×h) at fractional pixel (x, y) (pixel centres at
 * integers), border-clamped, into out[o..o+channels).
 */
export function sampleBilinear(
  img: ArrayLike<number>,
  w: number,
  h: number,
  channels: number,
  x: number,
  y: number,
  out: Float32Array | Float64Array,
  o = 0,
): void {
  const cx = Math.min(Math.max(x, 0), w - 1);
  const cy = Math.min(Math.max(y, 0), h - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, w - 1);
  const y1 = Math.min(y0 + 1, h - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const a = (y0 * w + x0) * channels;
  const b = (y0 * w + x1) * channels;
  const c = (y1 * w + x0) * channels;
  const d = (y1 * w + x1) * channels;
  for (let k = 0; k < channels; k++) {
    const top = img[a + k] + (img[b + k] - img[a + k]) * fx;
    const bottom = img[c + k] + (img[d + k] - img[c + k]) * fx;
    out[o + k] = top + (bottom - top) * fy;
  }
}
