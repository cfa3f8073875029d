/**
 * Quality levels (working size, steps, CLIP views) and the compute model of spec §E that prices them.
 *
 * FLOP model per optimizer step (1 MAC = 2 FLOP):
 * - generator: forward + backward = 3 × forward, at the mean crop area (E[s²]·E[c²] = 1.0133 × 0.8575 ≈ 0.869 of
 *   the working image for the default scale/cover ranges; computed from the config);
 * - the CLIP vision tower (ViT-B/32 unless `options.clip` gives the loaded model's config) on views of size
 *   Resize(224, max 320)(mean crop): composite, direction (output side) and screen terms, each
 *   `views × (fwd + bwd)` = 2 forwards per view; plus the direction term's input side, `views` forwards without
 *   backward. For a model of another native size S the sizes scale by S/224, as the losses do;
 * - structure: all blocks but the last, without head, at Resize(224, max 380): input fwd + output fwd + output bwd;
 * - bootstrap (when enabled, while step < bootstrapEpoch): a relevancy forward at the model's size (224²) + a
 *   short backward (≈ 1.5 GFLOP for ViT-B/32, scaled with the forward for other models), text feature cached;
 * - full-image steps (every `sourceImageEvery` steps, from step 0): a second item at the full working size with
 *   its own generator and CLIP costs.
 * Not counted (< 1 GFLOP per step, spec §E): augmentations, resizes, compositing, the optimizer; the text tower
 * runs once per prompt.
 *
 * Spec §E's 512² headline (1.46 TFLOP/step, 1.49 PFLOP) prices the generator at a full 512² crop, while its
 * 512×768 line (1.83 TFLOP/step, 1.86 PFLOP) uses the mean crop; `cropAreaFraction: 1` reproduces the former, the
 * default (mean crop) the latter and gives ≈ 1.40 TFLOP/step at 512².
 */
import type { VisionConfig } from '../clip/visionWeights';
import { generatorMacs, type SkipGeneratorConfig } from '../nn/skip';
import { DEFAULT_EDIT_CONFIG, bootstrapEnabled, type EditConfig } from './config';
import { resizeShortSideDims } from './image';

export type QualityLevel = 'preview' | 'standard' | 'reference';
/** Alias of `QualityLevel` (the level's name). */
export type QualityLevelName = QualityLevel;

/** The three levels, cheapest first. */
export const QUALITY_LEVELS: readonly QualityLevel[] = Object.freeze(['preview', 'standard', 'reference'] as const);

export interface QualitySettings {
  name: QualityLevel;
  label: string;
  description: string;
  /** Shorter side of the working image (resizeInput). */
  size: number;
  /** Optimizer steps (nEpochs). */
  steps: number;
  /** CLIP views per image per loss term (nAug). */
  views: number;
}

export const QUALITY_SETTINGS: Readonly<Record<QualityLevel, QualitySettings>> = Object.freeze({
  preview: {
    name: 'preview',
    label: 'Preview',
    description: 'Quick look at whether the prompts work: quarter-area image, few steps, 4 CLIP views.',
    size: 256,
    steps: 300,
    views: 4,
  },
  standard: {
    name: 'standard',
    label: 'Standard',
    description: 'A usable edit at about a third of the reference cost.',
    size: 384,
    steps: 600,
    views: 8,
  },
  reference: {
    name: 'reference',
    label: 'Reference',
    description: 'The paper settings: 512 px short side, 1000 steps, 16 CLIP views.',
    size: 512,
    steps: 1000,
    views: 16,
  },
});

export function isQualityLevel(v: unknown): v is QualityLevel {
  return typeof v === 'string' && (QUALITY_LEVELS as readonly string[]).includes(v);
}

export function getQualitySettings(level: QualityLevel | QualitySettings): QualitySettings {
  if (typeof level !== 'string') return level;
  if (!isQualityLevel(level)) {
    throw new RangeError(`Unknown quality level ${JSON.stringify(level)} (expected ${QUALITY_LEVELS.join(', ')})`);
  }
  return QUALITY_SETTINGS[level];
}

/**
 * The configuration with a quality level's size, steps and views. A bootstrap period is rescaled with the number
 * of steps (golden-horse bootstraps for the whole run: 1000 of 1000 steps → 300 of 300 at Preview).
 */
export function applyQuality(config: EditConfig, level: QualityLevel | QualitySettings): EditConfig {
  const q = getQualitySettings(level);
  const bootstrapEpoch =
    config.bootstrapEpoch > 0
      ? Math.max(1, Math.round((config.bootstrapEpoch * q.steps) / config.nEpochs))
      : config.bootstrapEpoch;
  return { ...config, resizeInput: q.size, nEpochs: q.steps, nAug: q.views, bootstrapEpoch };
}

// ---------------------------------------------------------------------------------------------------------------
// Compute model
// ---------------------------------------------------------------------------------------------------------------

/**
 * What the cost of a CLIP vision tower depends on: the keys of its `vision_config` as the tower reads them
 * (`visionConfigFromJson`), so an estimate prices the model that is actually loaded.
 */
