/**
 * Optical flow for a whole clip in batches of consecutive pairs so that the flow's transient memory
 * stays bounded: computeFlows runs every pair of its input in one batch, and its peak grows with the pairs (2.9 GB
 * for 69 pairs at 768×432, about 128 bytes per pixel per pair, measured by `bench atlas`'s memory-only run), above
 * what the whole fit needs. Each pair's flow is computed on its own, so batching changes no value. Only the frames
 * of the batch are on the GPU at a time, and the pool is trimmed after each batch, so that the buffers of one batch
 * (sizes the fit never asks for) are not kept allocated next to the next one's.
 */
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { computeFlows, type FlowField } from './computeFlows';

/** computeFlows' peak per pair and pixel, and the budget one batch may take. */
export const FLOW_BYTES_PER_PAIR_PIXEL = 128;
export const FLOW_BATCH_BYTES = 512 * 2 ** 20;

/** The most pairs per batch within the budget, evened out over the batches (equal sizes reuse the same buffers). */
export function flowPairsPerBatch(width: number, height: number, pairs = Infinity): number {
  const most = Math.max(1, Math.floor(FLOW_BATCH_BYTES / (FLOW_BYTES_PER_PAIR_PIXEL * width * height)));
  if (!Number.isFinite(pairs)) return most;
  return Math.ceil(pairs / Math.ceil(pairs / most));
}

/**
 * The forward and backward flows with their FB masks of `frames` planar [F,3,H,W] frames (`planar`, null: zeros,
 * for the memory-only run), at most `pairsPerBatch` pairs per computeFlows call. The caller releases the result.
 */
export function computeFlowsInBatches(
  engine: Engine,
  planar: Float32Array | null,
  frames: number,
  height: number,
  width: number,
  pairsPerBatch = flowPairsPerBatch(width, height, frames - 1),
): FlowField {
  const pairs = frames - 1;
  if (pairs < 1) throw new Error(`The flow needs at least two frames, got ${frames}`);
  const hw = height * width;
  const out: FlowField = {
    forward: engine.empty([pairs, 2, height, width], 'flow-forward'),
    backward: engine.empty([pairs, 2, height, width], 'flow-backward'),
    forwardValid: engine.empty([pairs, 1, height, width], 'flow-forward-valid'),
    backwardValid: engine.empty([pairs, 1, height, width], 'flow-backward-valid'),
  };
  try {
    for (let first = 0; first < pairs; first += pairsPerBatch) {
      const n = Math.min(pairsPerBatch, pairs - first);
      engine.tidy(() => {
        // Frames first … first + n hold pairs first … first + n − 1.
        const shape = [n + 1, 3, height, width];
        const batch: Tensor = planar
          ? engine.fromArray(shape, planar.subarray(first * 3 * hw, (first + n + 1) * 3 * hw), 'flow-batch-frames')
          : engine.zeros(shape, 'flow-batch-frames');
        const field = computeFlows(engine, batch);
        for (const k of ['forward', 'backward', 'forwardValid', 'backwardValid'] as const) {
          const bytes = field[k].byteSize / n;
          engine.copy(field[k], out[k], field[k].byteSize, 0, first * bytes);
        }
      });
      engine.pool.trim();
    }
  } catch (e) {
    for (const t of Object.values(out)) t.release();
    throw e;
  }
  return out;
}
