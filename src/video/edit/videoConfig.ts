/**
 * The video edit's settings (spec §B.1): the image configuration with the video example configs' values, the layer
 * being edited, the atlas raster's density, and the reference's video presets; plus the video quality levels.
 *
 * The video configs differ from the image defaults in: λ_structure 3, λ_sparsity 0.1 with L0/L1 weights 0.005/0.01,
 * n_aug 6, clip_affine_transform_fill 0 (black), bootstrap scheduler "none" (a constant weight while
 * step < bootstrap_epoch), gamma 0.999 and 3000 steps (car-turn_nighttime 1500). Keys the image pipeline uses and the
 * video one does not (resize_input, the dataset's crops, scales and source_image_every) are ignored by the video job.
 */
import { ConfigError, validateConfig, type EditConfig } from '../../edit/config';
import type { EditLayer } from './layerData';

/** The video example configs' values on top of the image defaults (spec §B.1). */
export const VIDEO_CONFIG: Readonly<Partial<EditConfig>> = Object.freeze({
  lambdaStructure: 3,
  lambdaScreen: 1,
  lambdaComposition: 1,
  lambdaSparsity: 0.1,
  lambdaAlphaL0: 0.005,
  lambdaAlphaL1: 0.01,
  lambdaBootstrap: 10,
  bootstrapScheduler: 'none' as const,
  bootstrapEpoch: -1,
  relevancyNumLayers: 10,
  nAug: 6,
  clipAffineTransformFill: 0,
  flipP: 0.5,
  nEpochs: 3000,
  gamma: 0.999,
  lr: 0.0025,
  minLr: 1e-5,
  optimizer: 'madgrad' as const,
});

/** The video job's own settings besides the EditConfig. */
export interface VideoEditSettings {
  layer: EditLayer;
  /** Atlas texels per frame pixel along each axis (layerData.rasterResolution). */
  density: number;
}

export type VideoPresetId =
  | 'blackswan-crochet'
  | 'blackswan-crystal'
  | 'blackswan-cube'
  | 'blackswan-gold'
  | 'car-turn-winter'
  | 'car-turn-nighttime'
  | 'car-turn-rusty'
  | 'libby-diamond'
  | 'libby-giraffe'
  | 'libby-gold'
  | 'libby-leopard'
  | 'lucia-fog'
  | 'lucia-winter'
  | 'lucia-wonderland';

export interface VideoPreset {
  id: VideoPresetId;
  title: string;
  /** The DAVIS clip it was written for. */
  clip: 'blackswan' | 'car-turn' | 'libby' | 'lucia';
  layer: EditLayer;
  /** Prompts and, where the reference sets them, steps and bootstrapping. */
  settings: Partial<EditConfig>;
}

const same = (text: string | string[]) => ({ screenText: text, compText: text });

/** The reference's video examples (spec §B.1, `configs/video_example_configs/`). */
export const VIDEO_PRESETS: readonly VideoPreset[] = Object.freeze([
  {
    id: 'blackswan-crochet',
    title: 'Crochet swan',
    clip: 'blackswan',
    layer: 'foreground',
    settings: { ...same(['crochet swan', 'knitted swan']), srcText: ['black swan', 'swan'] },
  },
  {
    id: 'blackswan-crystal',
    title: 'Crystal swan',
    clip: 'blackswan',
    layer: 'foreground',
    settings: {
      ...same(['swarovski blue crystal swan', 'swarovski blue crystal swan']),
      srcText: ['black swan', 'swan'],
    },
  },
  {
    id: 'blackswan-cube',
    title: "Rubik's cube swan",
    clip: 'blackswan',
    layer: 'foreground',
    settings: { ...same(["swan rubik's cube", "swan rubik's cube"]), srcText: ['black swan', 'swan'] },
  },
  {
    id: 'blackswan-gold',
    title: 'Golden swan',
    clip: 'blackswan',
    layer: 'foreground',
    settings: { ...same(['golden swan', 'golden swan']), srcText: ['black swan', 'swan'] },
  },
  {
    id: 'car-turn-winter',
    title: 'Winter countryside',
    clip: 'car-turn',
    layer: 'background',
    settings: {
      screenText: ['winter scene', 'snow everywhere', 'beautiful snow'],
      compText: ['winter countryside scene', 'snowy countryside scene', 'beautiful snow'],
      srcText: ['countryside', 'countryside with trees', 'countryside'],
    },
  },
  {
    id: 'car-turn-nighttime',
    title: 'Countryside at night',
    clip: 'car-turn',
    layer: 'background',
    settings: {
      screenText: ['nighttime', 'night'],
      compText: ['countryside at nighttime', 'countryside at night'],
      srcText: ['countryside', 'countryside with trees'],
      nEpochs: 1500,
    },
  },
  {
    id: 'car-turn-rusty',
    title: 'Rusty jeep',
    clip: 'car-turn',
    layer: 'foreground',
    settings: {
      screenText: 'rusty jeep',
      compText: 'rusty jeep',
      srcText: 'jeep',
      bootstrapText: 'car',
      bootstrapEpoch: 3000,
    },
  },
  ...(
    [
      ['libby-diamond', 'Diamond dog', 'dog made out of diamonds'],
      ['libby-giraffe', 'Giraffe-textured dog', 'dog with giraffe texture'],
      ['libby-gold', 'Golden dog', 'golden dog'],
      ['libby-leopard', 'Leopard-textured dog', 'dog with leopard texture'],
    ] as const
  ).map(([id, title, text]): VideoPreset => ({
    id,
    title,
    clip: 'libby',
    layer: 'foreground',
    settings: { ...same(text), srcText: ['dog'] },
  })),
  {
    id: 'lucia-fog',
    title: 'Foggy park',
    clip: 'lucia',
    layer: 'background',
    settings: {
      screenText: ['fog', 'foggy'],
      compText: ['foggy park', 'foggy city park'],
      srcText: ['park', 'city park'],
    },
  },
  {
    id: 'lucia-winter',
    title: 'Snowy park',
    clip: 'lucia',
    layer: 'background',
    settings: {
      screenText: ['winter scene', 'snow everywhere', 'beautiful snow'],
      compText: ['winter in park', 'snowy park', 'beautiful snow at city park'],
      srcText: ['park', 'city park', 'park'],
    },
  },
  {
    id: 'lucia-wonderland',
    title: 'Wonderland park',
    clip: 'lucia',
    layer: 'background',
    settings: {
      screenText: ['wonderland', 'wonderland'],
      compText: ['wonderland park', 'wonderland city park'],
      srcText: ['park', 'city park'],
    },
  },
]);

