/**
 * Time estimates for the quality levels on this device. A level that has run here (same photo size and model) is
 * priced from its own measured step times: crop-only and full-image steps apart, the compiling first step left out
 * (`src/worker/stepTiming.ts`). That is what a run of it will take, dispatch overhead and all. A level that has not
 * run yet is scaled from a measured one by the compute model of `src/edit/quality.ts`, priced for the CLIP model
 * that is loaded (its config.json as the vision tower reads it): only a rough guess, because a small level's step
 * is dominated by per-dispatch costs that do not grow with its FLOP; the page says which kind each estimate is.
 *
 * A video edit's step costs about what an image step costs at the size of its atlas crop (a frame window at the
 * level's raster density): the video levels are priced the same way, from their own measured step times on this
 * clip, else scaled from another video level's or an image level's by that compute model.
 */
import type { EditConfig } from '../edit/config';
import { estimateFlops, type ClipCostConfig, type QualitySettings } from '../edit/quality';
import type { AppQuality } from '../edit/qualityLevels';
import { VIDEO_QUALITY, type VideoQuality } from '../video/edit/videoConfig';
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

// ------------------------------------------------------------------------------------------------ video

/**
 * Steps between a video edit's whole-atlas steps (the reference's entire_atlas_every; `WHOLE_ATLAS_EVERY` of
 * src/video/edit/videoStep.ts, not imported to keep the job's code out of the page bundle: a test keeps them equal).
 */
export const VIDEO_WHOLE_ATLAS_EVERY = 75;

/** The side of a video step's atlas crop: a frame window (about the frame's short side) at `density` texels per pixel. */
export function videoCropSide(clip: { width: number; height: number }, density: number, minSide = 1): number {
  return Math.max(minSide, Math.round(Math.min(clip.width, clip.height) * density));
}

/** FLOP of a whole video run of `config`: each step priced as an image step on the atlas crop. */
export function videoRunFlop(
  config: EditConfig,
  clip: { width: number; height: number },
  density: number,
  vision?: ClipCostConfig,
): number {
  const side = videoCropSide(clip, density, 2 ** config.numScales + 1);
  const asImage = { ...config, resizeInput: side, sourceImageEvery: VIDEO_WHOLE_ATLAS_EVERY };
  return runFlop(asImage, side, side, vision);
}

/** Seconds a whole video run of `config` takes at measured step times (whole-atlas steps apart). */
export function measuredVideoSeconds(config: EditConfig, timing: StepTimingSummary): number | null {
  return measuredRunSeconds(timing, 0, config.nEpochs, VIDEO_WHOLE_ATLAS_EVERY);
}

/** Step times a video level measured, with the clip (its working size) and model they were measured on. */
export interface MeasuredVideoLevel extends MeasuredLevel {
  quality: VideoQuality;
}

/**
 * How long a video edit at `level` (its resolved configuration `config`) would take on this device for a clip of
 * width×height with model `modelId`, or null with nothing measured to go by: the level's own measured step times on
 * this clip, else another video level's on this clip scaled by the compute model, else an image level's with this
 * model scaled from its photo to the atlas crop.
 */
export function videoLevelEstimate(
  level: VideoQuality,
  config: EditConfig,
  clip: { width: number; height: number; modelId: string },
  videoTimings: Partial<Record<VideoQuality, MeasuredVideoLevel>>,
  imageTimings: Partial<Record<AppQuality, MeasuredLevel>>,
  clipModel?: ClipCostConfig,
): LevelEstimate | null {
  const density = VIDEO_QUALITY[level].density;
  const fits = (m: MeasuredLevel) => m.width === clip.width && m.height === clip.height && m.modelId === clip.modelId;
  const own = videoTimings[level];
  if (own && fits(own) && sameStep(own.config, config)) {
    const seconds = measuredVideoSeconds(config, own.timing);
    if (seconds !== null) return { seconds, basis: 'measured' };
  }
  const flop = videoRunFlop(config, clip, density, clipModel);
  const mostMeasured = <T extends MeasuredLevel>(list: (T | undefined)[]) =>
    list
      .filter((m): m is T => !!m && m.timing.cropSeconds !== null)
      .sort((a, b) => b.timing.measured - a.timing.measured)[0];
  const video = mostMeasured(Object.values(videoTimings).filter((m) => m && fits(m)));
  if (video) {
    const base = measuredVideoSeconds(video.config, video.timing)!;
    const baseFlop = videoRunFlop(video.config, clip, VIDEO_QUALITY[video.quality].density, clipModel);
    return { seconds: (base * flop) / baseFlop, basis: 'scaled' };
  }
  const image = mostMeasured(Object.values(imageTimings).filter((m) => m && m.modelId === clip.modelId));
  if (image) {
    const base = measuredSeconds(image.config, image.timing)!;
    return { seconds: (base * flop) / runFlop(image.config, image.width, image.height, clipModel), basis: 'scaled' };
  }
  return null;
}
