/**
 * The edit configuration: every key of the reference's `configs/image_config.yaml` (spec §A.1) in camelCase with
 * the reference defaults, plus the prompts of the example configs and the optimizer constants that the reference
 * hard-codes in `util/util.py`.
 *
 * Key table (ours → reference):
 *
 * | EditConfig key                  | reference key                    | default      | range / values                         |
 * |---------------------------------|----------------------------------|--------------|----------------------------------------|
 * | resizeInput                     | resize_input                     | 512          | integer; ≤ 0 keeps the input size      |
 * | dDivisibleCrops                 | d_divisible_crops                | 1            | integer ≥ 1                            |
 * | sourceImageEvery                | source_image_every               | 75           | integer ≥ 1                            |
 * | cropsMinCover                   | crops_min_cover                  | 0.85         | (0, 1]                                 |
 * | flipP                           | flip_p                           | 0.5          | [0, 1]                                 |
 * | jitterP                         | jitter_p                         | 0.1          | [0, 1]                                 |
 * | scaleMin                        | scale_min                        | 0.8          | > 0, ≤ scaleMax                        |
 * | scaleMax                        | scale_max                        | 1.2          | > 0, ≥ scaleMin                        |
 * | textCriterion                   | text_criterion                   | 'spherical'  | 'spherical' / 'cosine'                 |
 * | bootstrapScheduler              | bootstrap_scheduler              | 'linear'     | 'linear' / 'exponential' / 'none'      |
 * | bootstrapEpoch                  | bootstrap_epoch                  | -1           | integer; ≤ 0 = no bootstrap            |
 * | lambdaBootstrap                 | lambda_bootstrap                 | 10           | ≥ 0                                    |
 * | lambdaBootstrapMin              | lambda_bootstrap_min             | 0            | ≥ 0                                    |
 * | bootstrappingMinCover           | bootstrapping_min_cover          | 1            | (0, 1]                                 |
 * | lambdaStructure                 | lambda_structure                 | 2            | ≥ 0                                    |
 * | lambdaScreen                    | lambda_screen                    | 1            | ≥ 0                                    |
 * | lambdaSparsity                  | lambda_sparsity                  | 6            | ≥ 0                                    |
 * | lambdaAlphaL0                   | lambda_alpha_l0                  | 0.01         | ≥ 0                                    |
 * | lambdaAlphaL1                   | lambda_alpha_l1                  | 0.01         | ≥ 0                                    |
 * | lambdaComposition               | lambda_composition               | 1            | ≥ 0                                    |
 * | useNegativeBootstrap            | use_negative_bootstrap           | false        | false (not implemented; see below)     |
 * | nAug                            | n_aug                            | 16           | integer 1..64                          |
 * | clipModelName                   | clip_model_name                  | 'ViT-B/32'   | 'ViT-B/32' (the only one we run)       |
 * | relevancyNumLayers              | relevancy_num_layers             | 10           | integer −1..10 (see below)             |
 * | clipAffineTransformFill         | clip_affine_transform_fill       | 1            | [0, 1]                                 |
 * | nEpochs                         | n_epochs                         | 1000         | integer ≥ 1                            |
 * | schedulerPolicy                 | scheduler_policy                 | 'exponential'| 'exponential' / 'none'                 |
 * | gamma                           | gamma                            | 0.99         | (0, 1]                                 |
 * | minLr                           | min_lr                           | 1e-5         | ≥ 0                                    |
 * | lr                              | lr                               | 0.0025       | > 0                                    |
 * | optimizer                       | optimizer                        | 'madgrad'    | 'madgrad' / 'adam'                     |
 * | momentum                        | momentum (util.py, not in yaml)  | 0.9          | [0, 1)                                 |
 * | weightDecay                     | weight_decay (util.py)           | 0.01         | ≥ 0                                    |
 * | optimizerEps                    | optimizer_eps (util.py `eps`)    | 1e-6         | > 0                                    |
 * | skipN33d                        | skip_n33d                        | 128          | integer 1..1024                        |
 * | skipN33u                        | skip_n33u                        | 128          | integer 1..1024                        |
 * | skipN11                         | skip_n11                         | 4            | integer 0..1024                        |
 * | numScales                       | num_scales                       | 7            | integer 1..10                          |
 * | logImagesFreq                   | log_images_freq                  | 50           | integer ≥ 0; 0 = never                 |
 * | seed                            | seed                             | -1           | integer −1..2³²−1; −1 = random         |
 * | screenText                      | screen_text                      | ''           | string or non-empty list of strings    |
 * | compText                        | comp_text                        | ''           | string or non-empty list of strings    |
 * | srcText                         | src_text                         | ''           | string or non-empty list of strings    |
 * | bootstrapText                   | bootstrap_text                   | null         | string or null (one prompt)            |
 * | bootstrapNegativeText           | bootstrap_negative_text          | null         | string or null                         |
 * | bootstrapNegativeMapThreshold   | bootstrap_negative_map_threshold | 0.6          | [0, 1]                                 |
 *
 * The last two are read by the reference only when `use_negative_bootstrap` is on (not in the yaml; 0.6 per
 * spec §A.9). That negative relevancy term is off in every reference config and not implemented here, so
 * `useNegativeBootstrap: true` is rejected rather than silently ignored (the two keys are accepted and unused).
 * `relevancyNumLayers` 11 is rejected: the relevancy map uses the attention blocks with a larger index, and
 * ViT-B/32 has blocks 0..11, so none would be left (the reference then normalizes a 0/0 map). A job also checks the
 * value against the depth of the model it runs (the 2-block test model takes −1..0). Reference keys that mean nothing in the browser (`image_path`, `results_folder`, `device`,
 * `use_wandb`, `wandb_project`, `wandb_entity`) are accepted and dropped by `editConfigFromReference` only.
 *
 * Deliberate narrowing: the reference also names scheduler policies linear/step/plateau/cosine and optimizers
 * radam/rmsprop/sgd and other CLIP models, which none of its configs use; we reject them with a clear message.
 * `bootstrap_text` must be a single prompt: the reference's relevancy loss breaks for a list (its MSE would
 * broadcast a [3·n,224,224] map against a 3-channel alpha); a one-element list is accepted and unwrapped.
 */

