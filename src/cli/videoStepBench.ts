/**
 * Video training-step benchmark: real VideoEditJob steps (spec §B.4–B.6: the atlas crop over three frames' windows,
 * the warped passes, the direct frame pass, the whole atlas every 75 steps) at a video quality level, one optimizer
 * step at a time: milliseconds, the atlas crop drawn and the buffer pool's peak bytes.
 *
 * The layer comes from a synthetic decomposition of a given frame size (default 768×432) so the figures do not wait
 * on a fitted atlas (hours on a software GPU): the background is a camera pan of `pan` pixels per frame (the raster
 * covers the frames' union at the level's density), the foreground an ellipse moving by `pan` pixels per frame
 * whose atlas is the object's own frame. Crop sizes, and so cost and memory, follow from the frame size, the
 * density and the motion alone, exactly as for a real decomposition with that motion.
 *
 * The vision tower is ViT-B/32-sized with random weights (or `--model DIR`); the text tower is not part of a step, so
 * fixed random unit embeddings stand in (as `bench step`). `--memory-only` sets `engine.skipKernels`: every buffer is
 * allocated, bound and released as in a real step, no kernel runs.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipVisionTower } from '../clip/vision';
import { visionConfigFromJson, type VisionWeights } from '../clip/visionWeights';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine } from '../gpu/node';
import { Rng } from '../nn/rng';
import { rasterResolution, type EditLayer, type LayerData } from '../video/edit/layerData';
import {
  resolveVideoConfig,
  VIDEO_QUALITY,
  VIDEO_QUALITY_LEVELS,
  videoPreset,
  type VideoQuality,
} from '../video/edit/videoConfig';
import { VideoEditJob } from '../video/edit/videoJob';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel } from './benchCommon';
import { parameterCount, randomVisionWeights } from './clipBench';
import { randomTextEncoder, readVisionWeights } from './stepBench';

// ---------------------------------------------------------------------------------------------------------------
// The synthetic decomposition
// ---------------------------------------------------------------------------------------------------------------

export interface SyntheticLayerOptions {
  layer: EditLayer;
  width: number;
  height: number;
  frames: number;
  /** Texels per frame pixel. */
  density: number;
  /** Pixels per frame the camera pans (background) or the object moves (foreground). */
  pan: number;
  seed?: number;
}

/** A smooth texture with some noise: value of channel c at a continuous position (texture units = frame pixels). */
function texture(c: number, x: number, y: number, noise: number): number {
  const v = 0.5 + 0.25 * Math.sin(x / (17 + 5 * c) + c) + 0.2 * Math.cos(y / (13 + 3 * c) - x / 61) + noise;
  return Math.min(1, Math.max(0, v));
}

