/**
 * Which masks an atlas fit bootstraps its alpha from, in src/video/masks' order (chooseLayers): background only when
 * asked; the masks given (a folder, zip or mask video, or the `masks/` the import found beside the frames) unless
 * they are empty; else automatic motion masks from the flows and frames when they find an object; else none, and
 * then the fit has one layer (background only): without a mask there is nothing to tell the layers apart at the start.
 */
import type { Engine } from '../gpu/engine';
import type { FlowField } from '../video/flow';
import { chooseLayers, motionMasksFromHost, readFlowsToHost, type LayerChoice } from '../video/masks';
import type { VideoClip } from '../video/media/videoClip';
import { planarFrames } from '../video/atlas/clipData';

export type MaskSource =
  | { kind: 'given'; masks: readonly Uint8Array[]; reason: string }
  | { kind: 'automatic'; masks: readonly Uint8Array[]; reason: string }
  | { kind: 'none'; reason: string };

/** 'automatic': motion masks even when the clip came with masks. */
export type MaskRequest = 'given-or-automatic' | 'automatic' | 'none';

function fromChoice(choice: LayerChoice): MaskSource {
  if (choice.mode === 'background-only' || !choice.masks) return { kind: 'none', reason: choice.reason };
  return { kind: choice.source === 'user' ? 'given' : 'automatic', masks: choice.masks, reason: choice.reason };
}

/**
 * Decides the masks of a fit (after the flows, which automatic masks need; the flows are read back, about
 * 6·(F − 1)·H·W floats). `engine` is the flows' (kept for callers that pass it; the masks run on the CPU).
 */
export async function chooseMasks(
  request: MaskRequest,
  engine: Engine,
  flows: FlowField,
  clip: VideoClip,
): Promise<MaskSource> {
  void engine;
  if (request === 'none') return fromChoice(chooseLayers({ backgroundOnly: true }));
  if (request === 'given-or-automatic' && clip.masks) return fromChoice(chooseLayers({ userMasks: clip.masks }));
  const automatic = motionMasksFromHost(await readFlowsToHost(flows), {}, planarFrames(clip));
  return fromChoice(chooseLayers({ automatic }));
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
