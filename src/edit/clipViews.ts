/**
 * CLIP's augmented views of an image (spec §A.7, `models/clip_extractor.py`) and the un-augmented
 * structure-loss input (§A.6.2), differentiable w.r.t. the image.
 *
 * views(I), I [1,3,H,W] in [0, 1]:
 *   v0 = Resize(224, max_size=M)(I) → (hv, wv); view k ≥ 1 = resize_to(hv, wv)(random crop of I);
 *   each view: flip → affine → perspective → colour jitter (permuted) → grayscale; then CLIP normalize.
 * All views are computed together: one crop-and-resize dispatch, one warp dispatch per geometric step
 * (flip folded into the affine warp, identity matrices for views that skip a step), one colour
 * dispatch per jitter slot and one for grayscale, then the normalization.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import type { Rng } from '../nn/rng';
import { colorAdjust, grayscale, type ColorOp } from '../ops/colorJitter';
import { flipHorizontal } from '../ops/flip';
import { CLIP_MEAN, CLIP_STD, normalizeImage } from '../ops/normalize';
import { cropResize, resizeBilinear, resizeShortSide, type CropBox } from '../ops/resize';
import { warpAffine, warpPerspective, type AffineParams, type PerspectiveCorners } from '../ops/warp';

/** The four colour-jitter operations, in torchvision's fn_idx numbering (0..3). */
export type JitterKind = 'brightness' | 'contrast' | 'saturation' | 'hue';
export const JITTER_KINDS: readonly JitterKind[] = ['brightness', 'contrast', 'saturation', 'hue'];

export interface JitterParams {
  /** The application order (a permutation of the four kinds). */
  order: JitterKind[];
  brightness: number;
  contrast: number;
  saturation: number;
  /** Hue shift δ in [−0.1, 0.1]. */
  hue: number;
}

/** The random parameters of one view. */
export interface ViewParams {
  /** Crop of the full-resolution input (rows top..top+height, columns left..left+width); null: whole image (view 0). */
  crop: { top: number; left: number; height: number; width: number } | null;
  flip: boolean;
  affine: AffineParams | null;
  /** Destination corners TL, TR, BR, BL (integers) of RandomPerspective; null: not applied. */
  perspective: PerspectiveCorners | null;
  jitter: JitterParams | null;
  grayscale: boolean;
  /** The view size (hv, wv) the geometric parameters were drawn for. */
  viewH: number;
  viewW: number;
  /** Affine/perspective fill in [0, 1] pixel space (1 for images, 0 for video). */
  fill: number;
}

export interface ViewOptions {
  /** clip_affine_transform_fill: 1 (white) for images, 0 for video. */
  fill: number;
  /** Short side of the first view (default 224). */
  size?: number;
  /** Long-side cap of the first view (default 320). */
  maxSize?: number;
}

/** Probabilities and ranges of spec §A.7. */
export const AUG = Object.freeze({
  cropScale: [0.6, 1] as const,
  flipP: 0.5,
  affineP: 0.8,
  degrees: 15,
  translate: 0.1,
  perspectiveP: 0.5,
  distortion: 0.4,
  jitterP: 0.7,
  jitterRange: 0.1,
  grayscaleP: 0.15,
});

/** Python's round(): half to even. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r + 0; // no −0
}

/**
 * torchvision's ColorJitter(0.1, 0.1, 0.1, 0.1) applied with probability p: a coin, then a random order of the four
 * operations, factors U(0.9, 1.1) and a hue shift U(−0.1, 0.1); null when the coin says no.
 */
