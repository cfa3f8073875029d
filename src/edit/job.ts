/**
 * The Text2LIVE image job (spec §A.11): one optimizer step per call of step(): sample the internal
 * dataset (§A.3), run the generator on the crop (and on the full image every `sourceImageEvery` steps),
 * render edit / alpha / green screen / composite (§A.5), compute the losses (§A.8) with CLIP views in
 * chunks, a backward through the generator per item (gradients summed), and a MADGRAD (or Adam) update
 * with the exponential learning-rate schedule (§A.10). Pause, resume and cancel happen between steps, in the caller's loop.
 */
import type { ClipVisionTower } from '../clip/vision';
import type { Engine } from '../gpu/engine';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { Adam } from '../nn/adam';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint';
import { Madgrad } from '../nn/madgrad';
import type { Parameter } from '../nn/parameter';
import { Rng } from '../nn/rng';
import { ExponentialLr } from '../nn/schedule';
import { minInputSide, SkipGenerator, type SkipGeneratorConfig } from '../nn/skip';
import { alphaComposite, GREEN_SCREEN } from '../ops/composite';
import { add } from '../ops/elementwise';
import { narrow } from '../ops/shape';
import { bootstrapEnabled, validateConfig, type EditConfig } from './config';
import { InternalDataset } from './dataset';
import { resizeShortSide, resizeShortSideDims, toTensorData } from './image';
import type { EditRenders, LossTerms, RgbaImage, StepReport } from './jobTypes';
import {
  bootstrapActive,
  computeLosses,
  drawStep,
  LOSS_VALUE_ORDER,
  relevancyBlocks,
  relevancyTarget,
  weightedTotal,
  type LossContext,
  type LossItem,
  type StepPlan,
} from './losses';
import { jobSessionMetadata, readJobSession } from './jobSession';
import { encodeTargets, type TextEncoderLike, type TextTargets } from './targets';

export interface EditJobOptions {
  engine: Engine;
  vision: ClipVisionTower;
  text: TextEncoderLike;
  /** The user's image at its original resolution. */
  image: RgbaImage;
  config: EditConfig;
  /** CLIP views per pass (memory bound; results do not depend on it). Default 8. */
  viewChunk?: number;
  /** Longest side of the full-resolution render (memory bound). Default 2048. */
  maxRenderSide?: number;
}

/** The generator configuration a job config asks for. */
export function generatorConfig(c: EditConfig): SkipGeneratorConfig {
  return { scales: c.numScales, down: c.skipN33d, up: c.skipN33u, skip: c.skipN11 };
}

export interface RenderTensors {
  edit: Tensor;
  alpha: Tensor;
  composite: Tensor;
  greenscreen: Tensor;
}

/** Splits the generator output into colour and alpha and composites both ways (spec §A.5). */
export function renderOutput(out: Tensor, background: Tensor): RenderTensors {
  const edit = narrow(out, 1, 0, 3);
  const alpha = narrow(out, 1, 3, 1);
  return {
    edit,
    alpha,
    composite: alphaComposite(edit, alpha, background),
    greenscreen: alphaComposite(edit, alpha, GREEN_SCREEN),
  };
}

function toByte(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/** [3,H,W] (or [1,H,W] as grey) floats → RGBA bytes; alpha from `alpha` when given, else opaque. */
export function planarToRgba(
  rgb: Float32Array,
  channels: 1 | 3,
  w: number,
  h: number,
  alpha?: Float32Array,
): RgbaImage {
  const n = w * h;
  const data = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[4 * i + c] = toByte(rgb[(channels === 3 ? c : 0) * n + i]);
    data[4 * i + 3] = alpha ? toByte(alpha[i]) : 255;
  }
  return { width: w, height: h, data };
}

/**
 * One generator pass of a step: it runs the generator once and returns the loss items made from that output (the
 * image job: one item, the crop or the full image; the video job: the three frames an atlas crop is warped into, or
 * one direct frame pass). `items` says how many before it runs, so each pass knows its place among the step's items.
 */
export interface GeneratorPass {
  items: number;
  run(generator: SkipGenerator): LossItem[];
}

/** The image job's pass over one input: the generator's output composited over that input. */
export function imagePass(input: Tensor): GeneratorPass {
  return {
    items: 1,
    run(generator) {
      const r = renderOutput(generator.forward(input), input);
      return [{ input, composite: r.composite, greenscreen: r.greenscreen, alpha: r.alpha }];
    },
  };
}

