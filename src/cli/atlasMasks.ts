/**
 * Which masks an atlas fit bootstraps its alpha from: the masks given (a folder, zip or mask video, or the `masks/`
 * the import found beside the frames), else automatic motion masks from the flows, else none, and then the fit has
 * one layer (background only): without a mask there is nothing to tell the layers apart at the start.
 *
 * Automatic masks come from src/video/masks, which is being written; until it lands, `automaticMasks` reports them
 * unavailable and a clip without masks is fitted background-only.
 */
import type { Engine } from '../gpu/engine';
import type { FlowField } from '../video/flow';
import type { VideoClip } from '../video/media/videoClip';

export type MaskSource =
  | { kind: 'given'; masks: Uint8Array[] }
  | { kind: 'automatic'; masks: Uint8Array[] }
  | { kind: 'none'; reason: string };

export type MaskRequest = 'given-or-automatic' | 'automatic' | 'none';

/** Whether this build can find masks on its own. */
export const AUTOMATIC_MASKS_AVAILABLE = false;

/** Motion masks for the clip, null when no moving object is found; 'unavailable' without the masks module. */
export function automaticMasks(
  engine: Engine,
  flows: FlowField,
  clip: VideoClip,
): Promise<Uint8Array[] | null | 'unavailable'> {
  void engine;
  void flows;
  void clip;
  return Promise.resolve('unavailable');
}

/** Decides the masks of a fit (after the flows, which automatic masks need). */
export async function chooseMasks(
  request: MaskRequest,
  engine: Engine,
  flows: FlowField,
  clip: VideoClip,
): Promise<MaskSource> {
  if (request === 'none') return { kind: 'none', reason: 'background only, as asked' };
  if (request === 'given-or-automatic' && clip.masks) return { kind: 'given', masks: clip.masks };
  const found = await automaticMasks(engine, flows, clip);
  if (found === 'unavailable') {
    return {
      kind: 'none',
      reason:
        request === 'automatic'
          ? 'automatic masks are not available in this build'
          : 'no masks given and automatic masks are not available in this build',
    };
  }
  if (!found) return { kind: 'none', reason: 'no moving object found' };
  return { kind: 'automatic', masks: found };
}

/** The share of object pixels over all masks (for the log line). */
export function maskCoverage(masks: readonly Uint8Array[]): number {
  let n = 0;
  let total = 0;
  for (const m of masks) {
    total += m.length;
    for (let i = 0; i < m.length; i++) if (m[i] >= 128) n++;
  }
  return total ? n / total : 0;
}
