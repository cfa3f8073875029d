import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_EDIT_CONFIG,
  REFERENCE_KEYS,
  bootstrapEnabled,
  editConfigFromReference,
  editConfigToReference,
  resolveSeed,
  validateConfig,
  type EditConfigKey,
} from './config';

/** Spec §A.1 (`configs/image_config.yaml`) and util.py's optimizer constants, as the reference spells them. */
const REFERENCE_DEFAULTS: Array<[string, unknown]> = [
  ['resize_input', 512],
  ['d_divisible_crops', 1],
  ['source_image_every', 75],
  ['crops_min_cover', 0.85],
  ['flip_p', 0.5],
  ['jitter_p', 0.1],
  ['scale_min', 0.8],
  ['scale_max', 1.2],
  ['text_criterion', 'spherical'],
  ['bootstrap_scheduler', 'linear'],
  ['bootstrap_epoch', -1],
  ['lambda_bootstrap', 10],
  ['lambda_bootstrap_min', 0],
  ['bootstrapping_min_cover', 1],
  ['lambda_structure', 2],
  ['lambda_screen', 1],
  ['lambda_sparsity', 6],
  ['lambda_alpha_l0', 0.01],
  ['lambda_alpha_l1', 0.01],
  ['lambda_composition', 1],
  ['use_negative_bootstrap', false],
  ['n_aug', 16],
  ['clip_model_name', 'ViT-B/32'],
  ['relevancy_num_layers', 10],
  ['clip_affine_transform_fill', 1],
  ['n_epochs', 1000],
  ['scheduler_policy', 'exponential'],
  ['gamma', 0.99],
  ['min_lr', 0.00001],
  ['lr', 0.0025],
  ['optimizer', 'madgrad'],
  ['momentum', 0.9],
  ['weight_decay', 0.01],
  ['optimizer_eps', 1e-6],
  ['skip_n33d', 128],
  ['skip_n33u', 128],
  ['skip_n11', 4],
  ['num_scales', 7],
  ['log_images_freq', 50],
  ['seed', -1],
];

