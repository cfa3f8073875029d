/**
 * The video side of the worker (part 1): import a clip, decompose it into layered atlases, show it. The import
 * (state `importing`) can be stopped and never replaces the clip the user had unless it succeeds. The decomposition
 * (`preparing` while the frames, flows and fitter are set up, then `decomposing`) runs one iteration at a time with
 * the user's pause and stop between them, reports its figures at most every half second, sends a preview (a frame,
 * its alpha and both atlases) at most every second and never more than a fifth of the time, and keeps a checkpoint
 * (the atlas file's bytes) every 250 iterations or 60 s: a lost device is replaced and the fit continues from it.
 */
import type { RgbaImage } from '../edit/jobTypes';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { readAtlasInfo } from '../video/atlas/atlasFile';
import type { ClipImportOptions } from '../video/media/importOptions';
import { VideoImportError } from '../video/media/importError';
import type { VideoClip } from '../video/media/videoClip';
import type { AtlasRun, AtlasRunFactory, AtlasViews, DecomposeOptions } from './atlasRun';
import type { ClipInput, DecomposeCommand, ImportClipCommand } from './protocol';
import type { RunState } from './runState';
import { errorMessage, type WorkerContext } from './workerContext';

const PROGRESS_MS = 500;
const PREVIEW_MS = 1000;
const PREVIEW_TIME_SHARE = 0.2;
const CHECKPOINT_ITERATIONS = 250;
const CHECKPOINT_SECONDS = 60;
/** Frames in the strip the page shows after an import. */
const STRIP_FRAMES = 8;
/** The strip's frame height in px. */
const STRIP_HEIGHT = 72;

/** How the worker imports a clip (the browser's decoders; a fake in tests). */
export type ClipImporter = (
  input: ClipInput,
  options: ClipImportOptions,
  onProgress: (done: number, total: number) => void,
  signal: AbortSignal,
) => Promise<VideoClip>;

/** A small copy of a frame for the strip (nearest sampling is enough for a thumbnail). */
function thumbnail(img: RgbaImage, height: number): RgbaImage {
  const h = Math.min(height, img.height);
  const w = Math.max(1, Math.round((img.width * h) / img.height));
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      data.set(img.data.subarray(4 * (sy * img.width + sx), 4 * (sy * img.width + sx) + 4), 4 * (y * w + x));
    }
  }
  return { width: w, height: h, data };
}

export class ClipWork {
  private clip: VideoClip | null = null;
  private run: AtlasRun | null = null;
  private options: DecomposeOptions | null = null;
  private checkpoint: { bytes: Uint8Array; iteration: number; at: number } | null = null;
  private importAbort: AbortController | null = null;
  private running = false;
  private settingUp = false;
  private frame = 0;
  private lastProgressAt = 0;
  private lastPreviewAt = 0;
  private previewMs = 0;
  private workMs = 0;
  private startedAt = 0;
  private iterationTimes: number[] = [];

  constructor(
    private readonly ctx: WorkerContext,
    private readonly importer: ClipImporter,
    private readonly factory: AtlasRunFactory,
  ) {}

  /** A decomposition loop or its setup is going on. */
  get active(): boolean {
    return this.running || this.settingUp || this.importAbort !== null;
  }

  get hasRun(): boolean {
    return this.run !== null;
  }

  /** The imported clip (null before the first import). */
  get loadedClip(): VideoClip | null {
    return this.clip;
  }

  /** Whether the clip's decomposition has a foreground layer; null when the clip is not decomposed. */
  get hasForeground(): boolean | null {
    return this.run ? !this.run.backgroundOnly : null;
  }

  /** The state a clip that is not being worked on is in: decomposed (done / stopped part way) or not yet (idle). */
  restingState(): RunState {
    if (!this.run) return 'idle';
    return this.run.iteration >= this.run.iterations ? 'done' : 'stopped';
  }

  // ------------------------------------------------------------------------------------------------ import

