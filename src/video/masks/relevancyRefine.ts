/**
 * Optional refinement of the motion masks where a CLIP model is loaded: the relevancy map of every frame for the
 * source/ROI text (frameRelevancy.ts) combined with that frame's motion mask (relevancyCombine.ts).
 */
import type { ClipVisionTower } from '../../clip/vision';
import type { Tensor } from '../../gpu/tensor';
import { frameRelevancy, type FrameRelevancyOptions } from './frameRelevancy';
import { combineWithRelevancy, type RelevancyCombineOptions } from './relevancyCombine';

export type RelevancyRefineOptions = RelevancyCombineOptions & FrameRelevancyOptions;

export interface RelevancyRefinement {
  /** The refined masks (0/255), one per frame. */
  masks: Uint8Array[];
  /** The relevancy map of each frame at the working size, in [0, 1] (for display). */
  relevancy: Float32Array[];
  /** Per frame: components kept and dropped (relevancyCombine.ts says what they count per mode). */
  kept: number[];
  dropped: number[];
}

/**
 * `frames` [F,3,H,W] (RGB in [0, 1], the tensor the flow was computed from), `masks` its motion masks,
 * `textEmbedding` the text tower's embedding of the source/ROI text (ClipTextEncoder.encode).
 */
export async function refineMasksWithRelevancy(
  vision: ClipVisionTower,
  frames: Tensor,
  masks: readonly Uint8Array[],
  textEmbedding: Float32Array,
  opts: RelevancyRefineOptions = {},
): Promise<RelevancyRefinement> {
  const [f, , h, w] = frames.shape;
  if (masks.length !== f) throw new RangeError(`refineMasksWithRelevancy: ${masks.length} masks for ${f} frames`);
  const out: RelevancyRefinement = { masks: [], relevancy: [], kept: [], dropped: [] };
  for (let t = 0; t < f; t++) {
    const map = await frameRelevancy(vision, frames, t, textEmbedding, opts);
    const c = combineWithRelevancy(masks[t], map, w, h, opts);
    out.masks.push(c.mask);
    out.relevancy.push(map);
    out.kept.push(c.kept);
    out.dropped.push(c.dropped);
  }
  return out;
}
