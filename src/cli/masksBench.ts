/**
 * Automatic-mask evaluation: `npm run bench -- masks` loads a clip's frames and its true masks (default: DAVIS
 * blackswan from the shared data folder, 50 frames at 384×216), computes the flows, the motion masks
 * (src/video/masks, with the frames for the texture test) and reports their IoU against the true masks per frame and over the clip, the coverage of both,
 * whether an object was found, and the time of each step. A warm-up on two frames compiles the flow's pipelines.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Engine } from '../gpu/engine';
import { computeFlows } from '../video/flow';
import {
  clipIou,
  coverage,
  iou,
  type MotionMaskOptions,
  motionMasksFromHost,
  readFlowsToHost,
  resolveMotionMaskOptions,
} from '../video/masks';
import { maskFromImage, resizeMask } from '../video/media/maskImage';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel, median, runReportBench } from './benchCommon';
import { parseSizeText, sizeOptionMessage } from './sizeOption';
import { DEFAULT_FLOW_FRAMES, loadFrames } from './flowBench';

/** What the atlas's alpha bootstrap can use (the issue: masks around 0.6–0.8 IoU are useful). */
export const MASKS_USEFUL_IOU = 0.6;

export const MASKS_BENCH_USAGE = `Usage: npm run bench -- masks [options]

  --frames DIR        a folder of frames (JPEG/PNG/WebP, in name order); default the shared blackswan clip
  --masks DIR         the true masks (white = object, name order); default the masks/ folder beside the frames
  --size WxH          working size (default 384x216)
  --frames-count N    the first N frames (default 50; at least 2)
  --model M           background model: homography (default) or affine
  --no-temporal       no temporal vote through the flow
  --no-texture        no texture test of the core (as without the frames)
  --coherence X       the core's flow-coherence bound |∇f|, px/px (default 0.05; 0 = off)
  --no-warmup         skip the two-frame warm-up run that compiles the flow's pipelines
  --json FILE         also write the result as JSON
  --help              this text`;

export interface MasksBenchArgs {
  frames: string;
  masks: string;
  width: number;
  height: number;
  count: number;
  options: MotionMaskOptions;
  warmup: boolean;
  json?: string;
}