  async importClip(cmd: ImportClipCommand, back: RunState): Promise<boolean> {
    const abort = new AbortController();
    this.importAbort = abort;
    this.ctx.machine.to('importing');
    try {
      const clip = await this.importer(
        cmd.input,
        cmd.options,
        (done, total) => this.ctx.post({ type: 'clipProgress', done, total }),
        abort.signal,
      );
      if (abort.signal.aborted) throw new VideoImportError('cancelled', 'the clip', 'The import was stopped.');
      this.disposeRun();
      this.clip = clip;
      this.frame = 0;
      const picks = Array.from({ length: Math.min(STRIP_FRAMES, clip.frames.length) }, (_, i) =>
        Math.round((i * (clip.frames.length - 1)) / Math.max(1, Math.min(STRIP_FRAMES, clip.frames.length) - 1)),
      );
      const strip = await Promise.all(
        picks.map((t) => this.ctx.platform.toBitmap(thumbnail(clip.frames[t], STRIP_HEIGHT))),
      );
      this.ctx.post({
        type: 'clipImported',
        clip: {
          name: clip.sourceName,
          width: clip.width,
          height: clip.height,
          frames: clip.frames.length,
          frameRate: clip.frameRate,
          sourceFrameCount: clip.sourceFrameCount,
          frameIndices: clip.frameIndices,
          hasMasks: clip.masks !== null,
        },
        strip,
        stripFrames: picks,
      });
      this.ctx.machine.to('idle');
      return true;
    } catch (e) {
      if (e instanceof VideoImportError && e.kind === 'cancelled') {
        this.ctx.post({ type: 'clipCancelled' });
      } else {
        this.ctx.post({
          type: 'error',
          kind: 'video',
          message: errorMessage(e),
          recoverable: true,
          command: 'importClip',
          importKind: e instanceof VideoImportError ? e.kind : undefined,
          suggestedTrims: e instanceof VideoImportError ? e.suggestedTrims : undefined,
          sourceFrameCount: e instanceof VideoImportError ? e.sourceFrameCount : undefined,
        });
      }
      this.ctx.machine.to(back);
      return false;
    } finally {
      this.importAbort = null;
    }
  }

  /** A stop during the import: the decoder is cancelled, the clip from before stays. */
  cancelImport(): boolean {
    if (!this.importAbort) return false;
    this.importAbort.abort();
    return true;
  }

  // ------------------------------------------------------------------------------------------------ decompose

  async decompose(cmd: DecomposeCommand): Promise<void> {
    const { ctx } = this;
    const clip = this.clip;
    if (!clip) {
      ctx.fail('video', 'Add a clip first.', { command: 'decompose' });
      return;
    }
    this.options = { iterations: cmd.iterations, backgroundOnly: cmd.backgroundOnly === true, seed: cmd.seed ?? 0 };
    ctx.requests.reset();
    this.settingUp = true;
    const before = this.restingState();
    this.disposeRun();
    this.checkpoint = null;
    ctx.machine.to('preparing');
    try {
      await ctx.serial(async () => {
        ctx.busy('device', 'Opening the GPU…');
        const engine = await ctx.device.open();
        ctx.busy('job', 'Computing the optical flow of every frame pair and setting up the atlases…');
        this.run = await ctx.device.watch(this.factory.prepare(engine, clip, this.options!));
      });
      ctx.post({ type: 'atlasLayers', ...this.run!.layers });
      await this.saveCheckpoint();
      await this.sendViews();
    } catch (e) {
      this.settingUp = false;
      this.disposeRun();
      await this.failed(e, 'decompose', before === 'idle' ? 'idle' : 'idle');
      return;
    }
    this.settingUp = false;
    if (ctx.requests.stop) {
      // Stopped during its setup: nothing decomposed yet.
      this.disposeRun();
      ctx.machine.to('idle');
      return;
    }
    if (ctx.machine.is('preparing')) ctx.machine.to('decomposing');
    await this.loop();
  }

  /** Continue a stopped decomposition. */
  continue(): void {
    if (!this.run || this.running) return;
    this.ctx.requests.reset();
    this.ctx.machine.to('decomposing');
    void this.loop();
  }

  private async loop(): Promise<void> {
    const { ctx } = this;
    this.running = true;
    this.startedAt = performance.now();
    this.iterationTimes = [];
    try {
      while (this.run && this.run.iteration < this.run.iterations) {
        if (ctx.device.lost) {
          ctx.machine.to('recovering');
          if (!(await this.recover())) {
            ctx.machine.to('failed');
            return;
          }
          ctx.machine.to(ctx.requests.stop ? 'stopping' : ctx.requests.pause ? 'pausing' : 'decomposing');
          continue;
        }
        if (ctx.requests.stop) break;
        try {
          if (ctx.requests.pause) await this.pauseHere();
          else await this.iterate();
        } catch (e) {
          if (await ctx.isDeviceFailure(e)) continue;
          await this.failed(e, 'decompose', 'stopped');
          return;
        }
      }
      try {
        await this.sendProgress(true);
        await this.saveCheckpoint(true);
        await this.sendViews();
      } catch (e) {
        if (!(await ctx.isDeviceFailure(e))) ctx.fail('internal', errorMessage(e), { command: 'decompose' });
      }
      ctx.machine.to(this.restingState());
    } finally {
      this.running = false;
    }
  }

