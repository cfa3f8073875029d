/**
 * The working size of a clip: the long side at most `maxSide` (768 by default), both sides even (video encoders
 * need it), the aspect kept. A source that is already small enough is not upscaled, only trimmed to even sides.
 * 1920×1080 → 768×432 (the reference's resx/resy), 854×480 → 768×432, 481×271 → 480×270.
 */
export interface Size {
  width: number;
  height: number;
}

function nearestEven(x: number): number {
  return Math.max(2, 2 * Math.round(x / 2));
}

export function workingSize(width: number, height: number, maxSide: number): Size {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new RangeError(`workingSize: a source of ${width}×${height} px is too small (at least 2×2)`);
  }
  if (!Number.isInteger(maxSide) || maxSide < 2 || maxSide % 2 !== 0) {
    throw new RangeError(`workingSize: maxSide must be an even whole number (got ${maxSide})`);
  }
  const long = Math.max(width, height);
  if (long <= maxSide) return { width: width - (width % 2), height: height - (height % 2) };
  // The long side becomes maxSide exactly; the short one the nearest even number (never above the source's).
  const scale = maxSide / long;
  return width >= height
    ? { width: maxSide, height: nearestEven(height * scale) }
    : { width: nearestEven(width * scale), height: maxSide };
}
