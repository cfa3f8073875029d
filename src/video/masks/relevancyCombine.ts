/**
 * How a CLIP relevancy map (min–max normalised per frame, so its maximum is 1) refines a motion mask. Relevancy
 * comes from a ViT's patch grid (7×7 for ViT-B/32 at 224²): it says which thing the text names, not where its edge
 * is, so the default mode only chooses among the motion mask's components and keeps the motion's edges.
 *
 * - 'components' (default): keep the components whose mean relevancy is ≥ `threshold`; when none reaches it, keep
 *   the most relevant one (the motion says something moves; relevancy only picks which).
 * - 'intersect': keep the mask's pixels whose relevancy is ≥ `threshold` (trims a moving region the text does not
 *   name, e.g. a reflection attached to the object), then drop components below `minComponentArea` and fill holes.
 *   The result may be empty.
 */
import { fillHoles, objectComponents, removeSmallComponents } from './components';

export type RelevancyCombineMode = 'components' | 'intersect';

export interface RelevancyCombineOptions {
  mode?: RelevancyCombineMode;
  /** In [0, 1] (default 0.5). */
  threshold?: number;
  /** 'intersect' only: the smallest component kept, px (default 0.002 of the frame, at least 4 px). */
  minComponentArea?: number;
}

export interface RelevancyCombination {
  mask: Uint8Array;
  /** 'components': components kept and dropped; 'intersect': components before and after the trim. */
  kept: number;
  dropped: number;
}

export function combineWithRelevancy(
  mask: Uint8Array,
  relevancy: Float32Array,
  width: number,
  height: number,
  opts: RelevancyCombineOptions = {},
): RelevancyCombination {
  const hw = width * height;
  if (mask.length !== hw || relevancy.length !== hw) {
    throw new RangeError(
      `combineWithRelevancy: ${mask.length}-px mask and ${relevancy.length}-px map for ${width}×${height}`,
    );
  }
  const threshold = opts.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
  const c = objectComponents(mask, width, height);
  const n = c.areas.length;
  if ((opts.mode ?? 'components') === 'intersect') {
    const minArea = opts.minComponentArea ?? Math.max(4, Math.round(0.002 * hw));
    const trimmed = Uint8Array.from(mask, (m, k) => (m !== 0 && relevancy[k] >= threshold ? 255 : 0));
    const out = fillHoles(removeSmallComponents(trimmed, width, height, minArea), width, height);
    const left = objectComponents(out, width, height).areas.length;
    return { mask: out, kept: left, dropped: Math.max(0, n - left) };
  }
  const sums = new Float64Array(n);
  for (let k = 0; k < hw; k++) if (c.labels[k] >= 0) sums[c.labels[k]] += relevancy[k];
  const means = Array.from(sums, (s, i) => s / c.areas[i]);
  const keep = means.map((m) => m >= threshold);
  if (n > 0 && !keep.some(Boolean)) keep[means.indexOf(Math.max(...means))] = true;
  const out = Uint8Array.from(c.labels, (l) => (l >= 0 && keep[l] ? 255 : 0));
  const kept = keep.filter(Boolean).length;
  return { mask: out, kept, dropped: n - kept };
}
