/**
 * Binary morphology of masks (nonzero = object; results are 0/255) with a disc of radius r (the pixels with
 * dx² + dy² ≤ r²), through the exact distance transform. Pixels outside the frame take no part: dilation looks at
 * the object pixels in the frame, erosion at the background pixels in the frame, so an object that touches the
 * border is not eaten from that side.
 */
import { FAR, squaredDistanceTransform } from './distanceTransform';

function check(mask: Uint8Array, width: number, height: number, radius: number): void {
  if (mask.length !== width * height) throw new RangeError(`mask of ${mask.length} bytes for ${width}×${height}`);
  if (!(radius >= 0)) throw new RangeError(`radius must be ≥ 0, got ${radius}`);
}

/** On where some object pixel lies within the disc. */
export function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  check(mask, width, height, radius);
  const d = squaredDistanceTransform(width, height, (k) => mask[k] !== 0);
  const r2 = radius * radius;
  return Uint8Array.from(d, (v) => (v <= r2 && v < FAR / 2 ? 255 : 0));
}

/** On where every pixel of the disc (inside the frame) is object. */
export function erode(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  check(mask, width, height, radius);
  const d = squaredDistanceTransform(width, height, (k) => mask[k] === 0);
  const r2 = radius * radius;
  return Uint8Array.from(d, (v, k) => (mask[k] !== 0 && v > r2 ? 255 : 0));
}

/** Erosion then dilation: removes specks and thin spurs narrower than the disc. */
export function open(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  return dilate(erode(mask, width, height, radius), width, height, radius);
}

/** Dilation then erosion: closes gaps and notches narrower than the disc. */
export function close(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  return erode(dilate(mask, width, height, radius), width, height, radius);
}
