/**
 * Optical-flow evaluation: `npm run bench -- flow` loads a clip's frames (default: DAVIS blackswan from the shared
 * data folder, 50 frames at 384×216), computes the forward and backward flows of every consecutive pair in one
 * computeFlows call, and prints the quality figures of VIDEO_ATLAS.md §1 (forward–backward error, valid fractions,
 * photometric error against zero flow) with the wall time, dispatches and a FLOP estimate. A warm-up call on the
 * first two frames compiles every pipeline first (the kernels are the same; sizes are uniforms).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Engine } from '../gpu/engine';
import {
  computeFlows,
  flowDispatchCount,
  flowFlopEstimate,
  flowStats,
  type FlowOptions,
  type FlowStats,
  resolveFlowOptions,
} from '../video/flow';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel, runReportBench } from './benchCommon';
import { parseSizeText, sizeOptionMessage } from './sizeOption';

export const DEFAULT_FLOW_FRAMES = new URL('../../../shared/data/video/blackswan/frames', import.meta.url).pathname;

/** The bars: mean FB error and the photometric error relative to zero flow. */
export const FLOW_BARS = { fbErrorMean: 0.3, photometricRatio: 0.35 };

export const FLOW_BENCH_USAGE = `Usage: npm run bench -- flow [options]

  --frames DIR        a folder of frames (JPEG/PNG/WebP, in name order); default the shared blackswan clip
  --size WxH          working size the frames are resized to (default 384x216)
  --frames-count N    the first N frames (default 50; at least 2)
  --levels N          pyramid levels (default: 4 at 384×216, 5 at 768×432)
  --lambda X          smoothness λ on [0,1] grey (default 0.01)
  --rho X             structure-tensor σ in px (default 1; 0 = Horn–Schunck)
  --warps N           warps per level (default 3)
  --iterations N      Jacobi iterations per warp (default 30)
  --no-median         no 3×3 median after each warp
  --motion-boundaries also mark motion boundaries invalid (Sundaram et al.'s second test; default off)
  --no-warmup         skip the two-frame warm-up run that compiles the pipelines
  --json FILE         also write the result as JSON
  --help              this text`;

export interface FlowBenchArgs {
  frames: string;
  width: number;
  height: number;
  count: number;
  flow: FlowOptions;
  warmup: boolean;
  json?: string;
}

function positiveNumber(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) {
    throw new BenchUsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`);
  }
  return v;
}

/** Parses the arguments after `flow`; null for --help. Throws BenchUsageError for anything malformed. */
export function parseFlowBenchArgs(args: readonly string[]): FlowBenchArgs | null {
  const v = parseBenchOptions(args, {
    frames: { type: 'string' },
    size: { type: 'string' },
    'frames-count': { type: 'string' },
    levels: { type: 'string' },
    lambda: { type: 'string' },
    rho: { type: 'string' },
    warps: { type: 'string' },
    iterations: { type: 'string' },
    'no-median': { type: 'boolean' },
    'motion-boundaries': { type: 'boolean' },
    'no-warmup': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return null;
  const limits = { min: 2, max: 8192 };
  const size = parseSizeText(v.size ?? '384x216', limits);
  if (!size) throw new BenchUsageError(sizeOptionMessage('size', v.size ?? '', limits));
  const { width, height } = size;
  const count = integerOption('frames-count', v['frames-count'], 50, 2);
  const flow: FlowOptions = {};
  if (v.levels !== undefined) flow.levels = integerOption('levels', v.levels, 1, 1);
  if (v.warps !== undefined) flow.warps = integerOption('warps', v.warps, 1, 1);
  if (v.iterations !== undefined) flow.jacobiIterations = integerOption('iterations', v.iterations, 0, 0);
  const lambda = positiveNumber('lambda', v.lambda);
  if (lambda !== undefined) flow.lambda = lambda;
  const rho = positiveNumber('rho', v.rho, true);
  if (rho !== undefined) flow.rho = rho;
  if (v['no-median']) flow.median = false;
  if (v['motion-boundaries']) flow.consistency = { motionBoundaries: true };
  try {
    resolveFlowOptions(height, width, flow);
  } catch (e) {
    throw new BenchUsageError(e instanceof Error ? e.message.replace(/^computeFlows: /, '') : String(e));
  }
  if (v.json !== undefined && v.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    frames: v.frames ?? DEFAULT_FLOW_FRAMES,
    width,
    height,
    count,
    flow,
    warmup: !v['no-warmup'],
    ...(v.json !== undefined ? { json: v.json } : {}),
  };
}

/**
 * One frame as planar RGB floats in [0, 1] at width×height. An exact integer reduction (768×432 → 384×216) averages
 * whole blocks (the area filter the recipe's measurements used); any other size goes through sharp's resize.
 */
async function readFrame(file: string, width: number, height: number): Promise<Float32Array> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [fx, fy] = [info.width / width, info.height / height];
  let rgb: ArrayLike<number>;
  if (Number.isInteger(fx) && Number.isInteger(fy)) {
    const sums = new Float64Array(width * height * 3);
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        const o = (Math.floor(y / fy) * width + Math.floor(x / fx)) * 3;
        const i = (y * info.width + x) * 3;
        for (let c = 0; c < 3; c++) sums[o + c] += data[i + c] / (fx * fy);
      }
    }
    rgb = sums;
  } else {
    rgb = await sharp(file).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  }
  const hw = width * height;
  const planes = new Float32Array(3 * hw);
  for (let k = 0; k < hw; k++) for (let c = 0; c < 3; c++) planes[c * hw + k] = rgb[3 * k + c] / 255;
  return planes;
}

/** The first `count` frames of `dir` (name order) as one [F,3,H,W] array. */
export async function loadFrames(dir: string, count: number, width: number, height: number): Promise<Float32Array> {
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort();
  if (files.length < count) throw new BenchUsageError(`${dir} holds ${files.length} frames, fewer than ${count}`);
  const out = new Float32Array(count * 3 * width * height);
  for (let k = 0; k < count; k++) out.set(await readFrame(join(dir, files[k]), width, height), k * 3 * width * height);
  return out;
}

export interface FlowBenchResult extends FlowStats {
  adapter: string;
  frames: string;
  frameCount: number;
  width: number;
  height: number;
  levels: number;
  flowsComputed: number;
  /** computeFlows until the GPU finished, after the warm-up. */
  wallMs: number;
  statsMs: number;
  dispatches: number;
  /** flowDispatchCount of the options. */
  predictedDispatches: number;
  gflopEstimate: number;
  peakLiveBytes: number;
  photometricRatio: number;
}

export async function benchFlow(
  engine: Engine,
  a: FlowBenchArgs,
  log: (line: string) => void = () => {},
): Promise<FlowBenchResult> {
  log(`loading ${a.count} frames from ${a.frames} at ${a.width}×${a.height}`);
  const data = await loadFrames(a.frames, a.count, a.width, a.height);
  const frames = engine.fromArray([a.count, 3, a.height, a.width], data, 'flow-bench-frames').keep();
  const o = resolveFlowOptions(a.height, a.width, a.flow);
  try {
    if (a.warmup) {
      const t0 = performance.now();
      engine.tidy(() => {
        const two = engine.empty([2, 3, a.height, a.width]);
        engine.copy(frames, two, two.byteSize);
        computeFlows(engine, two, a.flow);
      });
      await engine.sync();
      log(`warm-up (2 frames, compiles the pipelines): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    engine.pool.resetPeak();
    const dispatches0 = engine.dispatchCount;
    const t0 = performance.now();
    const field = computeFlows(engine, frames, a.flow);
    await engine.sync();
    const wallMs = performance.now() - t0;
    const dispatches = engine.dispatchCount - dispatches0;
    const peakLiveBytes = engine.pool.stats().peakLiveBytes;
    log(`${2 * (a.count - 1)} flows: ${(wallMs / 1000).toFixed(1)} s, ${dispatches} dispatches`);
    const s0 = performance.now();
    const stats = await flowStats(engine, frames, field);
    const statsMs = performance.now() - s0;
    for (const t of Object.values(field)) t.release();
    return {
      adapter: adapterLabel(engine.ctx.summary),
      frames: a.frames,
      frameCount: a.count,
      width: a.width,
      height: a.height,
      levels: o.levels,
      flowsComputed: 2 * (a.count - 1),
      wallMs,
      statsMs,
      dispatches,
      predictedDispatches: flowDispatchCount(o),
      gflopEstimate: flowFlopEstimate(a.count, a.height, a.width, o) / 1e9,
      peakLiveBytes,
      ...stats,
      photometricRatio: stats.photometricWarped / stats.photometricZero,
    };
  } finally {
    frames.release();
  }
}