export type TextCriterion = 'spherical' | 'cosine';
export type BootstrapScheduler = 'linear' | 'exponential' | 'none';
export type SchedulerPolicy = 'exponential' | 'none';
export type OptimizerName = 'madgrad' | 'adam';
export type ClipModelName = 'ViT-B/32';
/** One prompt or a list of prompts (lists are stacked prompt-major, spec §A.6.4). */
export type PromptText = string | string[];

export interface EditConfig {
  resizeInput: number;
  dDivisibleCrops: number;
  sourceImageEvery: number;
  cropsMinCover: number;
  flipP: number;
  jitterP: number;
  scaleMin: number;
  scaleMax: number;
  textCriterion: TextCriterion;
  bootstrapScheduler: BootstrapScheduler;
  bootstrapEpoch: number;
  lambdaBootstrap: number;
  lambdaBootstrapMin: number;
  bootstrappingMinCover: number;
  lambdaStructure: number;
  lambdaScreen: number;
  lambdaSparsity: number;
  lambdaAlphaL0: number;
  lambdaAlphaL1: number;
  lambdaComposition: number;
  useNegativeBootstrap: boolean;
  nAug: number;
  clipModelName: ClipModelName;
  relevancyNumLayers: number;
  clipAffineTransformFill: number;
  nEpochs: number;
  schedulerPolicy: SchedulerPolicy;
  gamma: number;
  minLr: number;
  lr: number;
  optimizer: OptimizerName;
  momentum: number;
  weightDecay: number;
  optimizerEps: number;
  skipN33d: number;
  skipN33u: number;
  skipN11: number;
  numScales: number;
  logImagesFreq: number;
  seed: number;
  /** T_screen: describes the edit layer alone (shown over a green screen). */
  screenText: PromptText;
  /** T_comp: describes the full edited image. */
  compText: PromptText;
  /** T_src: describes the input image (index-paired with compText by the direction loss). */
  srcText: PromptText;
  /** T_roi: the region of interest for relevancy bootstrapping (null = none). */
  bootstrapText: string | null;
  bootstrapNegativeText: string | null;
  bootstrapNegativeMapThreshold: number;
}