/** `configs/image_config.yaml` parsed to JSON, merged with `image_example_configs/golden_horse.yaml`. */
const GOLDEN_HORSE_REFERENCE = {
  seed: -1,
  use_wandb: false,
  wandb_project: 'project_name',
  wandb_entity: 'project_entity',
  device: 'cuda',
  log_images_freq: 50,
  results_folder: 'results',
  resize_input: 512,
  d_divisible_crops: 1,
  source_image_every: 75,
  crops_min_cover: 0.85,
  flip_p: 0.5,
  jitter_p: 0.1,
  scale_min: 0.8,
  scale_max: 1.2,
  bootstrap_scheduler: 'linear',
  text_criterion: 'spherical',
  bootstrap_epoch: 1000,
  lambda_bootstrap: 10,
  lambda_bootstrap_min: 0,
  bootstrapping_min_cover: 1,
  lambda_structure: 2,
  lambda_screen: 1,
  lambda_sparsity: 6,
  lambda_alpha_l0: 0.01,
  lambda_alpha_l1: 0.01,
  lambda_composition: 1,
  use_negative_bootstrap: false,
  n_aug: 16,
  clip_model_name: 'ViT-B/32',
  relevancy_num_layers: 10,
  clip_affine_transform_fill: 1,
  n_epochs: 1000,
  scheduler_policy: 'exponential',
  gamma: 0.99,
  min_lr: 0.00001,
  lr: 0.0025,
  optimizer: 'madgrad',
  skip_n33d: 128,
  skip_n33u: 128,
  skip_n11: 4,
  num_scales: 7,
  image_path: './data/images/horse.jpg',
  screen_text: 'golden horse',
  comp_text: 'golden horse',
  src_text: 'horse',
  bootstrap_text: 'horse',
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('EditConfig defaults', () => {
  it('match the reference image config (spec §A.1) key by key', () => {
    const byRef = new Map(Object.entries(REFERENCE_KEYS).map(([camel, snake]) => [snake, camel as EditConfigKey]));
    for (const [snake, value] of REFERENCE_DEFAULTS) {
      const camel = byRef.get(snake);
      expect(camel, snake).toBeDefined();
      expect(DEFAULT_EDIT_CONFIG[camel!], snake).toEqual(value);
    }
  });

  it('has camelCase names for every key of the table and the prompts', () => {
    const keys = Object.keys(DEFAULT_EDIT_CONFIG).sort();
    expect(Object.keys(REFERENCE_KEYS).sort()).toEqual(keys);
    for (const k of ['screenText', 'compText', 'srcText', 'bootstrapText', 'momentum', 'weightDecay', 'optimizerEps']) {
      expect(keys).toContain(k);
    }
    expect(DEFAULT_EDIT_CONFIG.bootstrapText).toBeNull();
  });

  it('validateConfig({}) returns the defaults, and partial input fills the rest', () => {
    expect(validateConfig({})).toEqual(DEFAULT_EDIT_CONFIG);
    expect(validateConfig(undefined)).toEqual(DEFAULT_EDIT_CONFIG);
    const c = validateConfig({ nAug: 8, compText: 'ice' });
    expect(c.nAug).toBe(8);
    expect(c.compText).toBe('ice');
    expect(c.lr).toBe(0.0025);
  });
});

describe('validateConfig errors', () => {
  it('names the key and the expected type or range', () => {
    let e = errorOf(() => validateConfig({ flipP: 1.5 }));
    expect(e.key).toBe('flipP');
    expect(e.message).toContain('flipP');
    expect(e.message).toContain('[0, 1]');
    expect(e.message).toContain('1.5');

    e = errorOf(() => validateConfig({ nAug: 2.5 }));
    expect(e.message).toMatch(/nAug: expected an integer in \[1, 64\]/);

    e = errorOf(() => validateConfig({ textCriterion: 'l2' }));
    expect(e.message).toContain('"spherical", "cosine"');

    e = errorOf(() => validateConfig({ optimizer: 'sgd' }));
    expect(e.message).toContain('"madgrad", "adam"');

    e = errorOf(() => validateConfig({ useNegativeBootstrap: 'False' }));
    expect(e.message).toContain('useNegativeBootstrap: expected false');
    e = errorOf(() => validateConfig({ use_negative_bootstrap: true }));
    expect(e.message).toContain('not implemented');
    expect(validateConfig({ use_negative_bootstrap: false }).useNegativeBootstrap).toBe(false);

    // relevancy_num_layers 11 leaves ViT-B/32 no attention block (the reference's 0/0 map).
    e = errorOf(() => validateConfig({ relevancy_num_layers: 11 }));
    expect(e.key).toBe('relevancy_num_layers');
    expect(e.message).toContain('11 leaves none');
    expect(validateConfig({ relevancyNumLayers: 10 }).relevancyNumLayers).toBe(10);
    expect(validateConfig({ relevancyNumLayers: -1 }).relevancyNumLayers).toBe(-1);
    expect(errorOf(() => validateConfig({ relevancyNumLayers: 12 })).message).toContain('[-1, 10]');

    e = errorOf(() => validateConfig({ lr: 0 }));
    expect(e.message).toContain('lr: expected a number > 0');

    e = errorOf(() => validateConfig({ clipModelName: 'ViT-L/14' }));
    expect(e.message).toContain('ViT-B/32');

    e = errorOf(() => validateConfig({ lambdaSparsity: Number.NaN }));
    expect(e.key).toBe('lambdaSparsity');
  });

  it('reports every wrong key at once, with snake_case spelling kept', () => {
    const e = errorOf(() => validateConfig({ flip_p: -1, nEpochs: 0, screenText: 42, bogusKey: 1 }));
    expect(e.issues.map((i) => i.key).sort()).toEqual(['bogusKey', 'flip_p', 'nEpochs', 'screenText']);
    expect(e.message).toContain('screenText: expected a string or a non-empty list of strings');
  });

  it('rejects unknown keys with a suggestion', () => {
    const e = errorOf(() => validateConfig({ nAugs: 4 }));
    expect(e.key).toBe('nAugs');
    expect(e.message).toContain('did you mean "nAug"');
  });

  it('rejects non-objects, conflicting duplicates and scaleMin > scaleMax', () => {
    expect(errorOf(() => validateConfig([1, 2])).key).toBe('(config)');
    expect(errorOf(() => validateConfig('x')).key).toBe('(config)');
    expect(errorOf(() => validateConfig({ n_aug: 4, nAug: 8 })).key).toBe('nAug');
    expect(validateConfig({ n_aug: 4, nAug: 4 }).nAug).toBe(4);
    expect(errorOf(() => validateConfig({ scaleMin: 1.3 })).message).toContain('scaleMax');
  });

  it('requirePrompts needs the three prompts, and a roi text when bootstrapping', () => {
    const e = errorOf(() => validateConfig({ compText: 'ice' }, { requirePrompts: true }));
    expect(e.issues.map((i) => i.key).sort()).toEqual(['screenText', 'srcText']);
    const ok = { screenText: 'ice', compText: 'ice', srcText: 'cake' };
    expect(validateConfig(ok, { requirePrompts: true }).srcText).toBe('cake');
    expect(errorOf(() => validateConfig({ ...ok, bootstrapEpoch: 100 }, { requirePrompts: true })).key).toBe(
      'bootstrapText',
    );
  });

  it('accepts prompt lists, unwraps a one-element bootstrap list, rejects longer ones', () => {
    const c = validateConfig({ compText: ['a', 'b'], srcText: ['c', 'd'], bootstrapText: ['horse'] });
    expect(c.compText).toEqual(['a', 'b']);
    expect(c.bootstrapText).toBe('horse');
    expect(errorOf(() => validateConfig({ bootstrapText: ['a', 'b'] })).key).toBe('bootstrapText');
    expect(errorOf(() => validateConfig({ compText: [] })).key).toBe('compText');
  });
});

describe('reference configs', () => {
  it('snake_case keys load as aliases', () => {
    const c = validateConfig({ n_aug: 4, lambda_alpha_l0: 0.5, use_negative_bootstrap: false, skip_n33d: 64 });
    expect(c.nAug).toBe(4);
    expect(c.lambdaAlphaL0).toBe(0.5);
    expect(c.skipN33d).toBe(64);
  });

  it('the golden_horse reference config (yaml as JSON) loads, reference-only keys dropped', () => {
    const c = editConfigFromReference(GOLDEN_HORSE_REFERENCE, { requirePrompts: true });
    expect(c).toEqual({
      ...DEFAULT_EDIT_CONFIG,
      screenText: 'golden horse',
      compText: 'golden horse',
      srcText: 'horse',
      bootstrapText: 'horse',
      bootstrapEpoch: 1000,
    });
    expect(bootstrapEnabled(c)).toBe(true);
    // validateConfig itself does not know the reference-only keys.
    expect(
      errorOf(() => validateConfig(GOLDEN_HORSE_REFERENCE))
        .issues.map((i) => i.key)
        .sort(),
    ).toEqual(['device', 'image_path', 'results_folder', 'use_wandb', 'wandb_entity', 'wandb_project']);
  });

  it('round-trips through the reference spelling', () => {
    const c = validateConfig({ compText: 'ice', nAug: 8 });
    const ref = editConfigToReference(c);
    expect(ref.n_aug).toBe(8);
    expect(ref.comp_text).toBe('ice');
    expect(editConfigFromReference(ref)).toEqual(c);
  });

  it('resolves seed −1 to a random 32-bit seed and keeps fixed seeds', () => {
    expect(resolveSeed(validateConfig({ seed: 1234 }))).toBe(1234);
    const s = resolveSeed(DEFAULT_EDIT_CONFIG);
    expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
  });
});
