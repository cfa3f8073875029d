/**
 * The internal dataset of the image pipeline (spec §A.3, reference `datasets/image_dataset.py` and
 * `util/aug_utils.py`): one sample per optimizer step, built on 8-bit images exactly like the reference's PIL
 * transforms.
 *
 * ```
 * step += 1                                   (starts at −1, so the first sample is step 0)
 * full image when step % sourceImageEvery == 0
 * with p = jitterP:  ColorJitter(0.1, 0.1, 0.1, 0.1)      (torchvision PIL path, random order)
 * with p = flipP:    horizontal flip
 * s ~ U(scaleMin, scaleMax): PIL-bilinear resize to (int(H·s), int(W·s))
 * c ~ U(cropsMinCover, 1): crop (int(H'·c), int(W'·c)) at a uniform integer offset (no crop when cover = 1)
 * centre-crop to multiples of dDivisibleCrops (no-op for 1), to [3,h,w] floats in [0,1]
 * ```
 * The crop is not resized back: its size varies from step to step (short side ~348…614 px for a 512 input).
 *
 * Random numbers come from the given `Rng`, drawn in the reference's order (jitter coin, jitter parameters when
 * applied, flip coin, scale, cover, offsets y then x); a given seed gives the same sequence every time (the
 * reference's torch/NumPy streams are not reproduced).
 *
 * Minimum size: the generator needs at least `minSide` pixels per side (`minInputSide`, 129 at 7 scales). For
 * the usual 512 input the smallest crop is ~348 px, far above it. For small inputs (resizeInput ≤ 0 with a small
 * image, or a small resizeInput) the rescaled image is held to ≥ minSide per side (the reference's RandomScale
 * has this `min_size` knob, unused there) and each crop side to ≥ min(minSide, image side); such clamped samples
 * deviate from the reference's ranges and may change the aspect ratio slightly. `minSide` is rounded up to a
 * multiple of dDivisibleCrops so the final centre crop keeps it.
 */
import type { Rng } from '../nn/rng';
import { minInputSide } from '../nn/skip';
import type { EditConfig } from './config';
import {
  applyColorJitter8bit,
  cropCentreDivisible,
  cropImage,
  flipHorizontal,
  resizeAntialiased,
  sampleColorJitter,
  toTensorData,
  type ColorJitterParams,
  type ColorJitterRanges,
  type RgbaImage,
} from './image';

/** The reference's dataset jitter (hard-coded in `image_dataset.py`). */
export const DATASET_JITTER: Readonly<ColorJitterRanges> = Object.freeze({
  brightness: 0.1,
  contrast: 0.1,
  saturation: 0.1,
  hue: 0.1,
});

export interface DatasetOptions {
  /**
   * Smallest side the generator accepts; default `minInputSide` of the config's generator
   * (2^numScales + 1 = 129 for the reference).
   */
  minSide?: number;
  /** Skip building `cropTensor` (callers that upload `crop` themselves). Default false. */
  skipTensor?: boolean;
}

/** What was drawn for one sample (for logs, tests and debugging). */
export interface SampleAugmentation {
  jitter: ColorJitterParams | null;
  flip: boolean;
  scale: number;
  /** Size after the rescale. */
  resized: { width: number; height: number };
  /** Crop rectangle in the rescaled image (before the divisible centre crop). */
  crop: { x: number; y: number; width: number; height: number };
  /** True when the minimum-size clamp changed a size. */
  clamped: boolean;
}

export interface DatasetSample {
  step: number;
  /** The augmented crop (8-bit RGBA). */
  crop: RgbaImage;
  /** `crop` as float32 [3, h, w] in [0, 1] (empty when `skipTensor`). */
  cropTensor: Float32Array;
  /** The un-augmented full image as float32 [3, H, W] in [0, 1], on full-image steps only. Shared between
   *  samples: do not modify. */
  fullImage?: Float32Array;
  aug: SampleAugmentation;
}

export class InternalDataset {
  private stepCounter = -1;
  private readonly src: RgbaImage;
  private readonly full: RgbaImage;
  private fullTensorCache: Float32Array | null = null;
  readonly minSide: number;