  private async iterate(): Promise<void> {
    const run = this.run!;
    const t0 = performance.now();
    await this.ctx.gpu(() => run.step());
    const ms = performance.now() - t0;
    this.workMs += ms;
    this.iterationTimes.push(ms);
    if (this.iterationTimes.length > 50) this.iterationTimes.shift();
    const now = performance.now();
    if (now - this.lastProgressAt >= PROGRESS_MS) await this.sendProgress();
    const cp = this.checkpoint;
    if (!cp || run.iteration - cp.iteration >= CHECKPOINT_ITERATIONS || (now - cp.at) / 1000 >= CHECKPOINT_SECONDS) {
      await this.saveCheckpoint();
    }
    if (now - this.lastPreviewAt >= PREVIEW_MS && this.previewMs <= PREVIEW_TIME_SHARE * (this.workMs + 1)) {
      await this.sendViews();
    }
  }

  private async pauseHere(): Promise<void> {
    const { ctx } = this;
    await this.sendProgress(true);
    await this.saveCheckpoint(true);
    await this.sendViews();
    ctx.machine.to('paused');
    while (ctx.requests.pause && !ctx.requests.stop && !ctx.device.lost) await ctx.requests.wait();
    if (ctx.requests.stop) ctx.machine.to('stopping');
    else if (!ctx.device.lost) ctx.machine.to('decomposing');
  }

  private async sendProgress(force = false): Promise<void> {
    const run = this.run;
    if (!run) return;
    const now = performance.now();
    if (!force && now - this.lastProgressAt < PROGRESS_MS) return;
    this.lastProgressAt = now;
    const log = await this.ctx.gpu(() => run.log());
    // The first iterations compile kernels: the time left comes from the recent ones.
    const recent = this.iterationTimes.slice(Math.min(2, this.iterationTimes.length - 1));
    const perIteration = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length / 1000 : null;
    this.ctx.post({
      type: 'atlasProgress',
      iteration: run.iteration,
      iterations: run.iterations,
      psnr: log.psnr,
      terms: log.terms,
      secondsPerIteration: perIteration,
      etaSeconds: perIteration === null ? null : perIteration * (run.iterations - run.iteration),
      elapsedSeconds: (now - this.startedAt) / 1000,
    });
  }

  private async saveCheckpoint(force = false): Promise<void> {
    const run = this.run;
    if (!run) return;
    if (!force && this.checkpoint?.iteration === run.iteration) return;
    if (this.checkpoint?.iteration === run.iteration) return;
    const bytes = await this.ctx.gpu(() => run.save());
    this.checkpoint = { bytes, iteration: run.iteration, at: performance.now() };
  }

  /** The selected frame's views (on a page request, and on the preview cadence). */
  async sendViews(): Promise<void> {
    const run = this.run;
    if (!run || !this.clip) return;
    const t0 = performance.now();
    const frame = Math.min(this.frame, this.clip.frames.length - 1);
    const views: AtlasViews = await this.ctx.gpu(() => run.views(frame));
    const bitmap = (img: RgbaImage | null) => (img ? this.ctx.platform.toBitmap(img) : Promise.resolve(null));
    const [reconstruction, alpha, background, foreground, input] = await Promise.all([
      bitmap(views.reconstruction),
      bitmap(views.alpha),
      bitmap(views.background),
      bitmap(views.foreground),
      bitmap(this.clip.frames[frame]),
    ]);
    this.previewMs = performance.now() - t0;
    this.lastPreviewAt = performance.now();
    this.workMs = 0;
    this.ctx.post({
      type: 'atlasPreview',
      iteration: run.iteration,
      frame,
      images: { reconstruction: reconstruction!, alpha, background: background!, foreground, input: input! },
    });
  }

  /** The page shows another frame. */
  async showFrame(frame: number): Promise<void> {
    if (!this.clip) return;
    this.frame = Math.max(0, Math.min(this.clip.frames.length - 1, Math.round(frame)));
    // While the loop runs its next preview shows it; otherwise render it now.
    if (!this.running && this.run) await this.sendViews();
  }

