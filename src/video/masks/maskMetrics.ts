/** Figures of masks (nonzero = object): coverage and intersection over union, per frame and over a clip. */

/** The fraction of object pixels. */
export function coverage(mask: Uint8Array): number {
  let n = 0;
  for (let k = 0; k < mask.length; k++) if (mask[k] !== 0) n++;
  return mask.length ? n / mask.length : 0;
}

/** Object pixels in both and in either. */
export function overlap(a: Uint8Array, b: Uint8Array): { intersection: number; union: number } {
  if (a.length !== b.length) throw new RangeError(`masks of ${a.length} and ${b.length} pixels`);
  let intersection = 0;
  let union = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] !== 0;
    const y = b[k] !== 0;
    if (x && y) intersection++;
    if (x || y) union++;
  }
  return { intersection, union };
}

/** |a ∩ b| / |a ∪ b|; 1 when both are empty (they agree). */
export function iou(a: Uint8Array, b: Uint8Array): number {
  const o = overlap(a, b);
  return o.union ? o.intersection / o.union : 1;
}

/** The clip's IoU: all frames' intersections over all frames' unions (large frames weigh more than a per-frame mean). */
export function clipIou(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  if (a.length !== b.length) throw new RangeError(`${a.length} and ${b.length} masks`);
  let i = 0;
  let u = 0;
  a.forEach((m, t) => {
    const o = overlap(m, b[t]);
    i += o.intersection;
    u += o.union;
  });
  return u ? i / u : 1;
}