export type EditConfigKey = keyof EditConfig;

/** The reference defaults (spec §A.1); prompts empty (the example configs supply them). */
export const DEFAULT_EDIT_CONFIG: Readonly<EditConfig> = Object.freeze({
  resizeInput: 512,
  dDivisibleCrops: 1,
  sourceImageEvery: 75,
  cropsMinCover: 0.85,
  flipP: 0.5,
  jitterP: 0.1,
  scaleMin: 0.8,
  scaleMax: 1.2,
  textCriterion: 'spherical',
  bootstrapScheduler: 'linear',
  bootstrapEpoch: -1,
  lambdaBootstrap: 10,
  lambdaBootstrapMin: 0,
  bootstrappingMinCover: 1,
  lambdaStructure: 2,
  lambdaScreen: 1,
  lambdaSparsity: 6,
  lambdaAlphaL0: 0.01,
  lambdaAlphaL1: 0.01,
  lambdaComposition: 1,
  useNegativeBootstrap: false,
  nAug: 16,
  clipModelName: 'ViT-B/32',
  relevancyNumLayers: 10,
  clipAffineTransformFill: 1,
  nEpochs: 1000,
  schedulerPolicy: 'exponential',
  gamma: 0.99,
  minLr: 0.00001,
  lr: 0.0025,
  optimizer: 'madgrad',
  momentum: 0.9,
  weightDecay: 0.01,
  optimizerEps: 1e-6,
  skipN33d: 128,
  skipN33u: 128,
  skipN11: 4,
  numScales: 7,
  logImagesFreq: 50,
  seed: -1,
  screenText: '',
  compText: '',
  srcText: '',
  bootstrapText: null,
  bootstrapNegativeText: null,
  bootstrapNegativeMapThreshold: 0.6,
} satisfies EditConfig);

/** camelCase key → the reference's snake_case key. */
export const REFERENCE_KEYS: Readonly<Record<EditConfigKey, string>> = Object.freeze({
  resizeInput: 'resize_input',
  dDivisibleCrops: 'd_divisible_crops',
  sourceImageEvery: 'source_image_every',
  cropsMinCover: 'crops_min_cover',
  flipP: 'flip_p',
  jitterP: 'jitter_p',
  scaleMin: 'scale_min',
  scaleMax: 'scale_max',
  textCriterion: 'text_criterion',
  bootstrapScheduler: 'bootstrap_scheduler',
  bootstrapEpoch: 'bootstrap_epoch',
  lambdaBootstrap: 'lambda_bootstrap',
  lambdaBootstrapMin: 'lambda_bootstrap_min',
  bootstrappingMinCover: 'bootstrapping_min_cover',
  lambdaStructure: 'lambda_structure',
  lambdaScreen: 'lambda_screen',
  lambdaSparsity: 'lambda_sparsity',
  lambdaAlphaL0: 'lambda_alpha_l0',
  lambdaAlphaL1: 'lambda_alpha_l1',
  lambdaComposition: 'lambda_composition',
  useNegativeBootstrap: 'use_negative_bootstrap',
  nAug: 'n_aug',
  clipModelName: 'clip_model_name',
  relevancyNumLayers: 'relevancy_num_layers',
  clipAffineTransformFill: 'clip_affine_transform_fill',
  nEpochs: 'n_epochs',
  schedulerPolicy: 'scheduler_policy',
  gamma: 'gamma',
  minLr: 'min_lr',
  lr: 'lr',
  optimizer: 'optimizer',
  momentum: 'momentum',
  weightDecay: 'weight_decay',
  optimizerEps: 'optimizer_eps',
  skipN33d: 'skip_n33d',
  skipN33u: 'skip_n33u',
  skipN11: 'skip_n11',
  numScales: 'num_scales',
  logImagesFreq: 'log_images_freq',
  seed: 'seed',
  screenText: 'screen_text',
  compText: 'comp_text',
  srcText: 'src_text',
  bootstrapText: 'bootstrap_text',
  bootstrapNegativeText: 'bootstrap_negative_text',
  bootstrapNegativeMapThreshold: 'bootstrap_negative_map_threshold',
});

