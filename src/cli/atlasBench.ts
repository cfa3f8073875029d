/**
 * Layered-atlas evaluation: `npm run bench -- atlas` fits an atlas to a clip (default DAVIS blackswan, 50 frames at
 * 384×216, the DAVIS masks) and measures what VIDEO_ATLAS.md measured: reconstruction PSNR over every frame, alpha
 * IoU against the true masks, the drift of flow-tracked points in atlas space, the edit-propagation test (§3), FLOPs,
 * dispatches and time per iteration, the pool's peak bytes, and (cheaply, without kernels) the peak at 768×432 with
 * 70 frames. The loss terms and PSNR estimate go to stderr and into the JSON every --log-every iterations, and the
 * atlas file into --out every --checkpoint-every, so a long run that is killed still leaves its figures;
 * `--eval-only FILE` evaluates a saved atlas without fitting.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../gpu/engine';
import { formatBytes } from '../gpu/formatBytes';
import { nodeEngine } from '../gpu/node';
import { atlasConfig, type AtlasConfig } from '../video/atlas/atlasConfig';
import { loadAtlas, type AtlasFileInfo } from '../video/atlas/atlasFile';
import { AtlasFitter } from '../video/atlas/atlasFit';
import type { AtlasModel } from '../video/atlas/atlasModel';
import { bakeFrame, rgbImage } from '../video/atlas/atlasRender';
import type { ClipPixels } from '../video/atlas/pointBatch';
import { computeFlowsInBatches, flowPairsPerBatch, type FlowField } from '../video/flow';
import { clipFlows, clipPixels } from '../video/atlas/clipData';
import type { VideoClip } from '../video/media/videoClip';
import { ATLAS_SIZE_LIMITS, readConfigOverrides } from './atlasCommand';
import { importAtlasClip, type SizeBound } from './atlasClip';
import { atlasIterationFlops, type IterationFlops } from './atlasCost';
import { ATLAS_BARS, AtlasEvaluator, editPatterns, type AtlasQuality } from './atlasEval';
import { runFitLoop, type AtlasLogEntry, type PhaseCost } from './atlasFitLoop';
import { chooseMasks, maskCoverage, type MaskSource } from './atlasMasks';
import {
  frameStem,
  writeAtlasFile,
  writeAtlasRasters,
  writeAtomic,
  writeFrameRenders,
  writePngAtomic,
} from './atlasOutputs';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';
import { adapterLabel } from './benchCommon';
import { formatDuration } from './formatDuration';
import { parseSizeText, sizeOptionMessage } from './sizeOption';

export const DEFAULT_ATLAS_CLIP = new URL('../../../shared/data/video/blackswan/frames', import.meta.url).pathname;

export const ATLAS_BENCH_USAGE = `Usage: npm run bench -- atlas [options]

  --frames PATH         the clip: a frames folder, a zip or a video (default the shared blackswan frames)
  --masks M             given (default: the masks/ beside the frames) | DIR (a masks folder, zip or video)
                        | auto (motion masks) | none (background only)
  --size WxH            working size bound, aspect kept (default 384x216)
  --frames-count N      the first N frames (default 50)
  --iters N             fitting iterations (default 3000)
  --log-every N         terms and PSNR estimate to stderr and the JSON every N iterations (default 100)
  --checkpoint-every N  save --out/atlas.safetensors every N iterations (default 500)
  --seed N              the fit's seed (default 0)
  --config FILE         atlas config overrides (JSON, keys of AtlasConfig)
  --out DIR             the atlas file, renders and edit-test pictures (default: none written)
  --json FILE           the figures as JSON, rewritten as the run goes
  --eval-only FILE      evaluate a saved atlas.safetensors (the clip and its frames from the file) without fitting
  --memory-size WxH     the memory-only run's size (default 768x432); --memory-frames N its frames (default 70)
  --no-memory-run       skip the memory-only run
  --memory-only         only the memory-only run
  --help                this text`;

export type BenchMasks = { kind: 'given' } | { kind: 'none' } | { kind: 'auto' } | { kind: 'path'; path: string };

export interface AtlasBenchArgs {
  frames: string;
  masks: BenchMasks;
  size: SizeBound;
  count: number;
  iters: number;
  logEvery: number;
  checkpointEvery: number;
  seed: number;
  config: string | null;
  out: string | null;
  json: string | null;
  evalOnly: string | null;
  memory: { size: SizeBound; frames: number } | null;
  memoryOnly: boolean;
}

/** A working-size option of the atlas benchmark (the same bounds as `text2live atlas --size`). */
export function parseSize(name: string, raw: string): SizeBound {
  const size = parseSizeText(raw, ATLAS_SIZE_LIMITS);
  if (!size) throw new BenchUsageError(sizeOptionMessage(name, raw, ATLAS_SIZE_LIMITS));
  return size;
}