/** The layer data of a synthetic decomposition (see the file comment). */
export function syntheticLayerData(o: SyntheticLayerOptions): LayerData {
  const { width: W, height: H, frames: T, density: d, pan } = o;
  if (T < 5) throw new RangeError('a video step needs at least 5 frames (t − 2, t, t + 2)');
  const rng = new Rng(o.seed ?? 7);
  const n = W * H;
  const margin = 1;
  const fg = o.layer === 'foreground';
  // The object: an ellipse of 35 % × 60 % of the frame, moving right by `pan` per frame from the left third.
  const ow = Math.round(0.35 * W);
  const oh = Math.round(0.6 * H);
  const ox = (t: number) => Math.round(0.1 * W + pan * t);
  const oy = Math.round(0.2 * H);
  if (fg && ox(T - 1) + ow > W) throw new RangeError('the object leaves the frame: lower --pan or --frames');
  if (!fg && pan * (T - 1) > W) throw new RangeError('the pan covers more than a frame width: lower --pan or --frames');
  const spanW = fg ? ow : W + pan * (T - 1);
  const spanH = fg ? oh : H;
  const rw = Math.ceil(d * spanW) + 2 * margin;
  const rh = Math.ceil(d * spanH) + 2 * margin;
  const resolution = rasterResolution(W, d);
  const raster = new Float32Array(3 * rw * rh);
  for (let v = 0; v < rh; v++) {
    for (let u = 0; u < rw; u++) {
      const noise = 0.05 * (rng.next() - 0.5);
      for (let c = 0; c < 3; c++)
        raster[c * rw * rh + v * rw + u] = texture(c, (u - margin) / d, (v - margin) / d, noise);
    }
  }
  const coords: Float32Array[] = [];
  const alpha: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  const maskBoxes: LayerData['maskBoxes'] = [];
  for (let t = 0; t < T; t++) {
    const c = new Float32Array(2 * n);
    const a = new Float32Array(n);
    const input = new Float32Array(3 * n);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const k = y * W + x;
        // Atlas position of the pixel, in texture units: the panned frame (bg), the object's own frame (fg).
        const sx = fg ? x - ox(t) : x + pan * t;
        const sy = fg ? y - oy : y;
        c[2 * k] = d * (sx + 0.5) + margin - 0.5;
        c[2 * k + 1] = d * (sy + 0.5) + margin - 0.5;
        const ex = (sx + 0.5 - ow / 2) / (ow / 2);
        const ey = (sy + 0.5 - oh / 2) / (oh / 2);
        a[k] = ex * ex + ey * ey <= 1 ? 1 : 0;
        for (let ch = 0; ch < 3; ch++) {
          const value = texture(ch, sx, sy, 0);
          input[ch * n + k] = fg ? value * a[k] : value;
        }
      }
    }
    coords.push(c);
    alpha.push(a);
    inputs.push(input);
    maskBoxes.push(fg ? { y0: oy, x0: ox(t), h: oh, w: ow } : null);
  }
  return {
    geometry: { width: W, height: H, frames: T },
    layer: o.layer,
    raster: { data: raster, width: rw, height: rh, box: { u0: 0, v0: 0, u1: rw, v1: rh }, resolution },
    coords,
    alpha,
    inputs,
    maskBoxes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------------------------

export interface VideoStepBenchSetup {
  engine: Engine;
  weights: VisionWeights;
  weightsLabel: string;
  data: LayerData;
  quality: VideoQuality;
  /** Measured steps after the warm-up step; the last one is a whole-atlas step. */
  steps: number;
  viewChunk: number;
  memoryOnly: boolean;
  seed: number;
  log?: (line: string) => void;
}

export interface VideoStepSample {
  step: number;
  warmup: boolean;
  wholeAtlasStep: boolean;
  /** The atlas crop the generator ran on (width × height). */
  crop: { width: number; height: number };
  ms: number;
  peakLiveBytes: number;
  peakAllocatedBytes: number;
  dispatches: number;
}

export interface VideoStepBenchResult {
  adapter: string;
  memoryOnly: boolean;
  quality: VideoQuality;
  layer: EditLayer;
  frame: { width: number; height: number; frames: number };
  density: number;
  raster: { width: number; height: number; resolution: number };
  views: number;
  viewChunk: number;
  weights: string;
  visionParameters: number;
  generatorChannels: { down: number; up: number; skip: number; scales: number };
  persistentBytes: number;
  samples: VideoStepSample[];
  /** Highest step peaks over the measured steps. */
  peakLiveBytes: number;
  peakAllocatedBytes: number;
}

/** Records the atlas crop each step uploads. */
function watchAtlasCrops(engine: Engine): { take: () => [number, number] | null; restore: () => void } {
  const original = engine.fromArray;
  let last: [number, number] | null = null;
  engine.fromArray = function (shape, data, op) {
    if (op === 'video-atlas-crop') last = [shape[2], shape[3]];
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

/** The presets the benchmark trains with: car-turn winter (background), blackswan crochet (foreground). */
const BENCH_PRESET: Record<EditLayer, string> = { background: 'car-turn-winter', foreground: 'blackswan-crochet' };

export async function benchVideoSteps(s: VideoStepBenchSetup): Promise<VideoStepBenchResult> {
  const { engine, data } = s;
  const log = s.log ?? (() => {});
  engine.pool.trim();
  engine.skipKernels = s.memoryOnly;
  const crops = watchAtlasCrops(engine);
  let vision: ClipVisionTower | null = null;
  let job: VideoEditJob | null = null;
  try {
    const start = engine.pool.stats().liveBytes;
    vision = new ClipVisionTower(engine, s.weights);
    const config = resolveVideoConfig(s.quality, { ...videoPreset(BENCH_PRESET[data.layer]).settings, seed: s.seed });
    const text = randomTextEncoder(s.weights.config.projectionDim);
    // The last measured step (index s.steps) is a whole-atlas step.
    job = await VideoEditJob.create({
      engine,
      vision,
      text,
      config,
      data,
      viewChunk: s.viewChunk,
      wholeAtlasEvery: s.steps + 1,
    });
    const samples: VideoStepSample[] = [];
    let persistentBytes = 0;
    for (let step = 0; step <= s.steps; step++) {
      engine.pool.resetPeak();
      const dispatches0 = engine.dispatchCount;
      const t0 = performance.now();
      const report = await job.step();
      await engine.sync();
      const ms = performance.now() - t0;
      const stats = engine.pool.stats();
      const [ch, cw] = crops.take() ?? [0, 0];
      const sample: VideoStepSample = {
        step,
        warmup: step === 0,
        wholeAtlasStep: report.wholeAtlasStep,
        crop: { width: cw, height: ch },
        ms,
        peakLiveBytes: stats.peakLiveBytes,
        peakAllocatedBytes: stats.peakAllocatedBytes,
        dispatches: engine.dispatchCount - dispatches0,
      };
      samples.push(sample);
      if (step === 0) persistentBytes = stats.liveBytes - start;
      log(formatVideoSample(sample, s.memoryOnly));
    }
    const measured = samples.filter((x) => !x.warmup);
    const max = (f: (x: VideoStepSample) => number) => Math.max(0, ...measured.map(f));
    return {
      adapter: adapterLabel(engine.ctx.summary),
      memoryOnly: s.memoryOnly,
      quality: s.quality,
      layer: data.layer,
      frame: { ...data.geometry },
      density: data.raster.resolution / (2 * data.geometry.width),
      raster: { width: data.raster.width, height: data.raster.height, resolution: data.raster.resolution },
      views: job.config.nAug,
      viewChunk: s.viewChunk,
      weights: s.weightsLabel,
      visionParameters: parameterCount(s.weights),
      generatorChannels: {
        down: job.config.skipN33d,
        up: job.config.skipN33u,
        skip: job.config.skipN11,
        scales: job.config.numScales,
      },
      persistentBytes,
      samples,
      peakLiveBytes: max((x) => x.peakLiveBytes),
      peakAllocatedBytes: max((x) => x.peakAllocatedBytes),
    };
  } finally {
    job?.dispose();
    vision?.dispose();
    crops.restore();
    engine.skipKernels = false;
  }
}

function formatVideoSample(x: VideoStepSample, memoryOnly: boolean): string {
  const what = [x.warmup ? 'warm-up' : '', x.wholeAtlasStep ? 'whole atlas' : ''].filter(Boolean).join(', ');
  const time = memoryOnly ? `${(x.ms / 1000).toFixed(1)} s (no kernels)` : `${(x.ms / 1000).toFixed(2)} s`;
  return (
    `step ${x.step}${what ? ` (${what})` : ''}: atlas crop ${x.crop.width}×${x.crop.height}, ${time}, ` +
    `peak ${formatBytes(x.peakLiveBytes)} live / ${formatBytes(x.peakAllocatedBytes)} allocated, ` +
    `${x.dispatches} dispatches`
  );
}

export function printVideoStepResult(r: VideoStepBenchResult): void {
  console.log(`adapter: ${r.adapter}`);
  console.log(
    `video step, ${VIDEO_QUALITY[r.quality].label}, ${r.layer}: synthetic ${r.frame.width}×${r.frame.height} × ` +
      `${r.frame.frames} frames, density ${r.density} texel/px (R = ${r.raster.resolution}), layer raster ` +
      `${r.raster.width}×${r.raster.height}, ${r.views} views in chunks of ${r.viewChunk}`,
  );
  const g = r.generatorChannels;
  console.log(`  generator: ${g.scales} scales, ${g.down}/${g.up}/${g.skip} channels; CLIP vision: ${r.weights}`);
  if (r.memoryOnly) console.log('  MEMORY ONLY: buffers allocated, bound and released as in a real step, no kernels');
  console.log(`  persistent after the warm-up: ${formatBytes(r.persistentBytes)}`);
  for (const x of r.samples) console.log(`  ${formatVideoSample(x, r.memoryOnly)}`);
  const measured = r.samples.filter((x) => !x.warmup && !x.wholeAtlasStep);
  if (!r.memoryOnly && measured.length > 0) {
    const mean = measured.reduce((a, x) => a + x.ms, 0) / measured.length / 1000;
    console.log(`  mean of the measured regular steps: ${mean.toFixed(2)} s/step`);
  }
  console.log(
    `  peak pool bytes, measured steps (whole-atlas step included): ${formatBytes(r.peakLiveBytes)} live / ` +
      `${formatBytes(r.peakAllocatedBytes)} allocated`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

export const VIDEO_STEP_BENCH_USAGE = `Usage: npm run bench -- video-step --quality ${VIDEO_QUALITY_LEVELS.join('|')} [options]

  --quality L       the video level: atlas density, steps and views (tiny also uses a tiny generator)
  --layer L         background (default) or foreground
  --size WxH        frame size of the synthetic decomposition (default 768x432)
  --frames N        frames (default 10; at least 5)
  --density D       atlas texels per frame pixel instead of the level's
  --pan PX          camera pan (background) or object motion (foreground) in pixels per frame (default 8)
  --model DIR       DIR/config.json + DIR/onnx/vision_model.onnx for the vision tower. Default: random ViT-B/32
  --steps N         measured steps after the warm-up step; the last is a whole-atlas step (default 2)
  --view-chunk N    CLIP views per pass (default 8; memory bound, same result)
  --memory-only     allocate, bind and release as in a real step but run no kernel: the pool's peak in seconds
  --seed N          edit seed (default 1)
  --json FILE       also write the result as JSON
  --help            this text`;

export interface VideoStepBenchArgs {
  quality: VideoQuality;
  layer: EditLayer;
  width: number;
  height: number;
  frames: number;
  pan: number;
  /** Atlas texels per frame pixel (default: the level's). */
  density: number;
  model?: string;
  steps: number;
  viewChunk: number;
  memoryOnly: boolean;
  seed: number;
  json?: string;
}

/** Parses the arguments after `video-step`; null for `--help`. Throws BenchUsageError on a mistake. */
export function parseVideoStepBenchArgs(args: readonly string[]): VideoStepBenchArgs | null {
  const values = parseBenchOptions(args, {
    quality: { type: 'string' },
    layer: { type: 'string' },
    size: { type: 'string' },
    frames: { type: 'string' },
    pan: { type: 'string' },
    density: { type: 'string' },
    model: { type: 'string' },
    steps: { type: 'string' },
    'view-chunk': { type: 'string' },
    'memory-only': { type: 'boolean' },
    seed: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const quality = values.quality;
  if (quality === undefined || !(VIDEO_QUALITY_LEVELS as readonly string[]).includes(quality)) {
    throw new BenchUsageError(`--quality must be one of ${VIDEO_QUALITY_LEVELS.join(', ')}, got "${quality ?? ''}"`);
  }
  const layer = values.layer ?? 'background';
  if (layer !== 'background' && layer !== 'foreground') {
    throw new BenchUsageError(`--layer must be background or foreground, got "${layer}"`);
  }
  const size = /^(\d+)x(\d+)$/.exec(values.size ?? '768x432');
  if (!size || Number(size[1]) < 16 || Number(size[2]) < 16) {
    throw new BenchUsageError(`--size must be WxH with both at least 16, got "${values.size}"`);
  }
  const pan = Number(values.pan ?? '8');
  if (!Number.isFinite(pan) || pan < 0) throw new BenchUsageError(`--pan must be a number ≥ 0, got "${values.pan}"`);
  const density = Number(values.density ?? VIDEO_QUALITY[quality as VideoQuality].density);
  if (!(density > 0) || !Number.isFinite(density)) {
    throw new BenchUsageError(`--density must be a positive number, got "${values.density}"`);
  }
  if (values.model !== undefined) {
    for (const f of ['config.json', join('onnx', 'vision_model.onnx')]) {
      if (!existsSync(join(values.model, f))) {
        throw new BenchUsageError(`--model ${values.model}: ${join(values.model, f)} does not exist`);
      }
    }
  }
  if (values.json !== undefined && values.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    quality: quality as VideoQuality,
    layer,
    width: Number(size[1]),
    height: Number(size[2]),
    frames: integerOption('frames', values.frames, 10, 5),
    pan,
    density,
    steps: integerOption('steps', values.steps, 2, 1),
    viewChunk: integerOption('view-chunk', values['view-chunk'], 8, 1),
    memoryOnly: !!values['memory-only'],
    seed: integerOption('seed', values.seed, 1, 0),
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}

/** `npm run bench -- video-step …`: parse, run, print (and write --json). */
export async function runVideoStepBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  const opts = parseVideoStepBenchArgs(args);
  if (!opts) {
    console.log(VIDEO_STEP_BENCH_USAGE);
    return;
  }
  let data: LayerData;
  try {
    data = syntheticLayerData({
      layer: opts.layer,
      width: opts.width,
      height: opts.height,
      frames: opts.frames,
      density: opts.density,
      pan: opts.pan,
    });
  } catch (e) {
    throw new BenchUsageError((e as Error).message);
  }
  const weights = opts.model
    ? readVisionWeights(opts.model)
    : randomVisionWeights(visionConfigFromJson({}), opts.seed + 1233);
  const weightsLabel = opts.model
    ? join(opts.model, 'onnx', 'vision_model.onnx')
    : 'random ViT-B/32 (Hugging Face CLIPVisionConfig defaults)';
  const engine = await nodeEngine();
  log(`${VIDEO_QUALITY[opts.quality].label}: ${opts.memoryOnly ? 'memory only, ' : ''}warm-up + ${opts.steps} steps`);
  const r = await benchVideoSteps({
    engine,
    weights,
    weightsLabel,
    data,
    quality: opts.quality,
    steps: opts.steps,
    viewChunk: opts.viewChunk,
    memoryOnly: opts.memoryOnly,
    seed: opts.seed,
    log,
  });
  printVideoStepResult(r);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'video-step', ...r }, null, 2));
}
