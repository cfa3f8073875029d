/**
 * Training-step benchmark: a real EditJob (skip generator + CLIP vision tower + every loss term + MADGRAD) at a
 * quality level, one optimizer step at a time: milliseconds, GFLOP/s (spec §E's model, `estimateFlops`, priced at
 * the crop that step actually drew) and the buffer pool's peak bytes.
 *
 * Without `--model` the vision tower has ViT-B/32 dimensions and random weights (randomVisionWeights, as `bench
 * clip` draws them). The text tower is not part of a step (prompts are embedded once, before training), so a
 * stand-in returns fixed random unit embeddings instead of loading it.
 *
 * `--memory-only` sets `engine.skipKernels`: the same step allocates, binds and releases exactly the same buffers
 * in the same order but runs no kernel, so the pool's peak is the real step's peak in seconds instead of the hours
 * a 512² Reference step takes on SwiftShader (stepBench.test.ts checks the two peaks agree on a tiny step).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseOnnx } from '../clip/onnx';
import { ClipVisionTower } from '../clip/vision';
import { extractVisionWeights, visionConfigFromJson, type VisionWeights } from '../clip/visionWeights';
import { presetConfig } from '../edit/presets';
import { bootstrapEnabled, validateConfig, type EditConfig } from '../edit/config';
import { createImage } from '../edit/image';
import { readImageFile } from '../edit/imageIO.node.js';
import { EditJob } from '../edit/job';
import type { RgbaImage } from '../edit/jobTypes';
import { bootstrapWeight } from '../edit/losses';
import {
  applyQuality,
  estimateFlops,
  getQualitySettings,
  isQualityLevel,
  QUALITY_LEVELS,
  type QualityLevel,
  type QualitySettings,
} from '../edit/quality';
import type { TextEncoderLike } from '../edit/targets';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine } from '../gpu/node';
import { Rng } from '../nn/rng';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel } from './benchCommon';
import { parameterCount, randomVisionWeights } from './clipBench';

/** The sample photo the step runs on by default (512×512; the golden-dog preset was written for it). */
export const DEFAULT_STEP_IMAGE = new URL('../../../shared/data/images/dog-on-bench.png', import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------------------------
// Inputs: text stand-in, synthetic image, vision weights
// ---------------------------------------------------------------------------------------------------------------

/**
 * A text encoder stand-in: each prompt gets a fixed random unit vector (seeded by the prompt), so the losses have
 * targets of the right size without loading the text tower, which no training step runs.
 */
export function randomTextEncoder(dim: number, seed = 1): TextEncoderLike {
  return {
    encode(texts: string[]): Promise<Float32Array[]> {
      return Promise.resolve(
        texts.map((t) => {
          let h = seed >>> 0;
          for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193) >>> 0;
          const v = new Rng(h).fill(dim, -1, 1);
          const norm = Math.hypot(...v);
          return v.map((x) => x / norm);
        }),
      );
    },
  };
}

/** A smooth colour ramp with a little noise, side×side: something to train on when no photo is wanted. */
export function syntheticImage(side: number, seed = 1): RgbaImage {
  const img = createImage(side, side);
  const rng = new Rng(seed);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = 4 * (y * side + x);
      const n = 24 * (rng.next() - 0.5);
      img.data[i] = (255 * x) / side + n;
      img.data[i + 1] = (255 * y) / side + n;
      img.data[i + 2] = 128 + 100 * Math.sin((x + y) / 23) + n;
      img.data[i + 3] = 255;
    }
  }
  return img;
}