/** Reference yaml keys with no meaning here; `editConfigFromReference` drops them. */
export const REFERENCE_ONLY_KEYS: readonly string[] = Object.freeze([
  'image_path',
  'results_folder',
  'device',
  'use_wandb',
  'wandb_project',
  'wandb_entity',
]);

export interface ConfigIssue {
  /** The key as the caller spelled it (camelCase or snake_case). */
  key: string;
  /** What was expected, e.g. "a number in [0, 1]". */
  expected: string;
  /** A short rendering of the value received. */
  got: string;
}

/** A configuration that cannot be used; `issues` lists every wrong key (the message names them all). */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const lines = issues.map((i) => `${i.key}: expected ${i.expected}, got ${i.got}`);
    super(
      issues.length === 1
        ? `Invalid edit configuration: ${lines[0]}`
        : `Invalid edit configuration:\n  ${lines.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** The first offending key (convenience for single-issue errors). */
  get key(): string {
    return this.issues[0]?.key ?? '';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation rules
// ---------------------------------------------------------------------------------------------------------------

type Rule = (v: unknown) => { ok: true; value: unknown } | { ok: false; expected: string };

function num(opts: { int?: boolean; min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean } = {}): Rule {
  const kind = opts.int ? 'an integer' : 'a number';
  const lo = opts.min === undefined ? '' : `${opts.minOpen ? '(' : '['}${opts.min}`;
  const hi = opts.max === undefined ? '' : `${opts.max}${opts.maxOpen ? ')' : ']'}`;
  let expected = kind;
  if (lo && hi) expected += ` in ${lo}, ${hi}`;
  else if (lo) expected += ` ${opts.minOpen ? '>' : '≥'} ${opts.min}`;
  else if (hi) expected += ` ${opts.maxOpen ? '<' : '≤'} ${opts.max}`;
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return { ok: false, expected };
    if (opts.int && !Number.isInteger(v)) return { ok: false, expected };
    if (opts.min !== undefined && (opts.minOpen ? v <= opts.min : v < opts.min)) return { ok: false, expected };
    if (opts.max !== undefined && (opts.maxOpen ? v >= opts.max : v > opts.max)) return { ok: false, expected };
    return { ok: true, value: v };
  };
}

function oneOf(values: readonly string[], note = ''): Rule {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}${note}`;
  return (v) => (typeof v === 'string' && values.includes(v) ? { ok: true, value: v } : { ok: false, expected });
}

const MAX_PROMPT_CHARS = 300;

const prompt: Rule = (v) => {
  const expected = `a string or a non-empty list of strings (each ≤ ${MAX_PROMPT_CHARS} characters)`;
  if (typeof v === 'string') return v.length <= MAX_PROMPT_CHARS ? { ok: true, value: v } : { ok: false, expected };
  if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s.length <= MAX_PROMPT_CHARS)) {
    return { ok: true, value: [...v] };
  }
  return { ok: false, expected };
};

const singlePrompt: Rule = (v) => {
  const expected = `null or a single string (≤ ${MAX_PROMPT_CHARS} characters; the relevancy map takes one prompt)`;
  if (v === null || v === undefined) return { ok: true, value: null };
  if (Array.isArray(v) && v.length === 1) v = v[0];
  if (typeof v === 'string' && v.length <= MAX_PROMPT_CHARS) return { ok: true, value: v.trim() === '' ? null : v };
  return { ok: false, expected };
};

/**
 * The relevancy map uses the attention blocks with index > relevancyNumLayers; ViT-B/32 has 12 (0..11), so 11 would
 * leave none (the reference then divides 0 by 0). −1 uses them all.
 */
const relevancyLayers: Rule = (v) => {
  const base = num({ int: true, min: -1, max: 10 })(v);
  if (base.ok || v !== 11) return base;
  return {
    ok: false,
    expected:
      'an integer in [-1, 10]: the relevancy map uses the attention blocks after this index, and ViT-B/32 has 12 ' +
      '(0..11), so 11 leaves none (10, the default, uses the last block)',
  };
};

/** The negative bootstrap is not part of this port (every reference config leaves it off): only false is accepted. */
const negativeBootstrap: Rule = (v) =>
  v === false
    ? { ok: true, value: false }
    : {
        ok: false,
        expected:
          'false (the negative relevancy bootstrap is not implemented here; every reference config leaves it off)',
      };

