/**
 * Named edit presets: the reference's two image examples (spec §A.1, `configs/image_example_configs/`) and a few
 * of our own, in the same style, for the sample photos (shared/data/images, 512×512). Text2LIVE edits texture and
 * appearance of existing content (it cannot change shape much): `screenText` describes the edit layer alone,
 * `compText` the edited image, `srcText` the input (paired with compText by the direction loss), and
 * `bootstrapText` (optional) the region whose CLIP relevancy map initialises the alpha.
 */
import { ConfigError, validateConfig, type EditConfig } from './config';

export type PresetId =
  | 'golden-horse'
  | 'ice-cake'
  | 'golden-dog'
  | 'snowy-building'
  | 'cherry-blossom-tree'
  | 'red-leather-jacket'
  | 'stone-bench'
  | 'ivy-wall';

export interface EditPreset {
  id: PresetId;
  title: string;
  description: string;
  /** The image it was written for: a file name in shared/data/images (ours) or the reference's data/images. */
  image: string;
  /** Where the preset comes from. */
  origin: 'reference' | 'ours';
  /** Settings on top of the defaults: the prompts and, for bootstrapped edits, bootstrapEpoch. */
  settings: Partial<EditConfig>;
}

export const PRESETS: readonly EditPreset[] = Object.freeze([
  {
    id: 'golden-horse',
    title: 'Golden horse',
    description: 'The reference example: turns a horse gold; alpha bootstrapped from the relevancy of "horse".',
    image: 'horse.jpg',
    origin: 'reference',
    settings: {
      screenText: 'golden horse',
      compText: 'golden horse',
      srcText: 'horse',
      bootstrapText: 'horse',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'ice-cake',
    title: 'Ice cake',
    description: 'The reference example: a cake made of ice; no bootstrapping.',
    image: 'cake.jpeg',
    origin: 'reference',
    settings: { screenText: 'ice', compText: 'ice', srcText: 'cake' },
  },
  {
    id: 'golden-dog',
    title: 'Golden dog',
    description: 'The white dog on the bench turned to gold, the golden-horse recipe on our sample photo.',
    image: 'dog-on-bench.png',
    origin: 'ours',
    settings: {
      screenText: 'golden dog',
      compText: 'golden dog',
      srcText: 'dog',
      bootstrapText: 'dog',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'snowy-building',
    title: 'Snowy building',
    description: 'Snow on the façade and ledges of the apartment building.',
    image: 'building-and-pine.png',
    origin: 'ours',
    settings: {
      screenText: 'snow',
      compText: 'snowy building',
      srcText: 'building',
      bootstrapText: 'building',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'cherry-blossom-tree',
    title: 'Cherry blossom tree',
    description: 'The umbrella pine in front of the building in pink blossom.',
    image: 'building-and-pine.png',
    origin: 'ours',
    settings: {
      screenText: 'pink cherry blossoms',
      compText: 'cherry blossom tree',
      srcText: 'pine tree',
      bootstrapText: 'tree',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'red-leather-jacket',
    title: 'Red leather jacket',
    description: "The woman's olive jacket re-textured as red leather.",
    image: 'woman-on-bench.png',
    origin: 'ours',
    settings: {
      screenText: 'red leather jacket',
      compText: 'woman in a red leather jacket',
      srcText: 'woman in a jacket',
      bootstrapText: 'jacket',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'stone-bench',
    title: 'Stone bench',
    description: 'The wooden bench the two men sit on turned to carved stone.',
    image: 'two-men-on-bench.png',
    origin: 'ours',
    settings: {
      screenText: 'stone bench',
      compText: 'stone bench',
      srcText: 'wooden bench',
      bootstrapText: 'bench',
      bootstrapEpoch: 1000,
    },
  },
  {
    id: 'ivy-wall',
    title: 'Ivy wall',
    description: 'The orange brick wall behind the two women covered in ivy; no bootstrapping (a large region).',
    image: 'two-women-on-bench.png',
    origin: 'ours',
    settings: { screenText: 'ivy', compText: 'brick wall covered in ivy', srcText: 'brick wall' },
  },
] satisfies EditPreset[]);

export function getPreset(id: string): EditPreset {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) {
    throw new ConfigError([
      {
        key: 'preset',
        expected: `one of ${PRESETS.map((x) => JSON.stringify(x.id)).join(', ')}`,
        got: JSON.stringify(id),
      },
    ]);
  }
  return p;
}

/** Presets written for a given sample image (file name, e.g. "dog-on-bench.png"). */
export function presetsForImage(image: string): EditPreset[] {
  return PRESETS.filter((p) => p.image === image);
}

/**
 * The complete configuration of a preset: defaults, then the preset's settings, then `overrides` (e.g. a
 * quality level's size/steps, or the user's own prompt edits). Validated, prompts required.
 */
export function presetConfig(id: string, overrides: Partial<EditConfig> = {}): EditConfig {
  return validateConfig({ ...getPreset(id).settings, ...overrides }, { requirePrompts: true });
}