export function sampleJitter(rng: Rng, p: number): JitterParams | null {
  if (!(rng.next() < p)) return null;
  const order = [...JITTER_KINDS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const j = AUG.jitterRange;
  return {
    order,
    brightness: rng.uniform(1 - j, 1 + j),
    contrast: rng.uniform(1 - j, 1 + j),
    saturation: rng.uniform(1 - j, 1 + j),
    hue: rng.uniform(-j, j),
  };
}

/** Colour jitter of images [N,3,H,W], image n with jitters[n] (null: unchanged); differentiable. */
export function jitterImages(images: Tensor, jitters: ReadonlyArray<JitterParams | null>): Tensor {
  let v = images;
  for (let slot = 0; slot < JITTER_KINDS.length; slot++) {
    const ops: ColorOp[] = jitters.map((j) => j?.order[slot] ?? 'none');
    if (ops.every((o) => o === 'none')) continue;
    const factors = jitters.map((j, k) => (j && ops[k] !== 'none' ? j[ops[k] as JitterKind] : 0));
    v = colorAdjust(v, ops, factors);
  }
  return v;
}

/** The `aug` draws of one view of size hv×wv, in torchvision's order. */
function sampleAug(rng: Rng, hv: number, wv: number): Omit<ViewParams, 'crop' | 'viewH' | 'viewW' | 'fill'> {
  const flip = rng.next() < AUG.flipP;
  let affine: AffineParams | null = null;
  if (rng.next() < AUG.affineP) {
    const angle = rng.uniform(-AUG.degrees, AUG.degrees);
    const maxDx = AUG.translate * wv;
    const maxDy = AUG.translate * hv;
    const tx = roundHalfEven(rng.uniform(-maxDx, maxDx));
    const ty = roundHalfEven(rng.uniform(-maxDy, maxDy));
    affine = { angle, tx, ty };
  }
  let perspective: PerspectiveCorners | null = null;
  if (rng.next() < AUG.perspectiveP) {
    const dx = Math.trunc(AUG.distortion * Math.floor(wv / 2));
    const dy = Math.trunc(AUG.distortion * Math.floor(hv / 2));
    const tl: [number, number] = [rng.int(0, dx), rng.int(0, dy)];
    const tr: [number, number] = [rng.int(wv - dx - 1, wv - 1), rng.int(0, dy)];
    const br: [number, number] = [rng.int(wv - dx - 1, wv - 1), rng.int(hv - dy - 1, hv - 1)];
    const bl: [number, number] = [rng.int(0, dx), rng.int(hv - dy - 1, hv - 1)];
    perspective = [tl, tr, br, bl];
  }
  const jitter = sampleJitter(rng, AUG.jitterP);
  const gray = rng.next() < AUG.grayscaleP;
  return { flip, affine, perspective, jitter, grayscale: gray };
}

/**
 * Draws the random parameters of n views of an H×W image (spec §A.7): view 0 is the whole image; each
 * other view first draws s ~ U(0.6, 1), a crop of (int(H·s), int(W·s)) and its integer offset (top,
 * then left); every view then draws flip (p 0.5), affine (p 0.8: θ ~ U(−15°, 15°), tx = round(U(±0.1·wv)),
 * ty = round(U(±0.1·hv))), perspective (p 0.5, distortion 0.4, integer corners), colour jitter (p 0.7:
 * a random order, factors U(0.9, 1.1), hue U(−0.1, 0.1)) and grayscale (p 0.15), where (hv, wv) is the
 * view size Resize(size, max_size)(H, W). Deterministic for a given rng state.
 */
export function sampleViewParams(rng: Rng, n: number, H: number, W: number, opts: ViewOptions): ViewParams[] {
  if (!Number.isInteger(n) || n < 1)
    throw new EngineError('sampleViewParams', `n must be a positive integer, got ${n}`);
  const [viewH, viewW] = resizeShortSide(H, W, opts.size ?? 224, opts.maxSize ?? 320);
  const fill = opts.fill;
  const views: ViewParams[] = [{ crop: null, ...sampleAug(rng, viewH, viewW), viewH, viewW, fill }];
  for (let k = 1; k < n; k++) {
    const s = rng.uniform(AUG.cropScale[0], AUG.cropScale[1]);
    const height = Math.trunc(H * s);
    const width = Math.trunc(W * s);
    const top = rng.int(0, H - height);
    const left = rng.int(0, W - width);
    views.push({ crop: { top, left, height, width }, ...sampleAug(rng, viewH, viewW), viewH, viewW, fill });
  }
  return views;
}

/**
 * The normalized CLIP views [n, 3, hv, wv] of image [1, 3, H, W] (values in [0, 1]) for the given view
 * parameters (spec §A.7), differentiable w.r.t. the image. `fill` defaults to the fill the
 * parameters were drawn with; `size` is the first view's short side (224; smaller only for tests).
 */
export function clipViews(
  image: Tensor,
  params: readonly ViewParams[],
  maxSize = 320,
  fill: number = params[0]?.fill ?? 1,
  size = 224,
): Tensor {
  const op = 'clipViews';
  if (image.shape.length !== 4 || image.shape[0] !== 1 || image.shape[1] !== 3) {
    throw new EngineError(op, `expects one RGB image [1,3,H,W], got ${shapeStr(image.shape)}`);
  }
  if (params.length === 0) throw new EngineError(op, 'needs at least one view');
  const [, , H, W] = image.shape;
  const [hv, wv] = resizeShortSide(H, W, size, maxSize);
  params.forEach((p, k) => {
    if (p.viewH !== hv || p.viewW !== wv) {
      throw new EngineError(
        op,
        `view ${k} was drawn for ${p.viewH}×${p.viewW} but Resize(${size}, max_size=${maxSize}) of ${H}×${W} gives ${hv}×${wv}`,
      );
    }
  });
  const boxes: CropBox[] = params.map((p) => p.crop ?? { top: 0, left: 0, height: H, width: W });
  let v = cropResize(image, boxes, hv, wv);
  const flips = params.map((p) => p.flip);
  if (params.some((p) => p.affine)) {
    v = warpAffine(
      v,
      params.map((p) => p.affine),
      fill,
      flips,
    );
  } else if (flips.some((f) => f)) {
    v = flipHorizontal(v, flips);
  }
  if (params.some((p) => p.perspective)) {
    v = warpPerspective(
      v,
      params.map((p) => p.perspective),
      fill,
    );
  }
  v = jitterImages(
    v,
    params.map((p) => p.jitter),
  );
  if (params.some((p) => p.grayscale)) {
    v = grayscale(
      v,
      params.map((p) => p.grayscale),
    );
  }
  return normalizeImage(v, CLIP_MEAN, CLIP_STD);
}

/** The structure-loss input (spec §A.6.2): Resize(224, max_size=380) of image [1,3,H,W], normalized, no augmentation. */
export function resizeForStructure(image: Tensor, size = 224, maxSize = 380): Tensor {
  if (image.shape.length !== 4 || image.shape[1] !== 3) {
    throw new EngineError('resizeForStructure', `expects RGB images [N,3,H,W], got ${shapeStr(image.shape)}`);
  }
  const [hs, ws] = resizeShortSide(image.shape[2], image.shape[3], size, maxSize);
  return normalizeImage(resizeBilinear(image, hs, ws), CLIP_MEAN, CLIP_STD);
}