export function videoPreset(id: string): VideoPreset {
  const p = VIDEO_PRESETS.find((x) => x.id === id);
  if (!p) {
    throw new ConfigError([
      { key: 'preset', expected: `one of ${VIDEO_PRESETS.map((x) => x.id).join(', ')}`, got: JSON.stringify(id) },
    ]);
  }
  return p;
}

/**
 * The layer to edit when the user did not choose: the preset's, else the foreground when a source or
 * region-of-interest text is given (it names the object), else the background; always the background when the
 * decomposition has no foreground.
 */
export function defaultLayer(
  settings: Partial<EditConfig>,
  preset: VideoPreset | null,
  hasForeground: boolean,
): EditLayer {
  if (!hasForeground) return 'background';
  if (preset) return preset.layer;
  const named = (t: unknown) => (Array.isArray(t) ? t.some((s) => String(s).trim()) : !!String(t ?? '').trim());
  return named(settings.srcText) || named(settings.bootstrapText) ? 'foreground' : 'background';
}

export type VideoQuality = 'tiny' | 'preview' | 'standard' | 'reference';
export const VIDEO_QUALITY_LEVELS: readonly VideoQuality[] = ['preview', 'standard', 'reference', 'tiny'];

export interface VideoQualitySettings {
  label: string;
  description: string;
  /** Atlas texels per frame pixel. */
  density: number;
  steps: number;
  views: number;
}

/**
 * The levels. The reference rasterises at ~1.3 texels per frame pixel (R = 2000 at 768 px) for 3000 steps of 6
 * views; the cheaper levels lower the raster density (the generator's cost and memory scale with its square) and
 * the steps. Tiny is for tests on a software GPU (a tiny generator too).
 */
export const VIDEO_QUALITY: Readonly<Record<VideoQuality, VideoQualitySettings>> = Object.freeze({
  preview: {
    label: 'Preview',
    description: 'Whether the prompts work: a coarse atlas (0.5 texel per pixel), 300 steps, 4 CLIP views.',
    density: 0.5,
    steps: 300,
    views: 4,
  },
  standard: {
    label: 'Standard',
    description: 'A usable edit: 0.75 texel per pixel, 1000 steps, 6 CLIP views.',
    density: 0.75,
    steps: 1000,
    views: 6,
  },
  reference: {
    label: 'Reference',
    description: 'The paper settings: 1.3 texels per pixel (R = 2000 at 768 px), 3000 steps, 6 CLIP views.',
    density: 1.3,
    steps: 3000,
    views: 6,
  },
  tiny: {
    label: 'Tiny (test)',
    description: 'For tests on a software GPU: a coarse atlas, 6 steps, 2 CLIP views, a tiny generator.',
    density: 0.5,
    steps: 6,
    views: 2,
  },
});

const TINY_GENERATOR: Partial<EditConfig> = { skipN33d: 8, skipN33u: 8, skipN11: 2, numScales: 3 };

/**
 * A video run's configuration: the image defaults, the video values, the quality level (steps, views), then the
 * user's settings (prompts, seed, and any explicit steps or views). Throws ConfigError for invalid settings.
 */
export function resolveVideoConfig(level: VideoQuality, settings: Partial<EditConfig> = {}): EditConfig {
  const q = VIDEO_QUALITY[level];
  return validateConfig({
    ...VIDEO_CONFIG,
    ...(level === 'tiny' ? TINY_GENERATOR : {}),
    nEpochs: q.steps,
    nAug: q.views,
    ...settings,
  });
}
