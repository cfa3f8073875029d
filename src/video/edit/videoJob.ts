/**
 * The Text2LIVE video job (spec §B): the image job's generator, optimizer, schedule, losses and CLIP views, trained
 * on one layer's atlas (spec §B.4–B.6) instead of crops of a photo. step() draws a sample (three frames, their
 * windows and the atlas crop over them), runs the passes and updates the generator; render() runs it once on the
 * whole raster and warps the edit into the frames (§B.7). The session holds the generator and optimizer state and
 * the layer settings; the decomposition it edits (the atlas file) and the clip are opened beside it.
 */
import type { ClipVisionTower } from '../../clip/vision';
import { resizeAntialiased } from '../../edit/image';
import { bootstrapActive, LOSS_VALUE_ORDER, relevancyBlocks, relevancyTarget, weightedTotal } from '../../edit/losses';
import type { LossContext, StepPlan } from '../../edit/losses';
import { bootstrapEnabled, validateConfig, type EditConfig } from '../../edit/config';
import { createTrainer, generatorConfig, type Trainer } from '../../edit/job';
import type { LossTerms, RgbaImage } from '../../edit/jobTypes';
import { jobSessionMetadata, readJobSession, SessionRestoreError } from '../../edit/jobSession';
import { encodeTargets, type TextEncoderLike, type TextTargets } from '../../edit/targets';
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { loadCheckpoint, saveCheckpoint } from '../../nn/checkpoint';
import { Rng } from '../../nn/rng';
import { minInputSide } from '../../nn/skip';
import { LayerDataError, type LayerData } from './layerData';
import { centreFrames, drawStepSample } from './stepSample';
import type { VideoEditSettings } from './videoConfig';
import { atlasImage, editAtlas, renderFrame, type FrameRender } from './videoRender';
import { accumulateVideoStep, isWholeAtlasStep, WHOLE_ATLAS_EVERY } from './videoStep';

export interface VideoEditJobOptions {
  engine: Engine;
  vision: ClipVisionTower;
  text: TextEncoderLike;
  config: EditConfig;
  data: LayerData;
  /** CLIP views per pass (memory bound; results do not depend on it). Default 8. */
  viewChunk?: number;
  /** Steps between whole-atlas steps (the reference's entire_atlas_every, 75; tests use fewer). */
  wholeAtlasEvery?: number;
}

export interface VideoStepReport {
  /** 1-based index of the step just taken. */
  step: number;
  totalSteps: number;
  losses: LossTerms;
  lr: number;
  /** Whether the whole atlas was part of this step (every 75 steps). */
  wholeAtlasStep: boolean;
  /** The frames t − 2, t, t + 2 of the step. */
  frames: [number, number, number];
}

/** The reference's background whole-atlas downscale (×1/3, antialiased), held to the generator's minimum side. */
export const WHOLE_BACKGROUND_SCALE = 1 / 3;

/** The whole-atlas input [3,h,w] planar: the foreground's raster as it is, the background's downscaled. */
function wholeAtlasInput(data: LayerData, minSide: number): { data: Float32Array; width: number; height: number } {
  const { width, height, data: planar } = data.raster;
  if (data.layer === 'foreground') return { data: planar, width, height };
  const scale = Math.min(1, Math.max(WHOLE_BACKGROUND_SCALE, minSide / Math.min(width, height)));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  if (w === width && h === height) return { data: planar, width, height };
  // 8-bit antialiased resize (the image pipeline's PIL-like resize): the input is a photo-like raster.
  const n = width * height;
  const rgba = new Uint8ClampedArray(4 * n);
  for (let k = 0; k < n; k++) {
    for (let c = 0; c < 3; c++) rgba[4 * k + c] = Math.round(Math.min(1, Math.max(0, planar[c * n + k])) * 255);
    rgba[4 * k + 3] = 255;
  }
  const small: RgbaImage = resizeAntialiased({ width, height, data: rgba }, w, h);
  const out = new Float32Array(3 * w * h);
  for (let k = 0; k < w * h; k++) for (let c = 0; c < 3; c++) out[c * w * h + k] = small.data[4 * k + c] / 255;
  return { data: out, width: w, height: h };
}

export class VideoEditJob {
  readonly totalSteps: number;
  private steps = 0;
  private wholeRelevancy: Tensor | null = null;
  private atlasCache: { step: number; tensor: Tensor } | null = null;