export type ClipCostConfig = Pick<
  VisionConfig,
  'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'patchSize' | 'imageSize' | 'numChannels' | 'projectionDim'
>;

/** CLIP ViT-B/32 (openai/clip-vit-base-patch32), the app's default model and spec §E's reference. */
export const CLIP_VIT_B32: Readonly<ClipCostConfig> = Object.freeze({
  hiddenSize: 768,
  intermediateSize: 3072,
  numHiddenLayers: 12,
  patchSize: 32,
  imageSize: 224,
  numChannels: 3,
  projectionDim: 512,
});

/**
 * MACs of one CLIP ViT vision forward at h×w (spec §E, for ViT-B/32 by default): per block and token the linear
 * layers (4·D² + 2·D·MLP), attention 2·N²·D per block, the patch embedding, and (with the head) the D→projection
 * matrix. `blocks` defaults to all of the model's blocks; `blocks = layers − 1, head = false` is the structure path.
 */
export function clipVitMacs(
  h: number,
  w: number,
  blocks?: number,
  head = true,
  model: ClipCostConfig = CLIP_VIT_B32,
): number {
  const { hiddenSize: d, intermediateSize: mlp, patchSize: p } = model;
  const patches = Math.floor(h / p) * Math.floor(w / p);
  const n = patches + 1;
  const linear = 4 * d * d + 2 * d * mlp;
  let macs = (blocks ?? model.numHiddenLayers) * (n * linear + 2 * n * n * d);
  macs += patches * model.numChannels * p * p * d;
  if (head) macs += d * model.projectionDim;
  return macs;
}

/**
 * CLIP-side input sizes for a model of native size S: the reference's Resize(224, max 320) views, Resize(224,
 * max 380) structure input and 224² relevancy input scale by S/224 (the same rule as `clipViewSizes` of the losses,
 * restated here so this file, which the page loads, does not pull in the GPU loss code).
 */
export function clipInputSizes(imageSize: number): { view: number; viewMax: number; structureMax: number } {
  const scale = imageSize / 224;
  return { view: imageSize, viewMax: Math.round(320 * scale), structureMax: Math.round(380 * scale) };
}