const nonNegative = num({ min: 0 });
const probability = num({ min: 0, max: 1 });
const cover = num({ min: 0, max: 1, minOpen: true });

const RULES: Record<EditConfigKey, Rule> = {
  resizeInput: num({ int: true, max: 8192 }),
  dDivisibleCrops: num({ int: true, min: 1, max: 1024 }),
  sourceImageEvery: num({ int: true, min: 1 }),
  cropsMinCover: cover,
  flipP: probability,
  jitterP: probability,
  scaleMin: num({ min: 0, max: 8, minOpen: true }),
  scaleMax: num({ min: 0, max: 8, minOpen: true }),
  textCriterion: oneOf(['spherical', 'cosine']),
  bootstrapScheduler: oneOf(['linear', 'exponential', 'none']),
  bootstrapEpoch: num({ int: true }),
  lambdaBootstrap: nonNegative,
  lambdaBootstrapMin: nonNegative,
  bootstrappingMinCover: cover,
  lambdaStructure: nonNegative,
  lambdaScreen: nonNegative,
  lambdaSparsity: nonNegative,
  lambdaAlphaL0: nonNegative,
  lambdaAlphaL1: nonNegative,
  lambdaComposition: nonNegative,
  useNegativeBootstrap: negativeBootstrap,
  nAug: num({ int: true, min: 1, max: 64 }),
  clipModelName: oneOf(['ViT-B/32'], ' (the only CLIP model this port runs)'),
  relevancyNumLayers: relevancyLayers,
  clipAffineTransformFill: probability,
  nEpochs: num({ int: true, min: 1, max: 1_000_000 }),
  schedulerPolicy: oneOf(['exponential', 'none']),
  gamma: num({ min: 0, max: 1, minOpen: true }),
  minLr: nonNegative,
  lr: num({ min: 0, minOpen: true }),
  optimizer: oneOf(['madgrad', 'adam']),
  momentum: num({ min: 0, max: 1, maxOpen: true }),
  weightDecay: nonNegative,
  optimizerEps: num({ min: 0, minOpen: true }),
  skipN33d: num({ int: true, min: 1, max: 1024 }),
  skipN33u: num({ int: true, min: 1, max: 1024 }),
  skipN11: num({ int: true, min: 0, max: 1024 }),
  numScales: num({ int: true, min: 1, max: 10 }),
  logImagesFreq: num({ int: true, min: 0 }),
  seed: num({ int: true, min: -1, max: 0xffffffff }),
  screenText: prompt,
  compText: prompt,
  srcText: prompt,
  bootstrapText: singlePrompt,
  bootstrapNegativeText: singlePrompt,
  bootstrapNegativeMapThreshold: probability,
};

