/**
 * Even frame sides for video encoders: 4:2:0 chroma (H.264 yuv420p, VP8/VP9/AV1 in WebCodecs) needs them. An odd
 * side loses its last column or row: a one-pixel crop, never a resample, so the pixels that remain are the frame's
 * own (the browser and the CLI encoders crop alike).
 */
import type { RgbaImage } from '../../edit/jobTypes';

/** The encoded size: each side rounded down to even. */
export function evenFrameSize(width: number, height: number): { width: number; height: number } {
  return { width: width - (width % 2), height: height - (height % 2) };
}

/** The frame's pixels as raw RGBA, cropped to `width`×`height` (its top-left corner); the frame's own bytes if equal. */
export function cropRgba(img: RgbaImage, width: number, height: number): Uint8Array {
  const src = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  if (img.width === width && img.height === height) return src;
  const out = new Uint8Array(4 * width * height);
  for (let y = 0; y < height; y++) out.set(src.subarray(4 * y * img.width, 4 * (y * img.width + width)), 4 * y * width);
  return out;
}
