/**
 * Runs `text2live atlas`: imports the clip, computes its flows, picks the masks, fits the layered atlas with a
 * progress line, and writes the atlas file, the atlas rasters, every frame's reconstruction and alpha, and log.json
 * (atlasOutputs.ts). A stop (Ctrl-C) ends the fit after the current iteration and writes the same files for the
 * iterations done.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../gpu/engine';
import { nodeEngine } from '../gpu/node';
import { atlasConfig, type AtlasConfig } from '../video/atlas/atlasConfig';
import type { AtlasFileInfo } from '../video/atlas/atlasFile';
import { AtlasFitter } from '../video/atlas/atlasFit';
import { readConfigOverrides, type AtlasCommand } from './atlasCommand';
import { clipFlows, clipPixels } from '../video/atlas/clipData';
import { importAtlasClip } from './atlasClip';
import { runFitLoop, type AtlasLogEntry, type FitProgress } from './atlasFitLoop';
import { chooseMasks, maskCoverage, type MaskRequest, type MaskSource } from './atlasMasks';
import { writeAtlasFile, writeAtlasRasters, writeAtomic, writeFrameRenders } from './atlasOutputs';
import { formatDuration } from './formatDuration';

export interface AtlasRunIo {
  log(line: string): void;
  /** The progress line (overwritten in place on a terminal). */
  progress(line: string): void;
  /** Aborted by Ctrl-C: the fit stops after the current iteration and writes what it has. */
  signal: AbortSignal;
  /** Use this engine instead of creating one (tests). */
  engine?: Engine;
}

export interface AtlasRunResult {
  outDir: string;
  iterations: number;
  totalIterations: number;
  interrupted: boolean;
  masks: MaskSource['kind'];
  /** Frames fitted and their working size. */
  frames: number;
  width: number;
  height: number;
}

/** What log.json holds: the clip, the masks, the settings, and every logged iteration's terms and PSNR. */
export interface AtlasRunLog {
  clip: { source: string; width: number; height: number; frames: number; frameRate: number; frameIndices: number[] };
  masks: { kind: MaskSource['kind']; reason: string; coverage?: number };
  config: AtlasConfig;
  iterations: number;
  totalIterations: number;
  interrupted: boolean;
  seconds: number;
  log: AtlasLogEntry[];
}

export function atlasProgressLine(p: FitProgress): string {
  const width = 24;
  const filled = Math.round((width * p.iteration) / p.total);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const eta = p.iterationsPerSecond > 0 ? (p.total - p.iteration) / p.iterationsPerSecond : Infinity;
  const psnr = p.last ? `  PSNR ${p.last.psnr.toFixed(2)} dB` : '';
  return `${bar} iteration ${p.iteration}/${p.total}  ${p.iterationsPerSecond.toFixed(2)} it/s  ETA ${formatDuration(eta)}${psnr}`;
}

function maskRequest(cmd: AtlasCommand): MaskRequest {
  if (cmd.backgroundOnly) return 'none';
  return cmd.masks === 'auto' ? 'automatic' : 'given-or-automatic';
}