function verdict(ok: boolean): string {
  return ok ? 'meets' : 'MISSES';
}

export function formatFlowBench(r: FlowBenchResult): string[] {
  return [
    `adapter: ${r.adapter}`,
    `${r.frameCount} frames at ${r.width}×${r.height}, ${r.levels} levels: ${r.flowsComputed} flows (forward and backward)`,
    `  FB error mean:        ${r.fbErrorMean.toFixed(3)} px  (${verdict(r.fbErrorMean <= FLOW_BARS.fbErrorMean)} the bar ≤ ${FLOW_BARS.fbErrorMean})`,
    `  FB error median:      ${r.fbErrorMedian.toFixed(3)} px`,
    `  FB error mean, valid: ${r.fbErrorMeanValid.toFixed(3)} px`,
    `  valid forward / backward: ${(100 * r.validForward).toFixed(1)} % / ${(100 * r.validBackward).toFixed(1)} %`,
    `  photometric error (0–255, RGB): warped ${r.photometricWarped.toFixed(2)} (valid pixels ${r.photometricWarpedValid.toFixed(2)}), zero flow ${r.photometricZero.toFixed(2)}: ${r.photometricRatio.toFixed(3)}× (${verdict(r.photometricRatio <= FLOW_BARS.photometricRatio)} the bar ≤ ${FLOW_BARS.photometricRatio}×)`,
    `  mean flow magnitude:  ${r.meanFlowMagnitude.toFixed(2)} px/frame`,
    `  wall time:            ${(r.wallMs / 1000).toFixed(2)} s (${(r.wallMs / r.flowsComputed).toFixed(1)} ms per flow), stats ${(r.statsMs / 1000).toFixed(2)} s`,
    `  dispatches:           ${r.dispatches} (predicted ${r.predictedDispatches}; the same for any frame count)`,
    `  GFLOP (estimate):     ${r.gflopEstimate.toFixed(1)} (${(r.gflopEstimate / (r.wallMs / 1000)).toFixed(2)} GFLOP/s)`,
    `  peak live GPU bytes:  ${(r.peakLiveBytes / 2 ** 20).toFixed(0)} MiB`,
  ];
}

export function runFlowBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  return runReportBench(
    {
      name: 'flow',
      usage: FLOW_BENCH_USAGE,
      parse: parseFlowBenchArgs,
      measure: benchFlow,
      format: formatFlowBench,
      json: (a) => ({ path: a.json, options: a.flow }),
    },
    args,
    log,
  );
}
