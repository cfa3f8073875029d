/**
 * Per-point values from an image batch at integer pixels (the atlas fitter's random pixel batches: RGB targets,
 * masks, flows at the sampled pixels). No existing op gathers at arbitrary indices (warp, resize and the slices
 * are all structured), hence this one.
 *
 * Pixels are given as flat indices k = f·H·W + y·W + x over the frames [F, C, H, W] (all channels of one pixel
 * share k), uploaded once per batch in a PixelIndexTable (u32: a float32 table would be exact only below 2^24
 * pixels, i.e. 50 frames of 768×432) and reused by every gather of that batch. No gradient: images are data.
 */
import type { Engine } from '../gpu/engine';
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl } from './common';

/** Flat index of pixel (x, y) of frame f in frames of height × width. */
export function pixelIndex(frame: number, y: number, x: number, height: number, width: number): number {
  return (frame * height + y) * width + x;
}

/** Flat pixel indices on the GPU (as u32 bits in a tensor's buffer) with their count and largest value. */
export class PixelIndexTable {
  private constructor(
    /** The indices' buffer; its elements are u32 bit patterns, not float values. */
    readonly indices: Tensor,
    readonly count: number,
    readonly maxIndex: number,
  ) {}

  /** Uploads integer indices in [0, 2^32). The table follows its tensor's scope (tidy) rules. */
  static upload(engine: Engine, flat: ArrayLike<number>): PixelIndexTable {
    const op = 'PixelIndexTable';
    const bits = new Uint32Array(flat.length);
    let maxIndex = -1;
    for (let n = 0; n < flat.length; n++) {
      const k = flat[n];
      if (!Number.isInteger(k) || k < 0 || k >= 2 ** 32) {
        throw new EngineError(op, `index ${n} is ${k}: pixel indices are integers in [0, 2^32)`);
      }
      bits[n] = k;
      maxIndex = Math.max(maxIndex, k);
    }
    const indices = engine.empty([flat.length], op);
    if (flat.length > 0) engine.upload(indices.buffer, bits);
    return new PixelIndexTable(indices, flat.length, maxIndex);
  }

  release(): void {
    this.indices.release();
  }
}

/** out[n, c] = images[k_n / HW, c, k_n % HW] (one invocation per output element). */
const GATHER_WGSL = perElementWgsl({
  fields: 'c: u32, hw: u32',
  read: ['images', 'idx: u32'],
  write: ['out'],
  body: `
  let n = i / p.c;
  let c = i % p.c;
  let k = idx[n];
  out[i] = images[((k / p.hw) * p.c + c) * p.hw + k % p.hw];`,
});

/** images [F, C, H, W], pixels: flat indices f·H·W + y·W + x → [N, C]. */
export function gatherPixels(images: Tensor, pixels: PixelIndexTable): Tensor {
  const op = 'gatherPixels';
  assertRank(op, images, 4, 'images');
  if (pixels.indices.engine !== images.engine) throw new EngineError(op, 'tensors belong to different engines');
  const [F, C, H, W] = images.shape;
  if (pixels.maxIndex >= F * H * W) {
    throw new EngineError(
      op,
      `pixel index ${pixels.maxIndex} is outside ${F} frames of ${H}×${W} (${shapeStr(images.shape)})`,
    );
  }
  if (images.requiresGrad && images.engine.activeTape) {
    throw new EngineError(op, 'gives no gradient to the images; gather under noGrad or from data tensors');
  }
  return perElementOutput({
    name: op,
    code: GATHER_WGSL,
    params: new Params()
      .u32(pixels.count * C)
      .u32(C)
      .u32(H * W),
    read: [images, pixels.indices],
    shape: [pixels.count, C],
  });
}