/** Parses the arguments after `masks`; null for --help. Throws BenchUsageError for anything malformed. */
export function parseMasksBenchArgs(args: readonly string[]): MasksBenchArgs | null {
  const v = parseBenchOptions(args, {
    frames: { type: 'string' },
    masks: { type: 'string' },
    size: { type: 'string' },
    'frames-count': { type: 'string' },
    model: { type: 'string' },
    'no-temporal': { type: 'boolean' },
    'no-texture': { type: 'boolean' },
    coherence: { type: 'string' },
    'no-warmup': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return null;
  const limits = { min: 8, max: 8192 };
  const size = parseSizeText(v.size ?? '384x216', limits);
  if (!size) throw new BenchUsageError(sizeOptionMessage('size', v.size ?? '', limits));
  const { width, height } = size;
  const count = integerOption('frames-count', v['frames-count'], 50, 2);
  const options: MotionMaskOptions = {};
  if (v.model !== undefined) {
    if (v.model !== 'homography' && v.model !== 'affine') {
      throw new BenchUsageError(`--model must be homography or affine, got "${v.model}"`);
    }
    options.model = v.model;
  }
  if (v['no-temporal']) options.temporalVote = false;
  if (v['no-texture']) options.textureFraction = 0;
  if (v.coherence !== undefined) {
    const c = Number(v.coherence);
    if (v.coherence.trim() === '' || !(c >= 0) || !Number.isFinite(c)) {
      throw new BenchUsageError(`--coherence must be a non-negative number, got "${v.coherence}"`);
    }
    options.coherence = c === 0 ? Infinity : c;
  }
  try {
    resolveMotionMaskOptions(width, height, options);
  } catch (e) {
    throw new BenchUsageError(e instanceof Error ? e.message.replace(/^motionMasks: /, '') : String(e));
  }
  if (v.json !== undefined && v.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  const frames = v.frames ?? DEFAULT_FLOW_FRAMES;
  return {
    frames,
    masks: v.masks ?? join(dirname(frames), 'masks'),
    width,
    height,
    count,
    options,
    warmup: !v['no-warmup'],
    ...(v.json !== undefined ? { json: v.json } : {}),
  };
}

/** The first `count` masks of `dir` (name order), binary at width×height (resizeMask: object where it covers ≥ half). */
export async function loadMasks(dir: string, count: number, width: number, height: number): Promise<Uint8Array[]> {
  const files = readdirSync(dir)
    .filter((f) => /\.(png|jpe?g|webp|bmp)$/i.test(f))
    .sort();
  if (files.length < count) throw new BenchUsageError(`${dir} holds ${files.length} masks, fewer than ${count}`);
  const out: Uint8Array[] = [];
  for (const f of files.slice(0, count)) {
    const { data, info } = await sharp(join(dir, f)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const mask = maskFromImage({ width: info.width, height: info.height, data: new Uint8ClampedArray(data) });
    out.push(resizeMask(mask, info.width, info.height, width, height));
  }
  return out;
}

export interface MasksBenchResult {
  adapter: string;
  frames: string;
  frameCount: number;
  width: number;
  height: number;
  model: string;
  found: boolean;
  framesWithObject: number;
  /** All frames' intersections over all frames' unions. */
  clipIou: number;
  meanIou: number;
  medianIou: number;
  minIou: number;
  maxIou: number;
  iouPerFrame: number[];
  coveragePerFrame: number[];
  truthCoveragePerFrame: number[];
  meanCoverage: number;
  meanTruthCoverage: number;
  /** Mean over the pairs of the background fit's inlier share. */
  meanBackgroundInliers: number;
  flowMs: number;
  readbackMs: number;
  masksMs: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function benchMasks(
  engine: Engine,
  a: MasksBenchArgs,
  log: (line: string) => void = () => {},
): Promise<MasksBenchResult> {
  log(`loading ${a.count} frames from ${a.frames} and masks from ${a.masks} at ${a.width}×${a.height}`);
  const truth = await loadMasks(a.masks, a.count, a.width, a.height);
  const data = await loadFrames(a.frames, a.count, a.width, a.height);
  const frames = engine.fromArray([a.count, 3, a.height, a.width], data, 'masks-bench-frames').keep();
  try {
    if (a.warmup) {
      const t0 = performance.now();
      engine.tidy(() => {
        const two = engine.empty([2, 3, a.height, a.width]);
        engine.copy(frames, two, two.byteSize);
        computeFlows(engine, two);
      });
      await engine.sync();
      log(`warm-up (2 frames, compiles the pipelines): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t0 = performance.now();
    const field = computeFlows(engine, frames);
    await engine.sync();
    const flowMs = performance.now() - t0;
    log(`${2 * (a.count - 1)} flows: ${(flowMs / 1000).toFixed(1)} s`);
    const t1 = performance.now();
    const host = await readFlowsToHost(field);
    const readbackMs = performance.now() - t1;
    for (const t of Object.values(field)) t.release();
    const t2 = performance.now();
    const r = motionMasksFromHost(host, a.options, data);
    const masksMs = performance.now() - t2;
    log(`masks: readback ${(readbackMs / 1000).toFixed(2)} s, fits and masks ${(masksMs / 1000).toFixed(2)} s`);
    const perFrame = r.masks.map((m, t) => iou(m, truth[t]));
    const truthCoverage = truth.map(coverage);
    return {
      adapter: adapterLabel(engine.ctx.summary),
      frames: a.frames,
      frameCount: a.count,
      width: a.width,
      height: a.height,
      model: r.background.model,
      found: r.found,
      framesWithObject: r.framesWithObject,
      clipIou: clipIou(r.masks, truth),
      meanIou: mean(perFrame),
      medianIou: median(perFrame),
      minIou: Math.min(...perFrame),
      maxIou: Math.max(...perFrame),
      iouPerFrame: perFrame,
      coveragePerFrame: r.coverage,
      truthCoveragePerFrame: truthCoverage,
      meanCoverage: mean(r.coverage),
      meanTruthCoverage: mean(truthCoverage),
      meanBackgroundInliers: mean(r.background.inlierFraction),
      flowMs,
      readbackMs,
      masksMs,
    };
  } finally {
    frames.release();
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export function formatMasksBench(r: MasksBenchResult): string[] {
  const verdict = r.clipIou >= MASKS_USEFUL_IOU ? 'meets' : 'MISSES';
  return [
    `adapter: ${r.adapter}`,
    `${r.frameCount} frames at ${r.width}×${r.height}, ${r.model} background model`,
    `  object found:          ${r.found ? 'yes' : 'no'} (${r.framesWithObject} of ${r.frameCount} frames)`,
    `  IoU over the clip:     ${r.clipIou.toFixed(3)}  (${verdict} the useful level ≥ ${MASKS_USEFUL_IOU})`,
    `  IoU per frame:         mean ${r.meanIou.toFixed(3)}, median ${r.medianIou.toFixed(3)}, min ${r.minIou.toFixed(3)}, max ${r.maxIou.toFixed(3)}`,
    `  coverage:              ${pct(r.meanCoverage)} (true masks ${pct(r.meanTruthCoverage)})`,
    `  background inliers:    ${pct(r.meanBackgroundInliers)} of the valid flow samples per pair`,
    `  time:                  flows ${(r.flowMs / 1000).toFixed(1)} s, readback ${(r.readbackMs / 1000).toFixed(2)} s, fits and masks ${(r.masksMs / 1000).toFixed(2)} s (${(r.masksMs / r.frameCount).toFixed(0)} ms per frame)`,
    `  IoU by frame:          ${r.iouPerFrame.map((v) => v.toFixed(2)).join(' ')}`,
    `  coverage by frame:     ${r.coveragePerFrame.map((v) => v.toFixed(3)).join(' ')}`,
  ];
}

export function runMasksBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  return runReportBench(
    {
      name: 'masks',
      usage: MASKS_BENCH_USAGE,
      parse: parseMasksBenchArgs,
      measure: benchMasks,
      format: formatMasksBench,
      json: (a) => ({ path: a.json, options: a.options }),
    },
    args,
    log,
  );
}
