/**
 * The random pixels of one fitting iteration (VIDEO_ATLAS.md §2): `batch` pixels drawn uniformly over all frames,
 * with their normalised coordinates, colours and mask values, the first `rigidityBatch` of them also for the
 * rigidity terms and the first `flowBatch` for the flow terms (forward and backward). Drawn on the CPU from the
 * fit's seeded generator (the same seed gives the same batches), uploaded as small tables.
 */
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import type { Rng } from '../../nn/rng';
import { normT, normX, normY, pixelSize, type FrameGeometry } from './coords';
import { NO_FLOW } from './flowTargets';

/** The clip as the fit reads it on the CPU: planar-free RGBA frames and optional masks at the working size. */
export interface ClipPixels extends FrameGeometry {
  rgba: readonly Uint8ClampedArray[];
  masks: readonly Uint8Array[] | null;
}

export interface PointBatch {
  /** [N,3] (x, y, t). */
  coords: Tensor;
  /** [N,3] RGB in [0,1]. */
  rgb: Tensor;
  /** [N] mask in {0,1} (null without masks). */
  mask: Tensor | null;
  /** [R,3] the rigidity points shifted by `delta` along x and along y (delta in normalised units). */
  rigidity: { coords: Tensor; dx: Tensor; dy: Tensor; globalDx: Tensor; globalDy: Tensor };
  /** [M] packed pixel indices into the forward / backward flows (NO_FLOW at the clip's ends), M = flowBatch. */
  forwardIndex: Tensor;
  backwardIndex: Tensor;
  /** [M,3] the flow points' coordinates (the first M of `coords`, as their own tensor). */
  flowCoords: Tensor;
}

export interface BatchSizes {
  batch: number;
  rigidityBatch: number;
  flowBatch: number;
  /** The global rigidity's step in frame pixels. */
  globalPixels: number;
}

/** Draws a batch; its tensors belong to the caller's scope (one iteration's `engine.tidy`). */
export function sampleBatch(engine: Engine, clip: ClipPixels, sizes: BatchSizes, rng: Rng): PointBatch {
  const { width: w, height: h, frames: f } = clip;
  const n = sizes.batch;
  const coords = new Float32Array(3 * n);
  const rgb = new Float32Array(3 * n);
  const mask = clip.masks ? new Float32Array(n) : null;
  const fwd = new Uint32Array(sizes.flowBatch);
  const bwd = new Uint32Array(sizes.flowBatch);
  for (let k = 0; k < n; k++) {
    const t = rng.int(0, f - 1);
    const px = rng.int(0, w - 1);
    const py = rng.int(0, h - 1);
    coords[3 * k] = normX(clip, px);
    coords[3 * k + 1] = normY(clip, py);
    coords[3 * k + 2] = normT(clip, t);
    const q = py * w + px;
    const frame = clip.rgba[t];
    for (let c = 0; c < 3; c++) rgb[3 * k + c] = frame[4 * q + c] / 255;
    if (mask) mask[k] = clip.masks![t][q] >= 128 ? 1 : 0;
    if (k < sizes.flowBatch) {
      fwd[k] = t < f - 1 ? t * w * h + q : NO_FLOW;
      bwd[k] = t > 0 ? (t - 1) * w * h + q : NO_FLOW;
    }
  }
  const shifted = (count: number, step: number, axis: 0 | 1) => {
    const out = coords.slice(0, 3 * count);
    for (let k = 0; k < count; k++) out[3 * k + axis] += step;
    return out;
  };
  const r = sizes.rigidityBatch;
  const px = pixelSize(clip);
  const tensor = (shape: number[], data: Float32Array, label: string) => engine.fromArray(shape, data, label);
  return {
    coords: tensor([n, 3], coords, 'batch-coords'),
    rgb: tensor([n, 3], rgb, 'batch-rgb'),
    mask: mask && tensor([n], mask, 'batch-mask'),
    rigidity: {
      coords: tensor([r, 3], coords.slice(0, 3 * r), 'rigidity-coords'),
      dx: tensor([r, 3], shifted(r, px, 0), 'rigidity-dx'),
      dy: tensor([r, 3], shifted(r, px, 1), 'rigidity-dy'),
      globalDx: tensor([r, 3], shifted(r, sizes.globalPixels * px, 0), 'rigidity-global-dx'),
      globalDy: tensor([r, 3], shifted(r, sizes.globalPixels * px, 1), 'rigidity-global-dy'),
    },
    // u32 bits in a float tensor: a flat index can exceed float32's exact integers (2^24) on long clips.
    forwardIndex: tensor([sizes.flowBatch], new Float32Array(fwd.buffer), 'flow-index-forward'),
    backwardIndex: tensor([sizes.flowBatch], new Float32Array(bwd.buffer), 'flow-index-backward'),
    flowCoords: tensor([sizes.flowBatch, 3], coords.slice(0, 3 * sizes.flowBatch), 'flow-coords'),
  };
}