/**
 * The gradients of one step's total loss with respect to the generator's parameters, left in their `.grad`, and
 * the step's loss terms ([7], LOSS_VALUE_ORDER) with their weights. The passes run one at a time, forward, losses
 * and backward, their gradients summed: only one generator pass's activations are held at once, and the result is
 * that of one backward through all of them (the terms are sums over the items, and each pass normalizes with its
 * own batch statistics). Every item uses the step's shared draws in `plan` (target rows, bootstrap crop); the
 * bootstrap term judges the last item of the last pass.
 */
export function accumulatePassGradients(
  ctx: LossContext,
  generator: SkipGenerator,
  passes: readonly GeneratorPass[],
  plan: StepPlan,
): { values: Tensor; weights: number[] } {
  const engine = ctx.engine;
  const params = generator.params.map((p) => p.value);
  const count = passes.reduce((n, p) => n + p.items, 0);
  let first = 0;
  let sum: Tensor | null = null;
  let weights: number[] = [];
  passes.forEach((pass, k) => {
    const last = k === passes.length - 1;
    const part = engine.tidy(() => {
      const tape = Tape.start(engine);
      const items = pass.run(generator);
      if (items.length !== pass.items) {
        throw new Error(`accumulatePassGradients: pass ${k} made ${items.length} items, not ${pass.items}`);
      }
      // The CLIP terms run their own tapes on detached copies; the generator's tape resumes at backward.
      engine.activeTape = null;
      const passPlan = last ? plan : { ...plan, relevancy: null };
      const losses = computeLosses(ctx, items, passPlan, { first, count });
      // The CLIP passes' buffers are free now and of no use to the generator's backward: let them go when it
      // first needs a new buffer, instead of holding both working sets.
      engine.pool.trimUnused();
      tape.backwardMany(losses.seeds, [], { accumulate: k > 0 });
      // The gradients leave this scope (the next pass adds to them); the activations do not.
      return { values: losses.values, weights: losses.weights, grads: params.map((p) => p.grad) };
    });
    first += pass.items;
    // Each pass is a unit of the pool's reuse: sizes vary from pass to pass (random crops, the full image), and
    // buffers the next pass does not reuse go back to the device when it first needs a new one.
    engine.pool.trimUnused();
    if (last) weights = part.weights;
    const prev: Tensor | null = sum;
    sum = prev ? engine.noGrad(() => add(prev, part.values)) : part.values;
  });
  if (!sum) throw new Error('accumulatePassGradients: no passes');
  return { values: sum, weights };
}

/** The image job's step: one pass per input (the crop, then the full image on full-image steps). */
export function accumulateStepGradients(
  ctx: LossContext,
  generator: SkipGenerator,
  inputs: readonly Tensor[],
  plan: StepPlan,
): { values: Tensor; weights: number[] } {
  return accumulatePassGradients(ctx, generator, inputs.map(imagePass), plan);
}

/** What a job trains: the generator, its optimizer and the learning-rate schedule. */
export interface Trainer {
  generator: SkipGenerator;
  optimizer: Madgrad | Adam;
  schedule: ExponentialLr;
}

/** The generator (its seed drawn from `rng`), MADGRAD or Adam, and the exponential schedule of a config (§A.10). */
export function createTrainer(engine: Engine, config: EditConfig, rng: Rng): Trainer {
  const generator = SkipGenerator.create(engine, generatorConfig(config), rng.int(0, 2 ** 31 - 1));
  const optimizer =
    config.optimizer === 'adam'
      ? new Adam(generator.params, { lr: config.lr, weightDecay: config.weightDecay })
      : new Madgrad(generator.params, {
          lr: config.lr,
          momentum: config.momentum,
          weightDecay: config.weightDecay,
          eps: config.optimizerEps,
        });
  return { generator, optimizer, schedule: new ExponentialLr(config.lr, config.gamma, config.minLr) };
}

/** Largest image a job trains on (its working size), in pixels: 8192² (as many as the command line reads). */
export const MAX_WORKING_PIXELS = 8192 * 8192;

/**
 * Refuses an image whose working size would be absurd (a 1×4000 strip resized to a 512 px short side is 512×2048000)
 * before the resize allocates it.
 */
