/**
 * The quality levels the app offers: the three of `src/edit/quality.ts` plus a "Tiny (test)" level that only
 * `?dev=1` shows (end-to-end tests on a software GPU: a few px, a few steps, 2 CLIP views, a small generator).
 * Shared by the page (to show the settings a run will use), the worker and the CLI.
 */
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig, type EditConfigKey } from './config';
import { applyQuality, getQualitySettings, type QualityLevel, type QualitySettings } from './quality';

export type AppQuality = QualityLevel | 'tiny';

export const APP_QUALITY_LEVELS: readonly AppQuality[] = ['preview', 'standard', 'reference', 'tiny'];

/** The tiny level: quality-controlled keys plus a small generator (3 scales of 8 channels). */
export const TINY_LEVEL: QualitySettings = Object.freeze({
  name: 'preview' as const,
  label: 'Tiny (test)',
  description:
    'For tests on a software GPU: a 64 px image, 40 steps, 2 CLIP views, a tiny generator; downloads at full resolution.',
  size: 64,
  steps: 40,
  views: 2,
});
const TINY_GENERATOR: Partial<EditConfig> = { skipN33d: 8, skipN33u: 8, skipN11: 2, numScales: 3 };

/** Keys a quality level sets; an explicit user value for one of them wins over the level. */
export const QUALITY_KEYS: readonly EditConfigKey[] = ['resizeInput', 'nEpochs', 'nAug'];

export function qualitySettings(level: AppQuality): QualitySettings {
  return level === 'tiny' ? TINY_LEVEL : getQualitySettings(level);
}

export function qualityLabel(level: AppQuality): string {
  return qualitySettings(level).label;
}

/**
 * Whether downloads render at the photo's own resolution (longest side ≤ the job's render limit). Tiny does, so that
 * the end-to-end tests cover the full-resolution render (with small photos: a 512 px render is slow on a CPU).
 */
export function fullResolutionExport(level: AppQuality): boolean {
  return level === 'standard' || level === 'reference' || level === 'tiny';
}

/**
 * The configuration a run uses: defaults, then `settings` (prompts, seed, loss weights, …; a `bootstrapEpoch`
 * counts in the reference's 1000 steps and is rescaled to the level), then the quality level, then explicit
 * overrides of the level's own keys (`resizeInput`, `nEpochs`, `nAug`) from `settings`.
 * Throws `ConfigError` for invalid settings.
 */
export function resolveConfig(level: AppQuality, settings: Partial<EditConfig> = {}): EditConfig {
  const before: Partial<EditConfig> = { ...settings };
  const after: Partial<EditConfig> = {};
  for (const k of QUALITY_KEYS) {
    if (k in before) {
      (after as Record<string, unknown>)[k] = before[k];
      delete before[k];
    }
  }
  let cfg = validateConfig(before);
  if (level === 'tiny') cfg = { ...cfg, ...TINY_GENERATOR };
  cfg = applyQuality(cfg, qualitySettings(level));
  return validateConfig({ ...cfg, ...after });
}

/** The defaults the Advanced panel shows for a level (no user settings). */
export function levelDefaults(level: AppQuality): EditConfig {
  return resolveConfig(level, {});
}

export { DEFAULT_EDIT_CONFIG };