  /**
   * @param source the input image, already resized per §A.2 (`resizeShortSide(img, config.resizeInput)`).
   */
  constructor(
    source: RgbaImage,
    readonly config: EditConfig,
    private readonly rng: Rng,
    private readonly options: DatasetOptions = {},
  ) {
    if (source.width < 1 || source.height < 1 || source.data.length !== source.width * source.height * 4) {
      throw new RangeError(`InternalDataset: invalid source image ${source.width}×${source.height}`);
    }
    const d = config.dDivisibleCrops;
    const min =
      options.minSide ??
      minInputSide({ scales: config.numScales, down: config.skipN33d, up: config.skipN33u, skip: config.skipN11 });
    this.minSide = Math.ceil(min / d) * d;
    this.src = source;
    this.full = cropCentreDivisible(source, d);
    if (this.full.width < this.minSide || this.full.height < this.minSide) {
      throw new RangeError(
        `InternalDataset: the image is ${this.full.width}×${this.full.height}, smaller than the generator's ` +
          `minimum of ${this.minSide} px per side`,
      );
    }
  }

  /** The step of the last sample (−1 before the first). */
  get step(): number {
    return this.stepCounter;
  }

  /** Sets the step counter (resuming a saved job; restore the Rng's state too for the same sequence). */
  set step(v: number) {
    if (!Number.isInteger(v) || v < -1) throw new RangeError(`InternalDataset: step must be an integer ≥ -1, got ${v}`);
    this.stepCounter = v;
  }

  /** The un-augmented full image (after the divisible centre crop), 8-bit. */
  get fullImageRgba(): RgbaImage {
    return this.full;
  }

  /** The full image as float32 [3, H, W] in [0, 1] (computed once). */
  get fullImageTensor(): Float32Array {
    this.fullTensorCache ??= toTensorData(this.full);
    return this.fullTensorCache;
  }

  /** Whether a step carries the full image. */
  isFullImageStep(step: number): boolean {
    return step % this.config.sourceImageEvery === 0;
  }

  next(): DatasetSample {
    const cfg = this.config;
    const rng = this.rng;
    const step = ++this.stepCounter;
    let clamped = false;

    let img = this.src;
    // RandomApply([ColorJitter], p): applied when the coin is below p.
    let jitter: ColorJitterParams | null = null;
    if (rng.next() < cfg.jitterP) {
      jitter = sampleColorJitter(DATASET_JITTER, rng);
      img = applyColorJitter8bit(img, jitter);
    }
    const flip = rng.next() < cfg.flipP;
    if (flip) img = flipHorizontal(img);

    // RandomScale: resize to (int(H·s), int(W·s)), held to the generator's minimum.
    const scale = cfg.scaleMin === cfg.scaleMax ? cfg.scaleMin : rng.uniform(cfg.scaleMin, cfg.scaleMax);
    let rh = Math.trunc(img.height * scale);
    let rw = Math.trunc(img.width * scale);
    if (rh < this.minSide || rw < this.minSide) {
      clamped = true;
      rh = Math.max(rh, this.minSide);
      rw = Math.max(rw, this.minSide);
    }
    img = resizeAntialiased(img, rw, rh);

    // RandomSizeCrop: returns the image unchanged for min_cover == 1 (no random draw).
    let crop = { x: 0, y: 0, width: rw, height: rh };
    if (cfg.cropsMinCover !== 1) {
      const c = rng.uniform(cfg.cropsMinCover, 1);
      let ch = Math.trunc(rh * c);
      let cw = Math.trunc(rw * c);
      if (ch < this.minSide || cw < this.minSide) {
        clamped = true;
        ch = Math.max(ch, Math.min(this.minSide, rh));
        cw = Math.max(cw, Math.min(this.minSide, rw));
      }
      // T.RandomCrop: i ~ U{0..H−h}, j ~ U{0..W−w}; no draw when the crop is the whole image.
      let y = 0;
      let x = 0;
      if (ch !== rh || cw !== rw) {
        y = rng.int(0, rh - ch);
        x = rng.int(0, rw - cw);
      }
      crop = { x, y, width: cw, height: ch };
      img = cropImage(img, x, y, cw, ch);
    }
    const out = cfg.dDivisibleCrops === 1 ? img : cropCentreDivisible(img, cfg.dDivisibleCrops);

    const sample: DatasetSample = {
      step,
      crop: out,
      cropTensor: this.options.skipTensor ? new Float32Array(0) : toTensorData(out),
      aug: { jitter, flip, scale, resized: { width: rw, height: rh }, crop, clamped },
    };
    if (this.isFullImageStep(step)) sample.fullImage = this.fullImageTensor;
    return sample;
  }
}