function checkWorkingSize(image: RgbaImage, resizeInput: number): void {
  const { width, height } = resizeShortSideDims(image.width, image.height, resizeInput);
  if (width * height > MAX_WORKING_PIXELS) {
    const at =
      resizeInput > 0 ? `at the working size (short side ${resizeInput} px) it would be` : 'the job would train at';
    throw new Error(
      `The image is ${image.width}×${image.height} px; ${at} ${width}×${height} px, more than the 8192×8192 pixels a ` +
        'job trains on. Crop it to a less extreme aspect ratio, or use a smaller working size.',
    );
  }
}

export class EditJob {
  readonly totalSteps: number;
  private steps = 0;
  private fullRelevancy: Tensor | null = null;

  private constructor(
    private readonly engine: Engine,
    private readonly vision: ClipVisionTower,
    readonly config: EditConfig,
    private readonly original: RgbaImage,
    /** The image the generator trains on (short side resized per §A.2). */
    readonly source: RgbaImage,
    private readonly sourceTensor: Tensor,
    private readonly generator: SkipGenerator,
    private readonly optimizer: Madgrad | Adam,
    private readonly schedule: ExponentialLr,
    private readonly rng: Rng,
    private readonly dataset: InternalDataset,
    private readonly targets: TextTargets,
    private readonly viewChunk: number,
    private readonly maxRenderSide: number,
  ) {
    this.totalSteps = config.nEpochs;
  }

  static async create(opts: EditJobOptions): Promise<EditJob> {
    const config = validateConfig(opts.config);
    const { engine } = opts;
    // seed −1: draw one (the reference does the same); the drawn seed is kept in the session.
    const seed = config.seed >= 0 ? config.seed : Math.floor(Math.random() * 2 ** 31);
    const effective: EditConfig = { ...config, seed };
    const rng = new Rng(seed);
    const genCfg = generatorConfig(effective);
    checkWorkingSize(opts.image, effective.resizeInput);
    const source = effective.resizeInput > 0 ? resizeShortSide(opts.image, effective.resizeInput) : opts.image;
    const minSide = minInputSide(genCfg);
    if (source.width < minSide || source.height < minSide) {
      throw new Error(
        `The image is ${source.width}×${source.height} px at the working size; the generator needs at least ${minSide} px per side.`,
      );
    }
    if (bootstrapEnabled(effective)) {
      // Fails with a clear message when relevancyNumLayers leaves this model no attention block.
      relevancyBlocks(opts.vision.config.numHiddenLayers, effective.relevancyNumLayers);
    }
    const targets = await encodeTargets(opts.text, effective);
    const { generator, optimizer, schedule } = createTrainer(engine, effective, rng);
    const dataset = new InternalDataset(source, effective, rng, { minSide });
    const sourceTensor = engine
      .fromArray([1, 3, source.height, source.width], toTensorData(source), 'job-source')
      .keep();
    return new EditJob(
      engine,
      opts.vision,
      effective,
      opts.image,
      source,
      sourceTensor,
      generator,
      optimizer,
      schedule,
      rng,
      dataset,
      targets,
      opts.viewChunk ?? 8,
      opts.maxRenderSide ?? 2048,
    );
  }

  get stepsDone(): number {
    return this.steps;
  }

  get workingSize(): { width: number; height: number } {
    return { width: this.source.width, height: this.source.height };
  }

