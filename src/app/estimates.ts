/**
 * Time estimates for the quality levels on this device. A run measures its speed in steps per second; the compute
 * model of `src/edit/quality.ts` turns that into a throughput (FLOP/s on this edit) and prices every level with it.
 * Both sides of that ratio use the CLIP model that is loaded (its config.json as the vision tower reads it): pricing
 * the tiny test model, or any other CLIP, as ViT-B/32 would make the levels' estimates wrong by orders of magnitude,
 * because the CLIP share of a step differs so much between models.
 */
import type { EditConfig } from '../edit/config';
import { estimateFlops, type ClipCostConfig, type QualitySettings } from '../edit/quality';

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

/** Average FLOP per step of a run (full-image and bootstrap steps spread over all steps). */
export function flopPerStep(config: EditConfig, width: number, height: number, clip?: ClipCostConfig): number {
  return runFlop(config, width, height, clip) / config.nEpochs;
}

/** This device's throughput on the current edit, from its measured speed. */
export function measuredFlopsPerSecond(
  config: EditConfig,
  width: number,
  height: number,
  stepsPerSecond: number,
  clip?: ClipCostConfig,
): number {
  return flopPerStep(config, width, height, clip) * stepsPerSecond;
}

/** Seconds a run with `config` would take at the measured throughput. */
export function runSeconds(
  config: EditConfig,
  width: number,
  height: number,
  flopsPerSecond: number,
  clip?: ClipCostConfig,
): number {
  return runFlop(config, width, height, clip) / flopsPerSecond;
}