const CAMEL_KEYS = Object.keys(DEFAULT_EDIT_CONFIG) as EditConfigKey[];
const SNAKE_TO_CAMEL: ReadonlyMap<string, EditConfigKey> = new Map(
  CAMEL_KEYS.map((k) => [REFERENCE_KEYS[k], k] as [string, EditConfigKey]),
);

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  try {
    const s = JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 40)}…` : s;
  } catch {
    return typeof v;
  }
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

function suggestion(key: string): string {
  const norm = key.toLowerCase().replace(/[_-]/g, '');
  let best = '';
  let bestD = Infinity;
  for (const k of CAMEL_KEYS) {
    const d = levenshtein(norm, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= 3 ? ` (did you mean "${best}"?)` : '';
}

export interface ValidateOptions {
  /** Require non-empty screen, comp and src prompts (what a training run needs). Default false. */
  requirePrompts?: boolean;
}

/**
 * Checks a partial configuration (camelCase keys, or the reference's snake_case keys as aliases), fills the
 * reference defaults and returns a complete `EditConfig`. Throws `ConfigError` listing every unknown key,
 * every value of the wrong type or out of range (naming the key and what was expected), keys given twice
 * (in both spellings with different values), and cross-key conflicts (scaleMin > scaleMax).
 */
export function validateConfig(partial: unknown, options: ValidateOptions = {}): EditConfig {
  if (partial === undefined || partial === null) partial = {};
  if (typeof partial !== 'object' || Array.isArray(partial)) {
    throw new ConfigError([{ key: '(config)', expected: 'an object of settings', got: show(partial) }]);
  }
  const issues: ConfigIssue[] = [];
  const out: Record<string, unknown> = { ...DEFAULT_EDIT_CONFIG };
  const seen = new Map<EditConfigKey, { spelled: string; value: unknown }>();

  for (const [spelled, value] of Object.entries(partial as Record<string, unknown>)) {
    const key: EditConfigKey | undefined = (CAMEL_KEYS as string[]).includes(spelled)
      ? (spelled as EditConfigKey)
      : SNAKE_TO_CAMEL.get(spelled);
    if (!key) {
      issues.push({ key: spelled, expected: `a known setting${suggestion(spelled)}`, got: 'an unknown key' });
      continue;
    }
    const before = seen.get(key);
    if (before) {
      if (JSON.stringify(before.value) !== JSON.stringify(value)) {
        issues.push({
          key: spelled,
          expected: `one value (also given as "${before.spelled}" = ${show(before.value)})`,
          got: show(value),
        });
      }
      continue;
    }
    seen.set(key, { spelled, value });
    if (value === undefined) continue; // an explicit undefined keeps the default
    const r = RULES[key](value);
    if (r.ok) out[key] = r.value;
    else issues.push({ key: spelled, expected: r.expected, got: show(value) });
  }

  const cfg = out as unknown as EditConfig;
  if (!issues.some((i) => /scale(Min|Max)|scale_(min|max)/.test(i.key)) && cfg.scaleMin > cfg.scaleMax) {
    issues.push({
      key: seen.get('scaleMin')?.spelled ?? 'scaleMin',
      expected: `a value ≤ scaleMax (${cfg.scaleMax})`,
      got: show(cfg.scaleMin),
    });
  }
  if (options.requirePrompts) {
    for (const k of ['screenText', 'compText', 'srcText'] as const) {
      const v = cfg[k];
      const empty = typeof v === 'string' ? v.trim() === '' : v.some((s) => s.trim() === '');
      if (empty) issues.push({ key: seen.get(k)?.spelled ?? k, expected: 'a non-empty prompt', got: show(v) });
    }
    if (cfg.bootstrapEpoch > 0 && cfg.lambdaBootstrap > 0 && cfg.bootstrapText === null) {
      issues.push({
        key: seen.get('bootstrapText')?.spelled ?? 'bootstrapText',
        expected: `a region-of-interest prompt (bootstrapEpoch is ${cfg.bootstrapEpoch}; set it to -1 for no bootstrap)`,
        got: 'null',
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return cfg;
}

/**
 * Loads a configuration written with the reference's keys (e.g. `image_config.yaml` merged with an example
 * config, parsed to JSON): drops the keys that mean nothing here (`REFERENCE_ONLY_KEYS`), then validates.
 * camelCase keys are accepted too.
 */
export function editConfigFromReference(obj: unknown, options: ValidateOptions = {}): EditConfig {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!REFERENCE_ONLY_KEYS.includes(k)) kept[k] = v;
    }
    return validateConfig(kept, options);
  }
  return validateConfig(obj, options);
}

/** The configuration with the reference's snake_case keys (for saving next to results, or comparing). */
export function editConfigToReference(cfg: EditConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CAMEL_KEYS) out[REFERENCE_KEYS[k]] = cfg[k];
  return out;
}

/** Whether relevancy bootstrapping runs at all (reference: `bootstrap_epoch > 0 and lambda_bootstrap > 0`,
 *  and a region-of-interest text is needed for it). */
export function bootstrapEnabled(cfg: EditConfig): boolean {
  return cfg.bootstrapEpoch > 0 && cfg.lambdaBootstrap > 0 && cfg.bootstrapText !== null;
}

/**
 * The seed a run uses: the configured one, or for −1 a fresh random 32-bit seed (the reference draws one too).
 * Report the resolved seed with the results so a run can be repeated.
 */
export function resolveSeed(cfg: EditConfig): number {
  if (cfg.seed >= 0) return cfg.seed >>> 0;
  const buf = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buf);
  return buf[0];
}
