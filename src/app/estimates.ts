/**
 * Time estimates for the quality levels on this device. A level that has run here (same photo size and model) is
 * priced from its own measured step times: crop-only and full-image steps apart, the compiling first step left out
 * (`src/worker/stepTiming.ts`). That is what a run of it will take, dispatch overhead and all. A level that has not
 * run yet is scaled from a measured one by the compute model of `src/edit/quality.ts`, priced for the CLIP model
 * that is loaded (its config.json as the vision tower reads it): only a rough guess, because a small level's step
 * is dominated by per-dispatch costs that do not grow with its FLOP; the page says which kind each estimate is.
 */
import type { EditConfig } from '../edit/config';
import { estimateFlops, type ClipCostConfig, type QualitySettings } from '../edit/quality';
import type { AppQuality } from '../edit/qualityLevels';
import { runSeconds as measuredRunSeconds, type StepTimingSummary } from '../worker/stepTiming';

/** FLOP of a whole run with a resolved configuration (its own size, steps and views) on a photo of width×height. */
export function runFlop(config: EditConfig, width: number, height: number, clip?: ClipCostConfig): number {
  // The resolved configuration already holds the level's keys (or the user's explicit overrides of them): price
  // exactly what Start would run, not the level's nominal settings.
  const asRun: QualitySettings = {
    name: 'preview',
    label: 'custom',
    description: '',
    size: config.resizeInput,
    steps: config.nEpochs,
    views: config.nAug,
  };
  return estimateFlops(asRun, width, height, { config, clip }).total;
}

/** Seconds a whole run of `config` takes at measured step times. */
export function measuredSeconds(config: EditConfig, timing: StepTimingSummary): number | null {
  return measuredRunSeconds(timing, 0, config.nEpochs, config.sourceImageEvery);
}

/** Step times a level measured, with what they were measured on. */
export interface MeasuredLevel {
  timing: StepTimingSummary;
  config: EditConfig;
  width: number;
  height: number;
  modelId: string;
}

export interface LevelEstimate {
  seconds: number;
  /** `measured`: this level's own step times; `scaled`: another level's, scaled by the compute model. */
  basis: 'measured' | 'scaled';
}

/** The same work per step: the settings that change a step's cost are those it was measured with. */
function sameStep(a: EditConfig, b: EditConfig): boolean {
  const keys = ['resizeInput', 'nAug', 'numScales', 'skipN33d', 'skipN33u', 'skipN11', 'sourceImageEvery'] as const;
  return keys.every((k) => a[k] === b[k]) && a.bootstrapEpoch > 0 === b.bootstrapEpoch > 0;
}

/**
 * How long a run of `config` (a level's resolved configuration) would take on this device for a photo of
 * width×height with model `modelId`, or null with no measurement to go by. `own`: the level's own measurement, if
 * any; `others`: every level measured (the one with the most measured steps is scaled).
 */
export function levelEstimate(
  config: EditConfig,
  photo: { width: number; height: number; modelId: string },
  own: MeasuredLevel | undefined,
  others: Partial<Record<AppQuality, MeasuredLevel>>,
  clip?: ClipCostConfig,
): LevelEstimate | null {
  const fits = (m: MeasuredLevel) =>
    m.width === photo.width && m.height === photo.height && m.modelId === photo.modelId;
  if (own && fits(own) && sameStep(own.config, config)) {
    const seconds = measuredSeconds(config, own.timing);
    if (seconds !== null) return { seconds, basis: 'measured' };
  }
  const base = Object.values(others)
    .filter((m): m is MeasuredLevel => !!m && fits(m) && m.timing.cropSeconds !== null)
    .sort((a, b) => b.timing.measured - a.timing.measured)[0];
  if (!base) return null;
  const baseSeconds = measuredSeconds(base.config, base.timing)!;
  const ratio =
    runFlop(config, photo.width, photo.height, clip) / runFlop(base.config, photo.width, photo.height, clip);
  return { seconds: baseSeconds * ratio, basis: 'scaled' };
}