/** The vision tower of a model folder: DIR/config.json + DIR/onnx/vision_model.onnx (as `bench clip --model`). */
export function readVisionWeights(dir: string): VisionWeights {
  const config = visionConfigFromJson(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  return extractVisionWeights(parseOnnx(readFileSync(join(dir, 'onnx', 'vision_model.onnx'))), config);
}

/** Records the size of the crop each step uploads (the job keeps its dataset private; the crop size varies). */
function watchCrops(engine: Engine): { take: () => [number, number] | null; restore: () => void } {
  const original = engine.fromArray;
  let last: [number, number] | null = null;
  engine.fromArray = function (shape, data, op) {
    if (op === 'job-crop') last = [shape[2], shape[3]];
    return original.call(engine, shape, data, op);
  };
  return {
    take: () => {
      const c = last;
      last = null;
      return c;
    },
    restore: () => {
      engine.fromArray = original;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------------------------

export interface StepBenchSetup {
  engine: Engine;
  weights: VisionWeights;
  /** Where the weights came from, for the report. */
  weightsLabel: string;
  image: RgbaImage;
  imageLabel: string;
  /** Size (short side), views and steps; `steps` only sets the schedules (learning rate, bootstrap). */
  level: QualitySettings;
  /** Settings before the level is applied (prompts, bootstrap, generator widths, seed). */
  baseConfig: EditConfig;
  /** Measured steps after the warm-up step. */
  steps: number;
  viewChunk: number;
  /** engine.skipKernels during the run: allocations only, no kernels, losses read as zeros. */
  memoryOnly: boolean;
  /**
   * Run the warm-up step (step 0) without kernels: it still compiles every pipeline and fills the pool, but skips
   * the compute of a full-image step (twice a regular one: about 40 min at Preview on SwiftShader). The measured
   * steps then start from the initial weights, which does not change their cost.
   */
  warmupMemoryOnly?: boolean;
  log?: (line: string) => void;
}

export interface StepSample {
  /** 0-based step index (0 is the warm-up). */
  step: number;
  warmup: boolean;
  /** False when the step ran without kernels (memory-only run or warm-up). */
  kernels: boolean;
  fullImageStep: boolean;
  /** The crop the generator ran on (width × height). */
  crop: { width: number; height: number };
  /** Whether this step computed a relevancy map (bootstrap target). */
  relevancy: boolean;
  ms: number;
  /** estimateFlops for this step's work (crop item, full-image item, relevancy). */
  gflop: number;
  /** gflop / seconds; null in memory-only runs. */
  gflops: number | null;
  /** Pool high-water marks during the step (peaks reset before it). */
  peakLiveBytes: number;
  peakAllocatedBytes: number;
  dispatches: number;
  loss: number;
}

export interface StepBenchResult {
  adapter: string;
  memoryOnly: boolean;
  level: QualitySettings;
  viewChunk: number;
  image: string;
  working: { width: number; height: number };
  weights: string;
  visionParameters: number;
  generatorParameters: number;
  bootstrap: boolean;
  /** Pool bytes live after loading the vision tower (its weights and nothing else). */
  visionBytes: number;
  /** Live bytes after the warm-up: weights, generator, optimizer state, caches (what every step starts from). */
  persistentBytes: number;
  samples: StepSample[];
  /** Highest step peaks over the measured steps, and over all steps including the (full-image) warm-up. */
  peakLiveBytes: number;
  peakAllocatedBytes: number;
  peakLiveBytesAll: number;
  peakAllocatedBytesAll: number;
}

export async function benchSteps(s: StepBenchSetup): Promise<StepBenchResult> {
  const { engine, level } = s;
  const log = s.log ?? (() => {});
  // The same starting pool for every run (the memory-only/real comparison depends on it).
  engine.pool.trim();
  engine.skipKernels = s.memoryOnly;
  const crops = watchCrops(engine);
  let vision: ClipVisionTower | null = null;
  let job: EditJob | null = null;
  try {
    const start = engine.pool.stats().liveBytes;
    vision = new ClipVisionTower(engine, s.weights);
    const visionBytes = engine.pool.stats().liveBytes - start;
    const config = applyQuality(s.baseConfig, level);
    const text = randomTextEncoder(s.weights.config.projectionDim);
    job = await EditJob.create({ engine, vision, text, image: s.image, config, viewChunk: s.viewChunk });
    const working = job.workingSize;
    const boot = bootstrapEnabled(job.config);
    const samples: StepSample[] = [];
    let fullRelevancyDone = false;
    let persistentBytes = 0;
    for (let step = 0; step <= s.steps; step++) {
      const kernels = !s.memoryOnly && !(step === 0 && s.warmupMemoryOnly);
      engine.skipKernels = !kernels;
      engine.pool.resetPeak();
      const dispatches0 = engine.dispatchCount;
      const t0 = performance.now();
      const report = await job.step();
      await engine.sync();
      const ms = performance.now() - t0;
      const stats = engine.pool.stats();
      const [ch, cw] = crops.take() ?? [working.height, working.width];
      // The job computes a relevancy map per crop while bootstrapping, and the full image's once (cached).
      const bootstrapOn = boot && bootstrapWeight(job.config, step) !== 0;
      const relevancy = bootstrapOn && (!report.fullImageStep || !fullRelevancyDone);
      if (bootstrapOn && report.fullImageStep) fullRelevancyDone = true;
      const est = estimateFlops(level, s.image.width, s.image.height, {
        config: s.baseConfig,
        clip: s.weights.config,
        cropAreaFraction: (cw * ch) / (working.width * working.height),
      });
      let flop = est.perStep.generator + est.perStep.clip + est.perStep.structure;
      if (report.fullImageStep) flop += est.fullImageItem.total;
      if (relevancy) flop += est.perStep.bootstrap;
      const sample: StepSample = {
        step,
        warmup: step === 0,
        kernels,
        fullImageStep: report.fullImageStep,
        crop: { width: cw, height: ch },
        relevancy,
        ms,
        gflop: flop / 1e9,
        gflops: kernels ? flop / 1e6 / ms : null,
        peakLiveBytes: stats.peakLiveBytes,
        peakAllocatedBytes: stats.peakAllocatedBytes,
        dispatches: engine.dispatchCount - dispatches0,
        loss: report.losses.total,
      };
      samples.push(sample);
      if (step === 0) persistentBytes = stats.liveBytes - start;
      log(formatSample(sample));
    }
    const measured = samples.filter((x) => !x.warmup);
    const max = (xs: StepSample[], f: (x: StepSample) => number) => Math.max(0, ...xs.map(f));
    return {
      adapter: adapterLabel(engine.ctx.summary),
      memoryOnly: s.memoryOnly,
      level,
      viewChunk: s.viewChunk,
      image: s.imageLabel,
      working,
      weights: s.weightsLabel,
      visionParameters: parameterCount(s.weights),
      generatorParameters: job.parameters.reduce((n, p) => n + p.value.size, 0),
      bootstrap: boot,
      visionBytes,
      persistentBytes,
      samples,
      peakLiveBytes: max(measured, (x) => x.peakLiveBytes),
      peakAllocatedBytes: max(measured, (x) => x.peakAllocatedBytes),
      peakLiveBytesAll: max(samples, (x) => x.peakLiveBytes),
      peakAllocatedBytesAll: max(samples, (x) => x.peakAllocatedBytes),
    };
  } finally {
    job?.dispose();
    vision?.dispose();
    crops.restore();
    engine.skipKernels = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

function formatSample(x: StepSample): string {
  const what = [x.warmup ? 'warm-up' : '', x.fullImageStep ? 'full image' : '', x.relevancy ? 'relevancy' : '']
    .filter(Boolean)
    .join(', ');
  const time = !x.kernels
    ? `${(x.ms / 1000).toFixed(1)} s (no kernels)`
    : `${x.ms.toFixed(0)} ms, ${x.gflop.toFixed(1)} GFLOP, ${x.gflops!.toFixed(2)} GFLOP/s`;
  return (
    `step ${x.step}${what ? ` (${what})` : ''}: crop ${x.crop.width}×${x.crop.height}, ${time}, ` +
    `peak ${formatBytes(x.peakLiveBytes)} live / ${formatBytes(x.peakAllocatedBytes)} allocated, ` +
    `${x.dispatches} dispatches`
  );
}

export function printStepResult(r: StepBenchResult): void {
  const q = r.level;
  console.log(`adapter: ${r.adapter}`);
  console.log(
    `training step, ${q.label}: ${r.working.width}×${r.working.height} working image (${r.image}), ${q.views} views ` +
      `per term in chunks of ${r.viewChunk}, bootstrap ${r.bootstrap ? 'on' : 'off'}`,
  );
  console.log(
    `  CLIP vision tower: ${r.weights}, ${r.visionParameters.toLocaleString('en-US')} parameters, ` +
      `${formatBytes(r.visionBytes)} in the pool`,
  );
  console.log(
    '  CLIP text tower: not part of a step (prompts are embedded once); stand-in with fixed random unit embeddings',
  );
  console.log(`  generator: ${r.generatorParameters.toLocaleString('en-US')} parameters, MADGRAD`);
  if (r.memoryOnly) {
    console.log('  MEMORY ONLY: buffers allocated, bound and released as in a real step, no kernels run (no timings)');
  }
  console.log(
    `  persistent after the warm-up (weights, generator, optimizer state, caches): ${formatBytes(r.persistentBytes)}`,
  );
  for (const x of r.samples) console.log(`  ${formatSample(x)}`);
  const measured = r.samples.filter((x) => !x.warmup);
  if (measured.length > 0 && !r.memoryOnly) {
    const ms = measured.reduce((a, x) => a + x.ms, 0) / measured.length;
    const gflop = measured.reduce((a, x) => a + x.gflop, 0);
    const s = measured.reduce((a, x) => a + x.ms, 0) / 1000;
    console.log(`  mean of the measured steps: ${ms.toFixed(0)} ms/step, ${(gflop / s).toFixed(2)} GFLOP/s`);
  }
  console.log(
    `  peak pool bytes, measured steps: ${formatBytes(r.peakLiveBytes)} live / ${formatBytes(r.peakAllocatedBytes)} allocated; ` +
      `with the full-image warm-up step: ${formatBytes(r.peakLiveBytesAll)} / ${formatBytes(r.peakAllocatedBytesAll)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

export const STEP_BENCH_USAGE = `Usage: npm run bench -- step --quality preview|standard|reference [options]

  --quality L       preview (256 px, 4 views), standard (384 px, 8 views) or reference (512 px, 16 views)
  --size N          working size (short side) instead of the level's
  --model DIR       DIR/config.json + DIR/onnx/vision_model.onnx for the vision tower (tools/make_clip_like.py
                    writes one). Default: random ViT-B/32 weights drawn here
  --image FILE      the photo to edit (default shared/data/images/dog-on-bench.png); "synthetic": a generated
                    square image of the working size
  --steps N         measured steps after the warm-up step (default 1)
  --view-chunk N    CLIP views per pass (default 8; memory bound, same result)
  --memory-only     allocate, bind and release as in a real step but run no kernel: the pool's peak in seconds
  --warmup W        real (default): the warm-up step runs its kernels; memory-only: it only compiles the shaders
                    and fills the pool (saves a full-image step's compute, about 40 min at Preview on SwiftShader)
  --no-bootstrap    no relevancy-map bootstrap (default: on, the golden-dog preset's prompts)
  --seed N          edit seed: crops, views, generator init (default 1)
  --json FILE       also write the result as JSON
  --help            this text

Step 0 is a warm-up (it compiles the shaders; it is also a full-image step, which trains on the crop and the whole
image); peaks are reset before each step.`;

export interface StepBenchArgs {
  quality: QualityLevel;
  size?: number;
  model?: string;
  /** A file path or 'synthetic'. */
  image: string;
  steps: number;
  viewChunk: number;
  memoryOnly: boolean;
  warmup: 'real' | 'memory-only';
  bootstrap: boolean;
  seed: number;
  json?: string;
}

/** Parses the arguments after `step`; null for `--help`. Throws BenchUsageError on a mistake (before any GPU work). */
export function parseStepBenchArgs(args: readonly string[]): StepBenchArgs | null {
  const values = parseBenchOptions(args, {
    quality: { type: 'string' },
    size: { type: 'string' },
    model: { type: 'string' },
    image: { type: 'string' },
    steps: { type: 'string' },
    'view-chunk': { type: 'string' },
    'memory-only': { type: 'boolean' },
    warmup: { type: 'string' },
    'no-bootstrap': { type: 'boolean' },
    seed: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  if (values.quality === undefined) throw new BenchUsageError(`--quality is required (${QUALITY_LEVELS.join(', ')})`);
  if (!isQualityLevel(values.quality)) {
    throw new BenchUsageError(`--quality must be one of ${QUALITY_LEVELS.join(', ')}, got "${values.quality}"`);
  }
  const level = getQualitySettings(values.quality);
  const steps = integerOption('steps', values.steps, 1, 1);
  if (steps >= level.steps) {
    throw new BenchUsageError(`--steps must be below the level's ${level.steps} steps (the warm-up is one more)`);
  }
  if (values.model !== undefined) {
    for (const f of ['config.json', join('onnx', 'vision_model.onnx')]) {
      if (!existsSync(join(values.model, f))) {
        throw new BenchUsageError(`--model ${values.model}: ${join(values.model, f)} does not exist`);
      }
    }
  }
  const image = values.image ?? DEFAULT_STEP_IMAGE;
  if (image !== 'synthetic' && !existsSync(image)) {
    throw new BenchUsageError(`--image ${image} does not exist (or use --image synthetic)`);
  }
  const warmup = values.warmup ?? 'real';
  if (warmup !== 'real' && warmup !== 'memory-only') {
    throw new BenchUsageError(`--warmup must be "real" or "memory-only", got "${warmup}"`);
  }
  if (values.json !== undefined && values.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    quality: values.quality,
    size: values.size === undefined ? undefined : integerOption('size', values.size, level.size, 1),
    image,
    steps,
    viewChunk: integerOption('view-chunk', values['view-chunk'], 8, 1),
    memoryOnly: !!values['memory-only'],
    warmup,
    bootstrap: !values['no-bootstrap'],
    seed: integerOption('seed', values.seed, 1, 0),
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}

/** The golden-dog preset (prompts, bootstrap) with the seed; bootstrap off on request. */
export function stepBenchConfig(opts: Pick<StepBenchArgs, 'bootstrap' | 'seed'>): EditConfig {
  const c = presetConfig('golden-dog', { seed: opts.seed });
  return opts.bootstrap ? c : validateConfig({ ...c, bootstrapEpoch: -1, bootstrapText: null });
}

/** `npm run bench -- step …`: parse, run, print (and write --json). */
export async function runStepBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  const opts = parseStepBenchArgs(args);
  if (!opts) {
    console.log(STEP_BENCH_USAGE);
    return;
  }
  const base = getQualitySettings(opts.quality);
  const level: QualitySettings = { ...base, size: opts.size ?? base.size };
  const weights = opts.model
    ? readVisionWeights(opts.model)
    : randomVisionWeights(visionConfigFromJson({}), opts.seed + 1233);
  const weightsLabel = opts.model
    ? `${join(opts.model, 'onnx', 'vision_model.onnx')}`
    : 'random ViT-B/32 (Hugging Face CLIPVisionConfig defaults)';
  const image = opts.image === 'synthetic' ? syntheticImage(level.size) : await readImageFile(opts.image);
  const imageLabel =
    opts.image === 'synthetic'
      ? `synthetic ${level.size}×${level.size}`
      : `${basename(opts.image)}, ${image.width}×${image.height}`;
  const engine = await nodeEngine();
  log(`${level.label}: ${opts.memoryOnly ? 'memory only, ' : ''}warm-up step + ${opts.steps} measured`);
  const r = await benchSteps({
    engine,
    weights,
    weightsLabel,
    image,
    imageLabel,
    level,
    baseConfig: stepBenchConfig(opts),
    steps: opts.steps,
    viewChunk: opts.viewChunk,
    memoryOnly: opts.memoryOnly,
    warmupMemoryOnly: opts.warmup === 'memory-only',
    log,
  });
  engine.destroy();
  printStepResult(r);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'step', ...r }, null, 2));
}
