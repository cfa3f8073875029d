/**
 * The fitting loop the `atlas` command and `bench atlas` share: iterations of an AtlasFitter up to a total, the
 * loss terms and PSNR estimate read every `logEvery` iterations (and at the last), a checkpoint callback every
 * `checkpointEvery`, and a stop between iterations when the signal fires (Ctrl-C keeps what was done). Each
 * iteration waits for the GPU, so progress, ETA and per-iteration times are those of the device, not of encoding.
 */
import type { AtlasFitter, AtlasLog } from '../video/atlas/atlasFit';

export interface AtlasLogEntry extends AtlasLog {
  /** Seconds since the loop started. */
  seconds: number;
}

/** Iterations, seconds and kernel dispatches of one phase (the bootstrap has the mask and global-rigidity terms). */
export interface PhaseCost {
  iterations: number;
  seconds: number;
  dispatches: number;
}

export interface FitProgress {
  iteration: number;
  total: number;
  /** Seconds since the loop started, and iterations per second over the iterations this loop ran. */
  seconds: number;
  iterationsPerSecond: number;
  /** The newest log entry (null before the first). */
  last: AtlasLogEntry | null;
}

export interface FitLoopOptions {
  /** Run until the fitter has done this many iterations in all. */
  iterations: number;
  logEvery: number;
  /** 0: no checkpoints. */
  checkpointEvery: number;
  signal?: AbortSignal;
  onProgress?(p: FitProgress): void;
  onLog?(entry: AtlasLogEntry): void | Promise<void>;
  onCheckpoint?(iteration: number): void | Promise<void>;
}

export interface FitLoopResult {
  interrupted: boolean;
  /** The fitter's iterations at the end. */
  iterations: number;
  seconds: number;
  log: AtlasLogEntry[];
  phases: { bootstrap: PhaseCost; after: PhaseCost };
}

export async function runFitLoop(fitter: AtlasFitter, o: FitLoopOptions): Promise<FitLoopResult> {
  const engine = fitter.engine;
  const bootstrapEnd = fitter.config.bootstrapIterations;
  const phases = {
    bootstrap: { iterations: 0, seconds: 0, dispatches: 0 },
    after: { iterations: 0, seconds: 0, dispatches: 0 },
  };
  const log: AtlasLogEntry[] = [];
  const t0 = performance.now();
  const startIteration = fitter.iteration;
  const elapsed = () => (performance.now() - t0) / 1000;
  let interrupted = false;
  while (fitter.iteration < o.iterations) {
    if (o.signal?.aborted) {
      interrupted = true;
      break;
    }
    const phase = fitter.iteration < bootstrapEnd ? phases.bootstrap : phases.after;
    const d0 = engine.dispatchCount;
    const s0 = performance.now();
    fitter.step();
    await engine.sync();
    phase.seconds += (performance.now() - s0) / 1000;
    phase.dispatches += engine.dispatchCount - d0;
    phase.iterations++;
    const it = fitter.iteration;
    if (it % o.logEvery === 0 || it === o.iterations) {
      const entry = { ...(await fitter.log()), seconds: elapsed() };
      log.push(entry);
      await o.onLog?.(entry);
    }
    if (o.checkpointEvery > 0 && it % o.checkpointEvery === 0 && it < o.iterations) await o.onCheckpoint?.(it);
    const seconds = elapsed();
    o.onProgress?.({
      iteration: it,
      total: o.iterations,
      seconds,
      iterationsPerSecond: (it - startIteration) / seconds,
      last: log[log.length - 1] ?? null,
    });
  }
  return { interrupted, iterations: fitter.iteration, seconds: elapsed(), log, phases };
}
