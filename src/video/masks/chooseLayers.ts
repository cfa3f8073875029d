/**
 * How a clip is decomposed: two layers (background + object, alpha bootstrapped from masks) or background only
 * (one layer, no alpha). In order: the user's choice of background only; the user's masks when given (and not all
 * empty); the automatic masks when they found an object (refined by relevancy where that ran); else background only.
 * The reason is a sentence for the UI.
 */
import type { MotionMasks } from './motionMasks';

export type LayerMode = 'two-layers' | 'background-only';

/** Where the bootstrap masks come from. */
export type MaskSource = 'user' | 'motion' | 'motion+relevancy' | 'none';

export interface LayerChoiceInput {
  /** The user asked for one background layer. */
  backgroundOnly?: boolean;
  /** Masks imported with the clip (VideoClip.masks). */
  userMasks?: readonly Uint8Array[] | null;
  /** motionMasks' result, when it ran. */
  automatic?: MotionMasks | null;
  /** The relevancy-refined masks of `automatic`, when a CLIP model refined them. */
  refined?: readonly Uint8Array[] | null;
}

export interface LayerChoice {
  mode: LayerMode;
  /** The bootstrap masks (null for background only). */
  masks: readonly Uint8Array[] | null;
  source: MaskSource;
  reason: string;
}

export const NO_OBJECT_REASON = 'No moving object found: the clip is decomposed into one background layer.';

const percent = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)} %`;

function anyObject(masks: readonly Uint8Array[]): boolean {
  return masks.some((m) => m.some((v) => v !== 0));
}

export function chooseLayers(input: LayerChoiceInput): LayerChoice {
  if (input.backgroundOnly) {
    return {
      mode: 'background-only',
      masks: null,
      source: 'none',
      reason: 'Background only, as chosen: the clip is decomposed into one background layer.',
    };
  }
  if (input.userMasks && input.userMasks.length > 0) {
    if (anyObject(input.userMasks)) {
      return {
        mode: 'two-layers',
        masks: input.userMasks,
        source: 'user',
        reason: 'Using the masks given with the clip: background and object layers.',
      };
    }
    return {
      mode: 'background-only',
      masks: null,
      source: 'none',
      reason: 'The masks given with the clip are empty: the clip is decomposed into one background layer.',
    };
  }
  const auto = input.automatic;
  if (auto && auto.found) {
    const refined = input.refined && input.refined.length === auto.masks.length && anyObject(input.refined);
    const frames = auto.masks.length;
    const mean = auto.coverage.reduce((a, b) => a + b, 0) / Math.max(1, frames);
    return {
      mode: 'two-layers',
      masks: refined ? input.refined! : auto.masks,
      source: refined ? 'motion+relevancy' : 'motion',
      reason:
        `A moving object was found in ${auto.framesWithObject} of ${frames} frames (${percent(mean)} of the picture on ` +
        `average)${refined ? ', refined by CLIP relevancy' : ''}: background and object layers.`,
    };
  }
  return { mode: 'background-only', masks: null, source: 'none', reason: NO_OBJECT_REASON };
}
