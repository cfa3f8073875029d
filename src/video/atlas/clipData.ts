/**
 * A clip as an atlas fit reads it, shared by the worker and the command line: planar RGB floats (the flow's and the
 * motion masks' input), RGBA bytes with the masks for the point batches, and the clip's flows computed in batches
 * of pairs within a memory budget (src/video/flow/batchedFlows.ts).
 */
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { computeFlowsInBatches, flowPairsPerBatch, type FlowField } from '../flow';
import type { VideoClip } from '../media/videoClip';
import type { ClipPixels } from './pointBatch';

/** The frames as one planar [F,3,H,W] array in [0,1] (computeFlows' input). */
export function planarFrames(clip: Pick<VideoClip, 'width' | 'height' | 'frames'>): Float32Array {
  const { width: w, height: h } = clip;
  const hw = w * h;
  const out = new Float32Array(clip.frames.length * 3 * hw);
  clip.frames.forEach((frame, t) => {
    const d = frame.data;
    const base = t * 3 * hw;
    for (let q = 0; q < hw; q++) {
      out[base + q] = d[4 * q] / 255;
      out[base + hw + q] = d[4 * q + 1] / 255;
      out[base + 2 * hw + q] = d[4 * q + 2] / 255;
    }
  });
  return out;
}

/** The clip as the fit's point batches read it, with these masks (or none). */
export function clipPixels(clip: VideoClip, masks: readonly Uint8Array[] | null): ClipPixels {
  return {
    width: clip.width,
    height: clip.height,
    frames: clip.frames.length,
    rgba: clip.frames.map((f) => f.data),
    masks,
  };
}

/** The clip's forward and backward flows with their FB masks, in batches of pairs (the caller releases them). */
export function clipFlows(engine: Engine, clip: VideoClip, pairsPerBatch?: number): FlowField {
  const { width, height } = clip;
  const frames = clip.frames.length;
  return computeFlowsInBatches(
    engine,
    planarFrames(clip),
    frames,
    height,
    width,
    pairsPerBatch ?? flowPairsPerBatch(width, height, frames - 1),
  );
}

/** The frames as one [F,3,H,W] tensor in [0,1] on the device. */
export function framesTensor(engine: Engine, clip: Pick<VideoClip, 'width' | 'height' | 'frames'>): Tensor {
  return engine.fromArray([clip.frames.length, 3, clip.height, clip.width], planarFrames(clip), 'clip-frames');
}