export async function runAtlas(cmd: AtlasCommand, io: AtlasRunIo): Promise<AtlasRunResult> {
  const overrides = cmd.configFile ? await readConfigOverrides(cmd.configFile) : {};
  const settings: Partial<AtlasConfig> = {
    ...overrides,
    ...(cmd.iterations !== null ? { iterations: cmd.iterations } : {}),
    ...(cmd.seed !== null ? { seed: cmd.seed } : {}),
  };
  atlasConfig(768, settings); // bad settings fail before the import and the flows
  const clip = await importAtlasClip(
    cmd.clip,
    {
      ...(cmd.start !== null ? { start: cmd.start } : {}),
      ...(cmd.frames !== null ? { frameCount: cmd.frames } : {}),
      ...(cmd.stride !== null ? { stride: cmd.stride } : {}),
      bound: cmd.size,
      // A given path replaces the import's own search; 'auto' and background-only want none of the found masks.
      ...(cmd.masks && cmd.masks !== 'auto' ? { masks: cmd.masks } : {}),
      ...(cmd.masks === 'auto' || cmd.backgroundOnly ? { masks: null } : {}),
    },
    (p) => io.progress(`importing ${p.stage} ${p.done}/${p.total}`),
    io.signal,
  );
  const frames = clip.frames.length;
  if (frames < 2) {
    throw new Error(`${cmd.clip} keeps ${frames} frame; an atlas needs at least 2 (the flow is between frames)`);
  }
  const engine = io.engine ?? (await nodeEngine());
  const s = engine.ctx.summary;
  io.log(
    `adapter: ${s.vendor} ${s.architecture}${s.isFallbackAdapter ? ' (software fallback: expect it to be slow)' : ''}`,
  );
  io.log(`clip: ${clip.sourceName}, ${frames} frames at ${clip.width}×${clip.height}`);
  const f0 = performance.now();
  const flows = clipFlows(engine, clip);
  let fitter: AtlasFitter | null = null;
  try {
    await engine.sync();
    io.log(`flows: ${2 * (frames - 1)} in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
    engine.pool.trim(); // the flow's transient buffers back to the device before fitting
    const masks = await chooseMasks(maskRequest(cmd), engine, flows, clip);
    io.log(
      masks.kind === 'none'
        ? `masks: none. ${masks.reason}`
        : `masks: ${masks.kind}, ${(100 * maskCoverage(masks.masks)).toFixed(1)} % object. ${masks.reason}`,
    );
    const config = atlasConfig(clip.width, { ...settings, backgroundOnly: masks.kind === 'none' });
    const info: AtlasFileInfo = {
      geometry: { width: clip.width, height: clip.height, frames },
      config,
      iterations: 0,
      frameRate: clip.frameRate,
      frameIndices: clip.frameIndices,
    };
    const runLog: AtlasRunLog = {
      clip: {
        source: clip.sourceName,
        width: clip.width,
        height: clip.height,
        frames,
        frameRate: clip.frameRate,
        frameIndices: clip.frameIndices,
      },
      masks:
        masks.kind === 'none'
          ? { kind: 'none', reason: masks.reason }
          : { kind: masks.kind, reason: masks.reason, coverage: maskCoverage(masks.masks) },
      config,
      iterations: 0,
      totalIterations: config.iterations,
      interrupted: false,
      seconds: 0,
      log: [],
    };
    const result: AtlasRunResult = {
      outDir: cmd.out,
      iterations: 0,
      totalIterations: config.iterations,
      interrupted: false,
      masks: masks.kind,
      frames,
      width: clip.width,
      height: clip.height,
    };
    if (io.signal.aborted) return { ...result, interrupted: true }; // stopped before fitting: nothing to write

    await mkdir(cmd.out, { recursive: true });
    const writeLog = () => writeAtomic(join(cmd.out, 'log.json'), JSON.stringify(runLog, null, 2));
    fitter = new AtlasFitter(engine, clipPixels(clip, masks.kind === 'none' ? null : masks.masks), flows, config);
    const f = fitter;
    io.log(`fitting ${config.iterations} iterations, seed ${config.seed}`);
    const fit = await runFitLoop(fitter, {
      iterations: config.iterations,
      logEvery: cmd.logEvery,
      checkpointEvery: cmd.checkpointEvery,
      signal: io.signal,
      onProgress: (p) => io.progress(atlasProgressLine(p)),
      onLog: async (entry) => {
        runLog.log.push(entry);
        runLog.iterations = entry.iteration;
        runLog.seconds = entry.seconds;
        await writeLog();
      },
      onCheckpoint: async (iteration) => {
        await writeAtlasFile(cmd.out, f.model, { ...info, iterations: iteration });
      },
    });
    // A stop between logs: the last iterations' terms too, so log.json ends where the atlas does.
    if (fit.interrupted && fit.iterations > 0 && runLog.log.at(-1)?.iteration !== fit.iterations) {
      runLog.log.push({ ...(await fitter.log()), seconds: fit.seconds });
    }
    Object.assign(runLog, { iterations: fit.iterations, interrupted: fit.interrupted, seconds: fit.seconds });
    const done = { ...info, iterations: fit.iterations };
    io.log(`writing the atlas and ${frames} frames into ${cmd.out}`);
    await writeAtlasFile(cmd.out, fitter.model, done);
    await writeAtlasRasters(cmd.out, fitter.model);
    await writeFrameRenders(cmd.out, fitter.model, done, (t) => io.progress(`rendering frame ${t + 1}/${frames}`));
    await writeLog();
    return { ...result, iterations: fit.iterations, interrupted: fit.interrupted };
  } finally {
    fitter?.dispose();
    for (const t of Object.values(flows)) t.release();
    if (!io.engine) engine.destroy();
  }
}