/** torchvision `Resize(size, max_size)` output (h, w) for an h×w input (spec §A.6.2). */
export function resizeMaxSizeDims(
  h: number,
  w: number,
  size: number,
  maxSize: number,
): { height: number; width: number } {
  const short = Math.min(h, w);
  const long = Math.max(h, w);
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (newLong > maxSize) {
    newShort = Math.trunc((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return h <= w ? { height: newShort, width: newLong } : { height: newLong, width: newShort };
}

/** E[s²]·E[c²] for s ~ U(scaleMin, scaleMax), c ~ U(cropsMinCover, 1): the mean crop area / image area. */
export function meanCropAreaFraction(config: Pick<EditConfig, 'scaleMin' | 'scaleMax' | 'cropsMinCover'>): number {
  const m2 = (a: number, b: number) => (a === b ? a * a : (b ** 3 - a ** 3) / (3 * (b - a)));
  return m2(config.scaleMin, config.scaleMax) * m2(config.cropsMinCover, 1);
}

/** The bootstrap's short backward for ViT-B/32 at 224² (text feature cached); other models scale with the forward. */
const BOOTSTRAP_BACKWARD_FLOP_B32 = 1.5e9;

/** Bootstrap cost per item: a relevancy image forward at the model's size + the short backward. */
function bootstrapFlops(model: ClipCostConfig): number {
  const s = model.imageSize;
  const forward = clipVitMacs(s, s, undefined, true, model);
  return 2 * forward + (BOOTSTRAP_BACKWARD_FLOP_B32 * forward) / clipVitMacs(224, 224);
}

export interface ItemFlops {
  generator: number;
  /** Composite, direction (both sides) and screen terms. */
  clip: number;
  structure: number;
  bootstrap: number;
  total: number;
  /** The image the item is (mean crop or full image). */
  image: { width: number; height: number };
  /** CLIP view size of the three image–text terms. */
  view: { width: number; height: number };
  /** Input size of the structure path. */
  structureView: { width: number; height: number };
}

export interface FlopEstimate {
  level: QualityLevel | 'custom';
  /** The working image (input resized to the level's short side). */
  width: number;
  height: number;
  steps: number;
  views: number;
  /** A regular step (one crop item). */
  perStep: ItemFlops;
  /** What a full-image step adds (the second, full-image item). */
  fullImageItem: ItemFlops;
  /** Number of full-image steps (step % sourceImageEvery == 0). */
  fullImageSteps: number;
  /** Number of steps with the bootstrap loss. */
  bootstrapSteps: number;
  /** FLOP of the whole run. */
  total: number;
}

export interface EstimateOptions {
  /** Settings other than size/steps/views (generator widths, crop ranges, sourceImageEvery, bootstrap). */
  config?: EditConfig;
  /** Crop area / image area for the generator; default: the mean of the config's ranges (≈ 0.869). */
  cropAreaFraction?: number;
  /** The CLIP vision tower the edit runs with (its config.json); default ViT-B/32. */
  clip?: ClipCostConfig;
}

function skipConfig(cfg: EditConfig): SkipGeneratorConfig {
  return { scales: cfg.numScales, down: cfg.skipN33d, up: cfg.skipN33u, skip: cfg.skipN11 };
}

function itemFlops(
  cfg: EditConfig,
  views: number,
  fullW: number,
  fullH: number,
  areaFraction: number,
  clip: ClipCostConfig,
): ItemFlops {
  const side = Math.sqrt(areaFraction);
  const image = { width: Math.max(1, Math.round(fullW * side)), height: Math.max(1, Math.round(fullH * side)) };
  const generator = 3 * 2 * generatorMacs(skipConfig(cfg), fullH, fullW) * areaFraction;
  const sizes = clipInputSizes(clip.imageSize);
  const view = resizeMaxSizeDims(image.height, image.width, sizes.view, sizes.viewMax);
  const perView = 2 * clipVitMacs(view.height, view.width, undefined, true, clip);
  // composite, direction-out, screen: fwd + bwd per view; direction-in: fwd only.
  const clipFlops = views * (3 * 2 + 1) * perView;
  const structureView = resizeMaxSizeDims(image.height, image.width, sizes.view, sizes.structureMax);
  const structure =
    3 * 2 * clipVitMacs(structureView.height, structureView.width, clip.numHiddenLayers - 1, false, clip);
  return {
    generator,
    clip: clipFlops,
    structure,
    bootstrap: 0,
    total: generator + clipFlops + structure,
    image,
    view,
    structureView,
  };
}

/**
 * FLOP of an edit at a quality level for an input of width×height (before resizing): per regular step, per
 * full-image item, and for the whole run (see the model at the top of this file). Bootstrap costs are included
 * when `options.config` enables bootstrapping.
 */
export function estimateFlops(
  level: QualityLevel | QualitySettings,
  width: number,
  height: number,
  options: EstimateOptions = {},
): FlopEstimate {
  const q = getQualitySettings(level);
  if (!(width >= 1 && height >= 1)) throw new RangeError(`estimateFlops: invalid image size ${width}×${height}`);
  const cfg = applyQuality(options.config ?? (DEFAULT_EDIT_CONFIG as EditConfig), q);
  const dims = resizeShortSideDims(width, height, cfg.resizeInput);
  const area = options.cropAreaFraction ?? meanCropAreaFraction(cfg);
  const boot = bootstrapEnabled(cfg);
  const clip = options.clip ?? CLIP_VIT_B32;
  const perStep = itemFlops(cfg, q.views, dims.width, dims.height, area, clip);
  const fullImageItem = itemFlops(cfg, q.views, dims.width, dims.height, 1, clip);
  const steps = cfg.nEpochs;
  const fullImageSteps = Math.floor((steps - 1) / cfg.sourceImageEvery) + 1;
  const bootstrapSteps = boot ? Math.min(steps, cfg.bootstrapEpoch) : 0;
  const bootstrapFull = boot ? Math.floor((bootstrapSteps - 1) / cfg.sourceImageEvery) + 1 : 0;
  const bootItem = boot ? bootstrapFlops(clip) : 0;
  const total =
    steps * perStep.total + fullImageSteps * fullImageItem.total + (bootstrapSteps + bootstrapFull) * bootItem;
  if (boot) {
    perStep.bootstrap = bootItem;
    perStep.total += bootItem;
  }
  return {
    level: typeof level === 'string' ? level : 'custom',
    width: dims.width,
    height: dims.height,
    steps,
    views: q.views,
    perStep,
    fullImageItem,
    fullImageSteps,
    bootstrapSteps,
    total,
  };
}

/** Wall-clock seconds for `flop` at a sustained throughput in TFLOP/s (spec §E's table uses 2, 5, 10). */
export function estimateSeconds(flop: number, sustainedTflops: number): number {
  return flop / (sustainedTflops * 1e12);
}

/** "1.49 PFLOP", "370 GFLOP", … */
export function formatFlops(flop: number): string {
  const units: Array<[number, string]> = [
    [1e15, 'PFLOP'],
    [1e12, 'TFLOP'],
    [1e9, 'GFLOP'],
    [1e6, 'MFLOP'],
  ];
  for (const [scale, unit] of units) {
    if (flop >= scale) {
      const v = flop / scale;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
    }
  }
  return `${flop.toFixed(0)} FLOP`;
}

/** A one-line summary of a level for a square input, e.g. "Preview — 256 px, 300 steps, 4 views, ≈ 0.11 PFLOP". */
export function describeQuality(level: QualityLevel | QualitySettings, width = 512, height = 512): string {
  const q = getQualitySettings(level);
  const e = estimateFlops(q, width, height);
  return `${q.label} — ${q.size} px, ${q.steps} steps, ${q.views} views, ≈ ${formatFlops(e.total)}`;
}
