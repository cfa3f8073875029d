/**
 * CLIP relevancy maps of a clip's frames (src/clip/relevancy.ts) at the working size: each frame is resized to the
 * model's input (S×S, bilinear, aspect not kept, as the image job's relevancyTarget does), normalised, its map
 * computed there and resized back to H×W (bilinear). One frame at a time: a ViT-B/32 backward to the attention
 * probabilities per frame, and only one frame's activations live.
 */
import { relevancyTensors } from '../../clip/relevancy';
import type { ClipVisionTower } from '../../clip/vision';
import { EngineError, shapeStr } from '../../gpu/errors';
import type { Tensor } from '../../gpu/tensor';
import { CLIP_MEAN, CLIP_STD, normalizeImage } from '../../ops/normalize';
import { cropResize, resizeBilinear } from '../../ops/resize';

export interface FrameRelevancyOptions {
  /** How many of the last attention blocks the map uses (default 1, the reference's). */
  blocks?: number;
}

/** Frame t of `frames` [F,3,H,W] (RGB in [0, 1]): its relevancy for `textEmbedding`, H×W row-major in [0, 1]. */
export async function frameRelevancy(
  vision: ClipVisionTower,
  frames: Tensor,
  t: number,
  textEmbedding: Float32Array,
  opts: FrameRelevancyOptions = {},
): Promise<Float32Array> {
  const engine = vision.engine;
  const [f, c, h, w] = frames.shape;
  if (frames.shape.length !== 4 || c !== 3) {
    throw new EngineError('frameRelevancy', `frames must be [F,3,H,W], got ${shapeStr(frames.shape)}`);
  }
  if (!Number.isInteger(t) || t < 0 || t >= f) throw new EngineError('frameRelevancy', `no frame ${t} of ${f}`);
  const size = vision.config.imageSize;
  const pixels = engine.tidy(() =>
    engine.noGrad(() =>
      normalizeImage(
        cropResize(frames, [{ src: t, top: 0, left: 0, height: h, width: w }], size, size),
        CLIP_MEAN,
        CLIP_STD,
      ),
    ),
  );
  const rel = relevancyTensors(vision, pixels, textEmbedding, { blocks: opts.blocks ?? 1 });
  pixels.release();
  rel.grid.release();
  const map = engine.tidy(() => engine.noGrad(() => resizeBilinear(rel.map, h, w)));
  rel.map.release();
  try {
    return await map.read();
  } finally {
    map.release();
  }
}