  private constructor(
    private readonly engine: Engine,
    private readonly vision: ClipVisionTower,
    readonly config: EditConfig,
    readonly data: LayerData,
    private readonly trainer: Trainer,
    private readonly rng: Rng,
    private readonly targets: TextTargets,
    private readonly raster: Tensor,
    private readonly whole: Tensor,
    private readonly minSide: number,
    private readonly viewChunk: number,
    private readonly wholeAtlasEvery: number,
  ) {
    this.totalSteps = config.nEpochs;
  }

  static async create(opts: VideoEditJobOptions): Promise<VideoEditJob> {
    const config = validateConfig(opts.config);
    const { engine, data } = opts;
    const seed = config.seed >= 0 ? config.seed : Math.floor(Math.random() * 2 ** 31);
    const effective: EditConfig = { ...config, seed };
    const rng = new Rng(seed);
    const minSide = minInputSide(generatorConfig(effective));
    const { width: rw, height: rh } = data.raster;
    if (rw < minSide || rh < minSide) {
      throw new LayerDataError(
        `The ${data.layer} atlas raster is ${rw}×${rh} texels; the generator needs at least ${minSide} per side. ` +
          'Use a higher atlas density or a larger working size.',
      );
    }
    if (centreFrames(data).length === 0) {
      throw new LayerDataError(
        'No three frames (t − 2, t, t + 2) all show the object opaquely: there is no foreground to train on. ' +
          'Edit the background instead, or decompose the clip with masks.',
      );
    }
    if (bootstrapEnabled(effective)) relevancyBlocks(opts.vision.config.numHiddenLayers, effective.relevancyNumLayers);
    const targets = await encodeTargets(opts.text, effective);
    const trainer = createTrainer(engine, effective, rng);
    const raster = engine.fromArray([1, 3, rh, rw], data.raster.data, 'video-raster').keep();
    const w = wholeAtlasInput(data, minSide);
    const whole =
      w.data === data.raster.data ? raster : engine.fromArray([1, 3, w.height, w.width], w.data, 'video-whole').keep();
    return new VideoEditJob(
      engine,
      opts.vision,
      effective,
      data,
      trainer,
      rng,
      targets,
      raster,
      whole,
      minSide,
      opts.viewChunk ?? 8,
      opts.wholeAtlasEvery ?? WHOLE_ATLAS_EVERY,
    );
  }

  get stepsDone(): number {
    return this.steps;
  }

  get settings(): VideoEditSettings {
    return { layer: this.data.layer, density: this.data.raster.resolution / (2 * this.data.geometry.width) };
  }

  private lossContext(): LossContext {
    return {
      engine: this.engine,
      vision: this.vision,
      config: this.config,
      targets: this.targets,
      rng: this.rng,
      viewChunk: this.viewChunk,
    };
  }

  /** One optimizer step. Resolves with the step's losses (a small readback). */
  async step(): Promise<VideoStepReport> {
    if (this.steps >= this.totalSteps) throw new Error('The edit has finished all its steps.');
    const engine = this.engine;
    const step = this.steps;
    const ctx = this.lossContext();
    const sample = drawStepSample(this.rng, this.data, this.minSide);
    const whole = isWholeAtlasStep(step, this.wholeAtlasEvery) ? this.whole : null;
    let owned: Tensor | null = null;
    const relevancyOf = (last: Tensor, plan: Omit<StepPlan, 'relevancy'>): Tensor | null => {
      if (!bootstrapActive(ctx, step)) return null;
      if (last === this.whole && !plan.draws.bootstrapCrop) {
        // The whole atlas's map depends on nothing that changes: computed once.
        this.wholeRelevancy ??= relevancyTarget(ctx, this.whole).keep();
        return this.wholeRelevancy;
      }
      owned = relevancyTarget(ctx, last, plan.draws.bootstrapCrop);
      return owned;
    };
    const lr = this.trainer.schedule.lr;
    const values = engine.tidy(() => {
      const r = accumulateVideoStep(ctx, this.trainer.generator, this.data, sample, step, whole, relevancyOf);
      this.trainer.optimizer.step(lr);
      return r;
    });
    (owned as Tensor | null)?.release();
    this.trainer.schedule.step();
    this.steps++;
    this.atlasCache?.tensor.release();
    this.atlasCache = null;
    const raw = await values.values.read();
    values.values.release();
    const losses = { total: weightedTotal(raw, values.weights) } as LossTerms;
    LOSS_VALUE_ORDER.forEach((k, i) => (losses[k] = raw[i]));
    return {
      step: this.steps,
      totalSteps: this.totalSteps,
      losses,
      lr,
      wholeAtlasStep: whole !== null,
      frames: sample.frames,
    };
  }