  get parameters(): readonly Parameter[] {
    return this.generator.params;
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
  async step(): Promise<StepReport> {
    if (this.steps >= this.totalSteps) throw new Error('The edit has finished all its steps.');
    const engine = this.engine;
    const sample = this.dataset.next();
    const step = sample.step;
    const ctx = this.lossContext();
    const crop = engine.fromArray([1, 3, sample.crop.height, sample.crop.width], sample.cropTensor, 'job-crop').keep();
    const inputs = sample.fullImage ? [crop, this.sourceTensor] : [crop];
    const last = inputs[inputs.length - 1];
    const draws = drawStep(ctx, step, [last.shape[2], last.shape[3]]);
    let relevancy: Tensor | null = null;
    if (bootstrapActive(ctx, step)) {
      if (last === this.sourceTensor && !draws.bootstrapCrop) {
        // The full image's map depends on nothing that changes: computed once.
        this.fullRelevancy ??= relevancyTarget(ctx, this.sourceTensor).keep();
        relevancy = this.fullRelevancy;
      } else {
        relevancy = relevancyTarget(ctx, last, draws.bootstrapCrop).keep();
      }
    }
    const lr = this.schedule.lr;
    const values = engine.tidy(() => {
      const r = accumulateStepGradients(ctx, this.generator, inputs, { step, draws, relevancy });
      this.optimizer.step(lr);
      return r;
    });
    this.schedule.step();
    this.steps++;
    crop.release();
    if (relevancy && relevancy !== this.fullRelevancy) relevancy.release();
    const raw = await values.values.read();
    values.values.release();
    const losses = { total: weightedTotal(raw, values.weights) } as LossTerms;
    LOSS_VALUE_ORDER.forEach((k, i) => (losses[k] = raw[i]));
    return { step: this.steps, totalSteps: this.totalSteps, losses, lr, fullImageStep: !!sample.fullImage };
  }

  /** The short side a full-resolution render is resized to (longest side capped at maxRenderSide), or null: none. */
  private fullRenderShortSide(): number | null {
    const { width, height } = this.original;
    const long = Math.max(width, height);
    return long > this.maxRenderSide ? Math.floor((Math.min(width, height) * this.maxRenderSide) / long) : null;
  }

  /** The size of a full-resolution render: the original image's, or smaller where maxRenderSide caps it. */
  get fullRenderSize(): { width: number; height: number } {
    const short = this.fullRenderShortSide();
    const { width, height } = this.original;
    return short === null ? { width, height } : resizeShortSideDims(width, height, short);
  }

  /**
   * Renders the current edit of the whole image without training (spec §A.11's logging/final render:
   * BN uses the statistics of this input). fullResolution renders the original image (longest side
   * capped at maxRenderSide); otherwise the working size.
   */
  async render(opts: { fullResolution?: boolean } = {}): Promise<EditRenders> {
    const engine = this.engine;
    let image = this.source;
    if (opts.fullResolution) {
      const short = this.fullRenderShortSide();
      image = short === null ? this.original : resizeShortSide(this.original, short);
    }
    const { width: w, height: h } = image;
    const r = engine.tidy(() =>
      engine.noGrad(() => {
        const input =
          image === this.source
            ? this.sourceTensor
            : engine.fromArray([1, 3, h, w], toTensorData(image), 'render-input');
        return renderOutput(this.generator.forward(input), input);
      }),
    );
    const [edit, alpha, composite, greenscreen] = await Promise.all([
      r.edit.read(),
      r.alpha.read(),
      r.composite.read(),
      r.greenscreen.read(),
    ]);
    for (const t of Object.values(r)) t.release();
    // A full-resolution render's buffers are of a one-off size (up to ~2 GB at 2048 px): back to the device now,
    // not whenever the next step first misses.
    if (image !== this.source) engine.pool.trim();
    return {
      composite: planarToRgba(composite, 3, w, h),
      edit: planarToRgba(edit, 3, w, h, alpha),
      alpha: planarToRgba(alpha, 1, w, h),
      greenscreen: planarToRgba(greenscreen, 3, w, h),
    };
  }

  /** The session: settings + generator + optimizer state, as safetensors with the config in metadata. */
  async saveSession(): Promise<Uint8Array> {
    return saveCheckpoint(this.generator.params, {
      optimizerState: this.optimizer.state(),
      metadata: jobSessionMetadata({
        config: this.config,
        step: this.steps,
        optimizerSteps: this.optimizer.stepCount,
        rng: this.rng.state,
        datasetStep: this.dataset.step,
      }),
    });
  }

  /**
   * Re-creates a job from a session (same image), ready to render or to continue training. The whole file is
   * checked before anything is allocated (SessionRestoreError); a job whose loading fails later is disposed.
   */
  static async restore(opts: EditJobOptions & { session: Uint8Array }): Promise<EditJob> {
    const session = readJobSession(opts.session);
    const job = await EditJob.create({ ...opts, config: session.config });
    try {
      await loadCheckpoint(session.tensors, job.generator.params, job.optimizer.state());
    } catch (e) {
      job.dispose();
      throw e;
    }
    job.optimizer.stepCount = session.optimizerSteps;
    job.steps = session.step;
    job.schedule.restore(job.steps);
    job.rng.state = session.rng;
    job.dataset.step = session.datasetStep;
    return job;
  }

  dispose(): void {
    this.generator.dispose();
    this.sourceTensor.release();
    this.fullRelevancy?.release();
    this.optimizer.dispose();
  }
}
