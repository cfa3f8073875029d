/**
 * The flows of a clip on the CPU, for the mask steps that run there (the robust fits, thresholds, morphology and
 * connected components: reductions, sorts and sequential labelling over a few million pixels, cheap in JavaScript
 * and awkward as many small GPU passes). At the working size this is 6·(F − 1)·H·W floats (two flows of two channels,
 * two validity planes): ~93 MiB at 384×216 with 50 frames, read once.
 */
import type { FlowField } from '../flow';

/** Flows as planes: forward/backward [F − 1, 2, H, W] (u then v per pair), validity [F − 1, H, W] (1 = valid). */
export interface HostFlows {
  width: number;
  height: number;
  /** F − 1. */
  pairs: number;
  forward: Float32Array;
  backward: Float32Array;
  forwardValid: Float32Array;
  backwardValid: Float32Array;
}

export type FlowDirection = 'forward' | 'backward';

/** Reads the four tensors of a FlowField back (they stay the caller's). */
export async function readFlowsToHost(flows: FlowField): Promise<HostFlows> {
  const [pairs, , height, width] = flows.forward.shape;
  const [forward, backward, forwardValid, backwardValid] = await Promise.all([
    flows.forward.read(),
    flows.backward.read(),
    flows.forwardValid.read(),
    flows.backwardValid.read(),
  ]);
  return { width, height, pairs, forward, backward, forwardValid, backwardValid };
}

/** Pair p's flow of one direction: u = plane[k], v = plane[hw + k] for pixel k. A view, not a copy. */
export function flowPlane(f: HostFlows, direction: FlowDirection, p: number): Float32Array {
  const hw = f.width * f.height;
  return (direction === 'forward' ? f.forward : f.backward).subarray(2 * p * hw, 2 * (p + 1) * hw);
}

/** Pair p's validity of one direction (1 where the forward–backward check passed). A view, not a copy. */
export function validPlane(f: HostFlows, direction: FlowDirection, p: number): Float32Array {
  const hw = f.width * f.height;
  return (direction === 'forward' ? f.forwardValid : f.backwardValid).subarray(p * hw, (p + 1) * hw);
}