  /** The edited atlas of the current generator (computed once per step done). */
  private editedAtlas(): Tensor {
    if (!this.atlasCache) {
      this.atlasCache = {
        step: this.steps,
        tensor: editAtlas(this.engine, this.trainer.generator, this.raster).keep(),
      };
    }
    return this.atlasCache.tensor;
  }

  /** The edited atlas as RGBA (edit colour and α over the layer's raster crop). */
  async renderAtlas(): Promise<RgbaImage> {
    return atlasImage(this.editedAtlas());
  }

  /** Frame t of the edited clip and its edit layer; `frame` is the original frame t at the working size. */
  async renderFrame(t: number, frame: RgbaImage): Promise<FrameRender> {
    if (!Number.isInteger(t) || t < 0 || t >= this.data.geometry.frames) {
      throw new RangeError(`renderFrame: frame ${t} is outside 0..${this.data.geometry.frames - 1}`);
    }
    return renderFrame(this.engine, this.data, this.editedAtlas(), t, frame);
  }

  /** The session: settings + generator + optimizer state; the layer settings in `video` (JSON). */
  async saveSession(): Promise<Uint8Array> {
    const { generator, optimizer } = this.trainer;
    return saveCheckpoint(generator.params, {
      optimizerState: optimizer.state(),
      metadata: {
        ...jobSessionMetadata({
          config: this.config,
          step: this.steps,
          optimizerSteps: optimizer.stepCount,
          rng: this.rng.state,
          datasetStep: this.steps - 1,
        }),
        video: JSON.stringify(this.settings),
      },
    });
  }

  /**
   * Re-creates a job from a session, on the layer data it was made for (the same decomposition, layer and density).
   * The whole file is checked before anything is allocated (SessionRestoreError).
   */
  static async restore(opts: Omit<VideoEditJobOptions, 'config'> & { session: Uint8Array }): Promise<VideoEditJob> {
    const session = readJobSession(opts.session);
    const video = readVideoSettings(session.tensors.metadata);
    const expected = opts.data.raster.resolution / (2 * opts.data.geometry.width);
    if (video.layer !== opts.data.layer || Math.abs(video.density - expected) > 1e-6) {
      throw new SessionRestoreError(
        `The session edits the ${video.layer} layer at ${video.density} texels per pixel; the clip was prepared for ` +
          `the ${opts.data.layer} layer at ${expected}.`,
      );
    }
    const job = await VideoEditJob.create({ ...opts, config: session.config });
    try {
      const { generator, optimizer } = job.trainer;
      await loadCheckpoint(session.tensors, generator.params, optimizer.state());
      optimizer.stepCount = session.optimizerSteps;
    } catch (e) {
      job.dispose();
      throw e;
    }
    job.steps = session.step;
    job.trainer.schedule.restore(job.steps);
    job.rng.state = session.rng;
    return job;
  }

  dispose(): void {
    this.trainer.generator.dispose();
    this.trainer.optimizer.dispose();
    if (this.whole !== this.raster) this.whole.release();
    this.raster.release();
    this.wholeRelevancy?.release();
    this.atlasCache?.tensor.release();
  }
}

/** The `video` field of a session: which layer at which density. */
export function readVideoSettings(meta: Record<string, string>): VideoEditSettings {
  if (meta.video === undefined) throw new SessionRestoreError('This session is an image edit, not a video edit.');
  let v: unknown;
  try {
    v = JSON.parse(meta.video);
  } catch {
    throw new SessionRestoreError('The session\'s "video" settings are not JSON.');
  }
  const s = v as Partial<VideoEditSettings>;
  if ((s.layer !== 'foreground' && s.layer !== 'background') || !(typeof s.density === 'number' && s.density > 0)) {
    throw new SessionRestoreError('The session\'s "video" settings name no layer and density.');
  }
  return { layer: s.layer, density: s.density };
}