export function parseAtlasBenchArgs(args: readonly string[]): AtlasBenchArgs | null {
  const v = parseBenchOptions(args, {
    frames: { type: 'string' },
    masks: { type: 'string' },
    size: { type: 'string' },
    'frames-count': { type: 'string' },
    iters: { type: 'string' },
    'log-every': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    seed: { type: 'string' },
    config: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    'eval-only': { type: 'string' },
    'memory-size': { type: 'string' },
    'memory-frames': { type: 'string' },
    'no-memory-run': { type: 'boolean' },
    'memory-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return null;
  const m = v.masks ?? 'given';
  const masks: BenchMasks =
    m === 'given' || m === 'none' || m === 'auto'
      ? { kind: m }
      : m.trim()
        ? { kind: 'path', path: m }
        : { kind: 'given' };
  for (const k of ['json', 'out', 'config', 'eval-only', 'frames'] as const) {
    if (v[k] !== undefined && v[k].trim() === '') throw new BenchUsageError(`--${k} needs a path`);
  }
  if (v['memory-only'] && v['no-memory-run']) {
    throw new BenchUsageError('--memory-only and --no-memory-run exclude each other');
  }
  return {
    frames: v.frames ?? DEFAULT_ATLAS_CLIP,
    masks,
    size: parseSize('size', v.size ?? '384x216'),
    count: integerOption('frames-count', v['frames-count'], 50, 2),
    iters: integerOption('iters', v.iters, 3000, 1),
    logEvery: integerOption('log-every', v['log-every'], 100, 1),
    checkpointEvery: integerOption('checkpoint-every', v['checkpoint-every'], 500, 0),
    seed: integerOption('seed', v.seed, 0, 0),
    config: v.config ?? null,
    out: v.out ?? null,
    json: v.json ?? null,
    evalOnly: v['eval-only'] ?? null,
    memory: v['no-memory-run']
      ? null
      : {
          size: parseSize('memory-size', v['memory-size'] ?? '768x432'),
          frames: integerOption('memory-frames', v['memory-frames'], 70, 2),
        },
    memoryOnly: v['memory-only'] ?? false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The memory-only run
// ---------------------------------------------------------------------------------------------------------------

export interface MemoryRun {
  width: number;
  height: number;
  frames: number;
  config: { backgroundResolution: number; foregroundResolution: number; batch: number };
  /** Pairs per computeFlows call (atlasFlows.ts). */
  flowPairsPerBatch: number;
  /** Pool peaks while the flows are computed. */
  flowsPeakLiveBytes: number;
  flowsPeakAllocatedBytes: number;
  /** Pool peaks while fitting (the flows live; 2 bootstrap iterations + 1 after), the pool trimmed after the flows. */
  fitPeakLiveBytes: number;
  fitPeakAllocatedBytes: number;
  /** Bytes held between iterations: parameters, Adam state, flows, the PSNR set. */
  persistentBytes: number;
  seconds: number;
}

/**
 * The peak of a full-size fit without running a kernel (engine.skipKernels: every buffer allocated, bound and
 * released as in a real run): the flows of `frames` frames as the fit computes them, then iterations on both sides
 * of the bootstrap's end. Bytes are the pool's above what it held before.
 */
export async function memoryOnlyRun(engine: Engine, size: SizeBound, frames: number, seed: number): Promise<MemoryRun> {
  const t0 = performance.now();
  const { width: w, height: h } = size;
  engine.pool.trim();
  engine.skipKernels = true;
  let flows: FlowField | null = null;
  let fitter: AtlasFitter | null = null;
  try {
    const base = engine.pool.stats();
    engine.pool.resetPeak();
    const pairsPerBatch = flowPairsPerBatch(w, h, frames - 1);
    flows = computeFlowsInBatches(engine, null, frames, h, w, pairsPerBatch);
    await engine.sync();
    const flowStats = engine.pool.stats();
    // As the fit does: the flow's transient buffers go back to the device before fitting.
    engine.pool.trim();
    const pixels: ClipPixels = {
      width: w,
      height: h,
      frames,
      rgba: Array.from({ length: frames }, () => new Uint8ClampedArray(4 * w * h)),
      masks: Array.from({ length: frames }, () => new Uint8Array(w * h)),
    };
    // Iterations 0, 1 in the bootstrap and 2 after it (the bootstrap's end moved up so both phases are measured).
    const config = atlasConfig(w, { seed, bootstrapIterations: 2 });
    engine.pool.resetPeak();
    fitter = new AtlasFitter(engine, pixels, flows, config);
    for (let i = 0; i < 3; i++) {
      fitter.step();
      await engine.sync();
    }
    await fitter.log();
    const stats = engine.pool.stats();
    return {
      width: w,
      height: h,
      frames,
      config: {
        backgroundResolution: config.backgroundResolution,
        foregroundResolution: config.foregroundResolution,
        batch: config.batch,
      },
      flowPairsPerBatch: pairsPerBatch,
      flowsPeakLiveBytes: flowStats.peakLiveBytes - base.liveBytes,
      flowsPeakAllocatedBytes: flowStats.peakAllocatedBytes - base.allocatedBytes,
      fitPeakLiveBytes: stats.peakLiveBytes - base.liveBytes,
      fitPeakAllocatedBytes: stats.peakAllocatedBytes - base.allocatedBytes,
      persistentBytes: stats.liveBytes - base.liveBytes,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    fitter?.dispose();
    for (const t of Object.values(flows ?? {})) t.release();
    engine.skipKernels = false;
    engine.pool.trim();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation of a fitted model
// ---------------------------------------------------------------------------------------------------------------

/** Frames whose edit-test renders are written (first, middle, last). */
function pictureFrames(frames: number): number[] {
  return [...new Set([0, Math.floor((frames - 1) / 2), frames - 1])];
}

/**
 * Bakes every frame and evaluates it (writing the renders and edit pictures into `out` when given). The flows are
 * read back whole: [F − 1, 2, H, W] floats, 32 MB at 384×216 with 50 frames.
 */
export async function evaluateAtlas(
  model: AtlasModel,
  info: AtlasFileInfo,
  clip: VideoClip,
  truth: readonly Uint8Array[] | null,
  flows: FlowField,
  out: string | null,
  log: (line: string) => void,
): Promise<AtlasQuality> {
  const g = info.geometry;
  const hw = g.width * g.height;
  const [forward, valid] = await Promise.all([flows.forward.read(), flows.forwardValid.read()]);
  const patterns = editPatterns(
    model.config.backgroundResolution,
    model.foreground ? model.config.foregroundResolution : null,
  );
  const evaluator = new AtlasEvaluator(g, patterns);
  const pictures = new Set(pictureFrames(g.frames));
  if (out) await mkdir(join(out, 'edit'), { recursive: true });
  const onFrame = async (t: number, bake: Awaited<ReturnType<typeof bakeFrame>>) => {
    const last = t === g.frames - 1;
    const edits = evaluator.add(t, bake, {
      image: clip.frames[t],
      mask: truth ? truth[t] : null,
      flow: last ? null : forward.subarray(t * 2 * hw, (t + 1) * 2 * hw),
      valid: last ? null : valid.subarray(t * hw, (t + 1) * hw),
    });
    if (out && pictures.has(t)) {
      const stem = frameStem(info.frameIndices[t]);
      await writePngAtomic(join(out, 'edit', `atlas-${stem}.png`), rgbImage(edits.atlasEdit, g.width, g.height));
      await writePngAtomic(join(out, 'edit', `screen-${stem}.png`), rgbImage(edits.screenEdit, g.width, g.height));
    }
    if ((t + 1) % 10 === 0 || last) log(`evaluated ${t + 1}/${g.frames} frames`);
  };
  if (out) {
    await writeAtlasRasters(out, model);
    await writeFrameRenders(out, model, info, onFrame);
  } else {
    for (let t = 0; t < g.frames; t++) await onFrame(t, await bakeFrame(model, g, t));
  }
  return evaluator.result();
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------------------------

export interface FitFigures {
  iterations: number;
  interrupted: boolean;
  seconds: number;
  phases: { bootstrap: PhaseCost; after: PhaseCost };
  /** Per iteration, each phase: seconds, dispatches, FLOP estimate. */
  perIteration: Record<'bootstrap' | 'after', { seconds: number; dispatches: number; flops: IterationFlops }>;
  peakLiveBytes: number;
  peakAllocatedBytes: number;
}

export interface AtlasBenchReport {
  benchmark: 'atlas';
  adapter: string;
  args: AtlasBenchArgs;
  clip: { source: string; width: number; height: number; frames: number; frameIndices: number[] } | null;
  masks: { training: MaskSource['kind']; reason?: string; coverage?: number; truth: boolean } | null;
  config: AtlasConfig | null;
  importSeconds?: number;
  flows?: { seconds: number; pairsPerBatch: number; peakLiveBytes: number; peakAllocatedBytes: number };
  memoryRun?: MemoryRun;
  progress: AtlasLogEntry[];
  checkpoints: Array<{ iteration: number; path: string }>;
  fit?: FitFigures;
  evaluation?: AtlasQuality & { iteration: number; seconds: number };
}

function reportWriter(args: AtlasBenchArgs, report: AtlasBenchReport) {
  return () => {
    if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  };
}

function clipFromInfo(info: AtlasFileInfo): { start: number; stride: number; count: number } {
  const idx = info.frameIndices;
  const stride = idx.length > 1 ? idx[1] - idx[0] : 1;
  return { start: idx[0], stride, count: idx.length };
}

/** `signal`: stop the fit after the current iteration, then save and evaluate what was fitted (SIGINT/SIGTERM). */
export async function benchAtlas(
  engine: Engine,
  args: AtlasBenchArgs,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<AtlasBenchReport> {
  const report: AtlasBenchReport = {
    benchmark: 'atlas',
    adapter: adapterLabel(engine.ctx.summary),
    args,
    clip: null,
    masks: null,
    config: null,
    progress: [],
    checkpoints: [],
  };
  const save = reportWriter(args, report);
  if (args.memory && !args.evalOnly) {
    const { size, frames } = args.memory;
    log(`memory-only run: ${size.width}×${size.height}, ${frames} frames, no kernels`);
    report.memoryRun = await memoryOnlyRun(engine, size, frames, args.seed);
    log(
      `memory-only run: flows peak ${formatBytes(report.memoryRun.flowsPeakAllocatedBytes)}, fit peak ${formatBytes(report.memoryRun.fitPeakAllocatedBytes)} allocated (${report.memoryRun.seconds.toFixed(1)} s)`,
    );
    save();
  }
  if (args.memoryOnly) return report;

  // The clip: the fit's frames, or those an atlas file was fitted on.
  let saved: { model: AtlasModel; info: AtlasFileInfo } | null = null;
  let trim = { start: 0, stride: 1, count: args.count };
  let bound = args.size;
  if (args.evalOnly) {
    saved = await loadAtlas(engine, new Uint8Array(await readFile(args.evalOnly)));
    trim = clipFromInfo(saved.info);
    bound = { width: saved.info.geometry.width, height: saved.info.geometry.height };
    log(`evaluating ${args.evalOnly}: ${saved.info.iterations} iterations, ${bound.width}×${bound.height}`);
  }
  const t0 = performance.now();
  const importOptions = { start: trim.start, stride: trim.stride, frameCount: trim.count, bound };
  // The true masks for the IoU are the import's own (masks/ beside the frames); the fit's may differ.
  const clip = await importAtlasClip(args.frames, importOptions);
  let given: Uint8Array[] | null = clip.masks;
  if (args.masks.kind === 'path') {
    given = (await importAtlasClip(args.frames, { ...importOptions, masks: args.masks.path })).masks;
  }
  report.importSeconds = (performance.now() - t0) / 1000;
  report.clip = {
    source: clip.sourceName,
    width: clip.width,
    height: clip.height,
    frames: clip.frames.length,
    frameIndices: clip.frameIndices,
  };
  log(`clip: ${clip.frames.length} frames at ${clip.width}×${clip.height} (${report.importSeconds.toFixed(1)} s)`);

  engine.pool.resetPeak();
  const f0 = performance.now();
  const flows = clipFlows(engine, clip);
  await engine.sync();
  const flowPeaks = engine.pool.stats();
  report.flows = {
    seconds: (performance.now() - f0) / 1000,
    pairsPerBatch: flowPairsPerBatch(clip.width, clip.height, clip.frames.length - 1),
    peakLiveBytes: flowPeaks.peakLiveBytes,
    peakAllocatedBytes: flowPeaks.peakAllocatedBytes,
  };
  engine.pool.trim();
  log(`flows: ${report.flows.seconds.toFixed(1)} s`);
  let model: AtlasModel | null = saved?.model ?? null;
  let fitter: AtlasFitter | null = null;
  try {
    let info: AtlasFileInfo;
    if (saved) {
      info = saved.info;
      report.config = info.config;
      const training = info.config.backgroundOnly ? 'none' : args.masks.kind === 'auto' ? 'automatic' : 'given';
      report.masks = { training, truth: clip.masks !== null };
    } else {
      const request =
        args.masks.kind === 'none' ? 'none' : args.masks.kind === 'auto' ? 'automatic' : 'given-or-automatic';
      const masks = await chooseMasks(request, engine, flows, { ...clip, masks: given });
      const overrides = args.config ? await readConfigOverrides(args.config) : {};
      const config = atlasConfig(clip.width, {
        ...overrides,
        iterations: args.iters,
        seed: args.seed,
        backgroundOnly: masks.kind === 'none' || overrides.backgroundOnly === true,
      });
      report.config = config;
      report.masks = {
        training: masks.kind,
        reason: masks.reason,
        ...(masks.kind === 'none' ? {} : { coverage: maskCoverage(masks.masks) }),
        truth: clip.masks !== null,
      };
      log(
        `masks: ${masks.kind}: ${masks.reason}${masks.kind === 'none' ? '' : ` (${(100 * report.masks.coverage!).toFixed(1)} % object)`}`,
      );
      save();
      info = {
        geometry: { width: clip.width, height: clip.height, frames: clip.frames.length },
        config,
        iterations: 0,
        frameRate: clip.frameRate,
        frameIndices: clip.frameIndices,
      };
      fitter = new AtlasFitter(engine, clipPixels(clip, masks.kind === 'none' ? null : masks.masks), flows, config);
      model = fitter.model;
      engine.pool.resetPeak();
      const f = fitter;
      const checkpoint = async (iteration: number) => {
        if (!args.out) return;
        const path = await writeAtlasFile(args.out, f.model, { ...info, iterations: iteration });
        report.checkpoints.push({ iteration, path });
        log(`checkpoint: ${path} (iteration ${iteration})`);
        save();
      };
      const result = await runFitLoop(fitter, {
        iterations: config.iterations,
        logEvery: args.logEvery,
        checkpointEvery: args.checkpointEvery,
        signal,
        onLog: (e) => {
          report.progress.push(e);
          const eta = ((config.iterations - e.iteration) * e.seconds) / e.iteration;
          const terms = Object.entries(e.terms)
            .map(([k, x]) => `${k} ${x.toPrecision(3)}`)
            .join(' ');
          log(
            `iteration ${e.iteration}/${config.iterations}: PSNR ≈ ${e.psnr.toFixed(2)} dB  ${terms}  (${(e.seconds / e.iteration).toFixed(2)} s/it, ETA ${formatDuration(eta)})`,
          );
          save();
        },
        onCheckpoint: checkpoint,
      });
      const stats = engine.pool.stats();
      const per = (p: PhaseCost, bootstrap: boolean) => ({
        seconds: p.iterations ? p.seconds / p.iterations : 0,
        dispatches: p.iterations ? p.dispatches / p.iterations : 0,
        flops: atlasIterationFlops(config, bootstrap),
      });
      report.fit = {
        iterations: result.iterations,
        interrupted: result.interrupted,
        seconds: result.seconds,
        phases: result.phases,
        perIteration: { bootstrap: per(result.phases.bootstrap, true), after: per(result.phases.after, false) },
        peakLiveBytes: stats.peakLiveBytes,
        peakAllocatedBytes: stats.peakAllocatedBytes,
      };
      info = { ...info, iterations: result.iterations };
      if (args.out) await checkpoint(result.iterations);
      save();
    }
    log(`evaluating all ${info.geometry.frames} frames${args.out ? `, renders into ${args.out}` : ''}`);
    const e0 = performance.now();
    const quality = await evaluateAtlas(model!, info, clip, clip.masks, flows, args.out, log);
    report.evaluation = { ...quality, iteration: info.iterations, seconds: (performance.now() - e0) / 1000 };
    save();
    if (args.out) await writeAtomic(join(args.out, 'bench.json'), JSON.stringify(report, null, 2));
    return report;
  } finally {
    if (fitter) fitter.dispose();
    else model?.dispose();
    for (const t of Object.values(flows)) t.release();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

function verdict(ok: boolean, bar: string): string {
  return `${ok ? 'meets' : 'MISSES'} ${bar}`;
}

export function formatAtlasBench(r: AtlasBenchReport): string[] {
  const lines = [`adapter: ${r.adapter}`];
  const m = r.memoryRun;
  if (m) {
    lines.push(
      `memory-only run ${m.width}×${m.height}, ${m.frames} frames (atlases ${m.config.backgroundResolution}²/${m.config.foregroundResolution}², batch ${m.config.batch}):`,
      `  peak pool bytes allocated (live): flows ${formatBytes(m.flowsPeakAllocatedBytes)} (${formatBytes(m.flowsPeakLiveBytes)}) in batches of ${m.flowPairsPerBatch} pairs, fit ${formatBytes(m.fitPeakAllocatedBytes)} (${formatBytes(m.fitPeakLiveBytes)}); held between iterations ${formatBytes(m.persistentBytes)}`,
      `  ${verdict(Math.max(m.flowsPeakAllocatedBytes, m.fitPeakAllocatedBytes) <= 2e9, 'the goal ≤ 2 GB')}`,
    );
  }
  if (!r.clip) return lines;
  lines.push(
    `clip ${r.clip.source}: ${r.clip.frames} frames at ${r.clip.width}×${r.clip.height}; masks ${r.masks?.training}${r.masks?.reason ? ` (${r.masks.reason})` : ''}`,
  );
  if (r.flows) {
    lines.push(
      `  flows: ${r.flows.seconds.toFixed(1)} s (batches of ${r.flows.pairsPerBatch} pairs), peak ${formatBytes(r.flows.peakAllocatedBytes)} allocated, ${formatBytes(r.flows.peakLiveBytes)} live`,
    );
  }
  const f = r.fit;
  if (f) {
    lines.push(
      `  fit: ${f.iterations} iterations${f.interrupted ? ' (interrupted)' : ''} in ${formatDuration(f.seconds)}; peak pool ${formatBytes(f.peakLiveBytes)} live, ${formatBytes(f.peakAllocatedBytes)} allocated`,
    );
    for (const phase of ['bootstrap', 'after'] as const) {
      const p = f.perIteration[phase];
      if (!f.phases[phase].iterations) continue;
      lines.push(
        `  per iteration (${phase}): ${(1000 * p.seconds).toFixed(0)} ms, ${p.dispatches.toFixed(0)} dispatches, ~${(p.flops.total / 1e9).toFixed(2)} GFLOP (fwd ${(p.flops.forward / 1e9).toFixed(2)}, fwd+bwd ${(p.flops.forwardBackward / 1e9).toFixed(2)}, Adam ${(p.flops.adam / 1e9).toFixed(3)})`,
      );
    }
  }
  const logged = r.progress.filter((_, i) => i % Math.max(1, Math.ceil(r.progress.length / 30)) === 0);
  if (r.progress.length) {
    lines.push('  PSNR estimate (8192 fixed pixels) by iteration:');
    const last = r.progress[r.progress.length - 1];
    for (const e of logged.at(-1) === last ? logged : [...logged, last]) {
      lines.push(`    ${String(e.iteration).padStart(6)}  ${e.psnr.toFixed(2)} dB  (${formatDuration(e.seconds)})`);
    }
  }
  const q = r.evaluation;
  if (q) {
    const iouBar = r.masks?.training === 'automatic' ? ATLAS_BARS.iouAutomaticMasks : ATLAS_BARS.iouGivenMasks;
    const drift = Math.max(q.driftBackground, q.driftForeground ?? 0);
    lines.push(
      `evaluation at iteration ${q.iteration} (all ${q.framePsnr.length} frames, all pixels):`,
      `  | figure | value | bar |`,
      `  |---|---|---|`,
      `  | reconstruction PSNR | ${q.psnr.toFixed(2)} dB (worst frame ${q.worstFramePsnr.toFixed(2)}) | ${verdict(q.psnr >= ATLAS_BARS.psnr, `≥ ${ATLAS_BARS.psnr}`)} |`,
      `  | alpha IoU (α > 0.5) | ${q.alphaIou === null ? 'n/a' : q.alphaIou.toFixed(3)} | ${q.alphaIou === null ? '' : verdict(q.alphaIou >= iouBar, `≥ ${iouBar}`)} |`,
      `  | drift bg / fg / both (px per frame) | ${q.driftBackground.toFixed(3)} / ${q.driftForeground === null ? 'n/a' : q.driftForeground.toFixed(3)} / ${q.driftCombined.toFixed(3)} | ${verdict(drift <= ATLAS_BARS.driftPixels, `≤ ${ATLAS_BARS.driftPixels}`)} |`,
      `  | warp error original / reconstruction (0–255) | ${q.warpErrorOriginal.toFixed(2)} / ${q.warpErrorReconstruction.toFixed(2)} | |`,
      `  | warp error atlas edit / screen edit (0–255) | ${q.warpErrorAtlasEdit.toFixed(2)} / ${q.warpErrorScreenEdit.toFixed(2)} = ${q.editRatio.toFixed(3)}× | ${verdict(q.editRatio <= ATLAS_BARS.editRatio, `≤ ${ATLAS_BARS.editRatio}×`)} |`,
      `  (${q.validPixels.toLocaleString('en-US')} FB-valid pixels; evaluation ${q.seconds.toFixed(1)} s)`,
    );
  }
  return lines;
}

export async function runAtlasBench(args: readonly string[], log: (line: string) => void): Promise<void> {
  const a = parseAtlasBenchArgs(args);
  if (!a) {
    console.log(ATLAS_BENCH_USAGE);
    return;
  }
  const engine = await nodeEngine();
  // A long run stopped with Ctrl-C or kill still leaves its checkpoint and evaluation (a second signal quits).
  const abort = new AbortController();
  const stop = (name: string) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${name}: stopping after this iteration, then saving and evaluating (again to quit at once)`);
    abort.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const r = await benchAtlas(engine, a, log, abort.signal);
    for (const line of formatAtlasBench(r)) console.log(line);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    engine.destroy();
  }
}