  /**
   * A decomposition saved before, for the clip that is loaded. The file is checked (format, settings, the clip's size
   * and frame count) before anything is replaced; the decomposition from before stays when it does not fit.
   */
  async openAtlas(bytes: Uint8Array, back: RunState): Promise<boolean> {
    const { ctx } = this;
    const clip = this.clip;
    if (!clip) {
      ctx.fail('video', 'Add the clip the decomposition was made from first, then open it.', { command: 'openAtlas' });
      return false;
    }
    let info;
    try {
      info = readAtlasInfo(bytes);
    } catch (e) {
      ctx.fail('video', errorMessage(e), { command: 'openAtlas' });
      return false;
    }
    const g = info.geometry;
    if (g.width !== clip.width || g.height !== clip.height || g.frames !== clip.frames.length) {
      ctx.fail(
        'video',
        `This decomposition is of a ${g.width}×${g.height} px clip of ${g.frames} frames; the clip loaded is ` +
          `${clip.width}×${clip.height} px with ${clip.frames.length} frames. Import the clip with the same trim and size.`,
        { command: 'openAtlas' },
      );
      return false;
    }
    const options = {
      iterations: info.config.iterations,
      backgroundOnly: info.config.backgroundOnly,
      seed: info.config.seed,
    };
    this.settingUp = true;
    ctx.machine.to('preparing');
    try {
      let run: AtlasRun | null = null;
      await ctx.serial(async () => {
        const engine = await ctx.device.open();
        ctx.busy('restore', 'Opening the decomposition…');
        run = await ctx.device.watch(this.factory.restore(engine, clip, bytes, options));
      });
      this.disposeRun();
      this.run = run;
      this.options = options;
      this.checkpoint = { bytes, iteration: info.iterations, at: performance.now() };
      await this.sendProgress(true);
      await this.sendViews();
      ctx.machine.to(this.restingState());
      ctx.post({ type: 'atlasOpened', iteration: info.iterations });
      return true;
    } catch (e) {
      ctx.fail('video', `The decomposition could not be opened: ${errorMessage(e)}`, { command: 'openAtlas' });
      ctx.machine.to(back);
      return false;
    } finally {
      this.settingUp = false;
    }
  }

  /** The decomposition's file (atlas.safetensors), for the page's download. */
  async exportAtlas(): Promise<Uint8Array | null> {
    if (!this.run) return null;
    if (!this.running) await this.saveCheckpoint(true);
    return this.checkpoint?.bytes ?? null;
  }

  // ------------------------------------------------------------------------------------------------ failures

  /** A new device; the fit continues from its last checkpoint. */
  async recover(): Promise<boolean> {
    const { ctx } = this;
    const cp = this.checkpoint;
    const clip = this.clip;
    const options = this.options;
    const lost = ctx.device.lost;
    ctx.post({ type: 'deviceLost', message: lost?.message ?? 'unknown', fromStep: cp?.iteration ?? 0 });
    this.run = null; // its buffers died with the device
    if (!cp || !clip || !options) return false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await ctx.serial(async () => {
          const engine = await ctx.device.open();
          ctx.busy('restore', `Continuing on a new GPU device from iteration ${cp.iteration}…`);
          this.run = await ctx.device.watch(this.factory.restore(engine, clip, cp.bytes, options));
        });
        ctx.post({ type: 'recovered', step: cp.iteration, lostSteps: 0 });
        return true;
      } catch {
        this.run = null;
        await ctx.sleep(500 * (attempt + 1));
      }
    }
    ctx.fail('device-lost', 'The GPU device was lost and could not be replaced.', {
      recoverable: false,
      hint: 'Reload the page; the decomposition you downloaded can be used again.',
    });
    return false;
  }

  /** A loss while no decomposition runs: restore at once so the views and the download keep working. */
  async recoverIdle(): Promise<void> {
    if (!this.run && !this.checkpoint) return;
    const back = this.restingState();
    this.ctx.machine.to('recovering');
    this.ctx.machine.to((await this.recover()) ? back : 'failed');
  }

  /**
   * The decomposition failed for another reason than a lost device: out of memory replaces the device and keeps
   * the last checkpoint (stopped there); anything else is reported and the fit stops where it is.
   */
  private async failed(e: unknown, command: 'decompose', fallback: RunState): Promise<void> {
    const { ctx } = this;
    if (e instanceof GpuOutOfMemoryError) {
      const clip = this.clip;
      ctx.fail('out-of-memory', e.message, {
        command,
        hint:
          `Decomposing this ${clip ? `${clip.width}×${clip.height} px, ${clip.frames.length}-frame ` : ''}clip needs ` +
          'more GPU memory than this device has. Import it at a smaller size or with fewer frames, then decompose ' +
          'again. The clip is kept.',
      });
      this.disposeRun();
      ctx.device.retire();
      if (!ctx.machine.is('recovering')) ctx.machine.to('recovering');
      if (this.checkpoint && (await this.recover())) ctx.machine.to(this.restingState());
      else {
        this.checkpoint = null;
        ctx.machine.to('idle');
      }
      return;
    }
    console.error(e);
    ctx.fail('internal', errorMessage(e), { command });
    ctx.machine.to(this.run ? 'stopped' : fallback);
  }

  private disposeRun(): void {
    try {
      this.run?.dispose();
    } catch {
      // A run of a lost device has nothing left to free.
    }
    this.run = null;
  }
}
