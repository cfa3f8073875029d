/**
 * The edit worker: owns the GPU device, the engine, the CLIP model and the edit job, and runs the training loop
 * (one `EditJob.step()` at a time, with pause / resume / stop between steps). The page talks to it only through
 * `protocol.ts`.
 *
 * - Previews: at most ~2 per second, and never more than a fifth of the training time; rendered on the GPU, read
 *   back once, and sent as transferred ImageBitmaps.
 * - Checkpoints: the session (settings + generator + optimizer state) is kept in memory every few steps and
 *   whenever training pauses or stops. A lost device (driver reset, `simulateDeviceLoss`) is replaced by a new one
 *   and the job continues from the last checkpoint; the model stays loaded (the vision weights are kept on the CPU).
 * - Out of GPU memory: an `error` event that suggests a lower quality level (a smaller working size). The device is
 *   replaced, because its buffer pool may now hold buffers the device refused, and the edit the user had is kept:
 *   the previous one when a new run or session failed before making progress, else the current one from its last
 *   checkpoint (`kept`). The model, photo and prompts stay.
 * - Downloads: PNGs encoded here with OffscreenCanvas.convertToBlob, so the page never blocks.
 */
/// <reference lib="webworker" />
import * as ort from 'onnxruntime-web';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { DEFAULT_MODEL_ID, modelFileList, type Precision } from '../clip/modelFiles';
import {
  ModelLoadError,
  ModelManager,
  type ClipModelFiles,
  type LoadedFrom,
  type ModelSource,
} from '../clip/modelManager';
import { parseOnnx } from '../clip/onnx';
import { ClipTextEncoder } from '../clip/textEncoder';
import { ClipVisionTower } from '../clip/vision';
import { extractVisionWeights, visionConfigFromJson, type VisionWeights } from '../clip/visionWeights';
import { ConfigError, validateConfig, type EditConfig } from '../edit/config';
import { EditJob } from '../edit/job';
import { RENDER_KINDS, type EditRenders, type RenderKind, type RgbaImage } from '../edit/jobTypes';
import { acquireDevice, NoWebGpuError, type GpuContext } from '../gpu/device';
import { Engine } from '../gpu/engine';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import { DeviceMemoryLimit } from './memoryLimit';
import {
  exportFilename,
  imagePixels,
  transferablesOf,
  type AppQuality,
  type BusyPhase,
  type EditCommand,
  type EditEvent,
  type ErrorKind,
  type ExportKind,
  type InitCommand,
  type OpenSessionCommand,
  type StartCommand,
} from './protocol';
import { fullResolutionExport, qualityLabel } from '../edit/qualityLevels';
import { SessionFileError, unwrapSession, wrapSession } from './sessionFile';

declare const self: DedicatedWorkerGlobalScope;

/** Minimum time between previews, and the largest share of the time previews may take. */
const PREVIEW_INTERVAL_MS = 500;
const PREVIEW_TIME_SHARE = 0.2;
/** How long a failed GPU operation waits for `device.lost` before it counts as an ordinary error. */
const LOSS_GRACE_MS = 2000;
/** A checkpoint every this many steps or seconds, whichever comes first. */
const CHECKPOINT_STEPS = 50;
const CHECKPOINT_SECONDS = 60;
/** Progress events for the model download, at most this often. */
const MODEL_PROGRESS_MS = 100;

// onnxruntime-web (the text tower) loads its WASM from our own build, never from a CDN.
ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };

function post(event: EditEvent): void {
  self.postMessage(event, transferablesOf(event));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function fail(
  kind: ErrorKind,
  text: string,
  opts: { recoverable?: boolean; hint?: string; command?: EditCommand['type'] } = {},
): void {
  post({
    type: 'error',
    kind,
    message: text,
    recoverable: opts.recoverable ?? true,
    hint: opts.hint,
    command: opts.command,
  });
}

function busy(phase: BusyPhase, text: string): void {
  post({ type: 'busy', phase, message: text });
}

const isDeviceLoss = (e: unknown): boolean => e instanceof DeviceLostError;

/** One GPU operation at a time (steps, renders, checkpoints, restores never interleave on the engine). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

interface LoadedModel {
  key: string;
  modelId: string;
  precision: Precision;
  /** Includes the architecture (`visionWeights.config`) the page prices its time estimates with. */
  visionWeights: VisionWeights;
  text: ClipTextEncoder;
  cached: boolean;
  sources: LoadedFrom[];
}

interface Checkpoint {
  bytes: Uint8Array;
  step: number;
  at: number;
}

interface JobInput {
  image: RgbaImage;
  quality: AppQuality;
}

/** An edit that can be brought back after running out of memory: its checkpoint and its photo. */
interface KeptEdit {
  checkpoint: Checkpoint;
  input: JobInput;
  /** It is the edit from before the failed command (the page restores its own record of it). */
  previous: boolean;
}

class EditWorker {
  private debug = false;
  private ctx: GpuContext | null = null;
  private engine: Engine | null = null;
  private tower: ClipVisionTower | null = null;
  /** The device we destroyed on purpose (its `lost` is not a loss). */
  private retired = new WeakSet<GPUDevice>();
  private lost: DeviceLostError | null = null;
  private model: LoadedModel | null = null;
  private modelLoading: Promise<LoadedModel | null> | null = null;
  private job: EditJob | null = null;
  private input: JobInput | null = null;
  private checkpoint: Checkpoint | null = null;
  /** The edit before the current run, until that run has a checkpoint of its own past step 0. */
  private fallback: Omit<KeptEdit, 'previous'> | null = null;
  /** Bringing an edit back after running out of memory; commands that use the job wait for it. */
  private keeping: Promise<void> | null = null;
  /** Test hook: the simulated memory limit, applied to every device this worker opens (`?debug=1` only). */
  private memoryLimitBytes: number | null = null;
  private memory: DeviceMemoryLimit | null = null;
  private readonly gpu = new Serial();

  // Run state
  private running = false;
  /** Between a start command and its run loop (job creation, first preview). */
  private starting = false;
  private paused = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private lastPreviewAt = 0;
  private lastPreviewMs = 0;
  private trainMsSincePreview = 0;
  private stepTimes: number[] = [];
  private firstStepMs: number | null = null;
  private runStartedAt = 0;
  private elapsedBefore = 0;

  async handle(cmd: EditCommand): Promise<void> {
    if (this.keeping && !['pause', 'stop', 'simulateDeviceLoss', 'simulateMemoryLimit'].includes(cmd.type)) {
      await this.keeping;
    }
    switch (cmd.type) {
      case 'init':
        await this.init(cmd);
        return;
      case 'start':
        await this.start(cmd);
        return;
      case 'pause':
        if (this.job && !this.paused) this.paused = true;
        return;
      case 'resume':
        this.resume();
        return;
      case 'stop':
        this.stop();
        return;
      case 'export':
        await this.export(cmd.kind);
        return;
      case 'openSession':
        await this.openSession(cmd);
        return;
      case 'simulateDeviceLoss':
        if (!this.debug) {
          fail('internal', 'simulateDeviceLoss is a test hook; open the page with ?debug=1 to use it.', {
            command: cmd.type,
          });
          return;
        }
        this.ctx?.device.destroy();
        return;
      case 'simulateMemoryLimit':
        if (!this.debug) {
          fail('internal', 'simulateMemoryLimit is a test hook; open the page with ?debug=1 to use it.', {
            command: cmd.type,
          });
          return;
        }
        this.memoryLimitBytes = cmd.bytes;
        this.memory?.setLimit(cmd.bytes);
        this.postMemoryLimit();
        return;
      case 'clearModelCache':
        await new ModelManager({
          sources: [{ type: 'self-hosted', baseUrl: cmd.baseUrl }, { type: 'hub' }],
        }).clearCache(cmd.modelId);
        post({ type: 'modelCacheCleared' });
        return;
    }
  }

  // ------------------------------------------------------------------------------------------------ device

  private async ensureDevice(): Promise<Engine> {
    if (this.engine && !this.lost) return this.engine;
    busy('device', 'Opening the GPU…');
    const ctx = await acquireDevice(navigator.gpu);
    this.ctx = ctx;
    this.lost = null;
    // Before the engine exists, so that every buffer it allocates is counted.
    this.memory = this.debug ? new DeviceMemoryLimit(ctx.device, this.memoryLimitBytes) : null;
    this.engine = new Engine(ctx);
    this.tower = null;
    void ctx.lost.then((e) => {
      if (this.retired.has(ctx.device) || this.ctx !== ctx) return;
      this.lost = e;
      this.wake?.(); // a paused loop notices at once
      if (!this.running && !this.starting) void this.recoverIdle();
    });
    post({ type: 'adapter', summary: ctx.summary });
    return this.engine;
  }

  private ensureTower(engine: Engine): ClipVisionTower {
    if (!this.model) throw new Error('The CLIP model is not loaded.');
    if (!this.tower || this.tower.engine !== engine) {
      this.tower = new ClipVisionTower(engine, this.model.visionWeights);
    }
    return this.tower;
  }

  /** Whether the device is (or within `ms` turns out to be) lost: an error may arrive before `device.lost` does. */
  private async lostWithin(ms: number): Promise<boolean> {
    if (this.lost) return true;
    const ctx = this.ctx;
    if (!ctx) return false;
    const lost = await Promise.race([
      ctx.lost.then(() => !this.retired.has(ctx.device)),
      new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
    ]);
    return lost || this.lost !== null;
  }

  /** Rejects as soon as the device is lost, whatever `p` is waiting for. */
  private watchLoss<T>(p: Promise<T>): Promise<T> {
    const ctx = this.ctx;
    if (!ctx) return p;
    const lost = ctx.lost.then((e) => {
      if (this.retired.has(ctx.device)) return new Promise<never>(() => undefined);
      throw e;
    });
    return Promise.race([p, lost]);
  }

  // ------------------------------------------------------------------------------------------------ model

  private async init(cmd: InitCommand): Promise<void> {
    this.debug = cmd.debug === true;
    try {
      await this.ensureDevice();
    } catch (e) {
      this.deviceError(e, 'init');
      return;
    }
    const picked = cmd.pickedFiles?.length ? cmd.pickedFiles : null;
    const key = JSON.stringify([cmd.modelId, cmd.precision, cmd.baseUrl, picked?.map((f) => [f.path, f.file.size])]);
    if (this.model?.key === key) {
      postModelReady(this.model);
      return;
    }
    if (this.modelLoading) await this.modelLoading;
    if (this.model?.key === key) {
      postModelReady(this.model);
      return;
    }
    this.modelLoading = this.loadModel(cmd, key, picked);
    try {
      await this.modelLoading;
    } finally {
      this.modelLoading = null;
    }
  }

  private async loadModel(
    cmd: InitCommand,
    key: string,
    picked: InitCommand['pickedFiles'] | null,
  ): Promise<LoadedModel | null> {
    const sources: ModelSource[] = [];
    if (!picked || cmd.useNetwork) {
      sources.push({ type: 'self-hosted', baseUrl: cmd.baseUrl }, { type: 'hub' });
    }
    if (picked) sources.push({ type: 'files', files: picked.map((f) => ({ path: f.path, file: f.file })) });
    const manager = new ModelManager({ sources });
    const specs = modelFileList(cmd.precision);
    const estimate = cmd.modelId === DEFAULT_MODEL_ID;
    const perFile = new Map<string, { loaded: number; total: number | null }>();
    let lastPost = 0;
    busy('model', 'Loading the CLIP model…');
    let files: ClipModelFiles;
    try {
      files = await manager.load({
        modelId: cmd.modelId,
        precision: cmd.precision,
        onProgress: (ev) => {
          perFile.set(ev.file, { loaded: ev.loaded, total: ev.total });
          const now = performance.now();
          const fileDone = ev.total !== null && ev.loaded >= ev.total;
          if (now - lastPost < MODEL_PROGRESS_MS && !fileDone) return;
          lastPost = now;
          let loaded = 0;
          let total = 0;
          for (const s of specs) {
            const p = perFile.get(s.path);
            loaded += p?.loaded ?? 0;
            total += p ? (p.total ?? p.loaded) : estimate ? s.approxBytes : 0;
          }
          post({
            type: 'modelProgress',
            file: ev.file,
            source: ev.source,
            loaded,
            total: Math.max(total, loaded),
            percent: total > 0 ? Math.min(100, (100 * loaded) / total) : 0,
            fileLoaded: ev.loaded,
            fileTotal: ev.total,
          });
        },
      });
    } catch (e) {
      const hint =
        e instanceof ModelLoadError && e.kind !== 'cancelled'
          ? 'Check your connection and try again, or use model files from disk.'
          : undefined;
      fail('model', message(e), { hint, command: 'init' });
      return null;
    }
    try {
      busy('clip', 'Preparing CLIP…');
      const config = visionConfigFromJson(files.config);
      const visionWeights = extractVisionWeights(parseOnnx(files.visionModel!), config);
      const old = this.model;
      const text = await ClipTextEncoder.fromModelFiles(files);
      const sourcesUsed = Object.values(files.sources) as LoadedFrom[];
      const model: LoadedModel = {
        key,
        modelId: cmd.modelId,
        precision: cmd.precision,
        visionWeights,
        text,
        cached: sourcesUsed.length > 0 && sourcesUsed.every((s) => s === 'cache'),
        sources: sourcesUsed,
      };
      this.model = model;
      this.tower = null;
      if (old) void old.text.dispose();
      postModelReady(model);
      return model;
    } catch (e) {
      fail('model', `The model files loaded but could not be used: ${message(e)}`, {
        hint: 'Use the files of a CLIP ViT model in the transformers.js layout (fp32 or fp16 vision file).',
        command: 'init',
      });
      return null;
    }
  }

  // ------------------------------------------------------------------------------------------------ job

  private async start(cmd: StartCommand): Promise<void> {
    if (this.running) {
      fail('internal', 'An edit is already running; stop it first.', { command: 'start' });
      return;
    }
    if (this.modelLoading) await this.modelLoading;
    if (!this.model) {
      fail('model', 'The CLIP model is not loaded yet.', { command: 'start', hint: 'Load the model and try again.' });
      return;
    }
    let config: EditConfig;
    try {
      config = validateConfig(cmd.config, { requirePrompts: true });
    } catch (e) {
      fail(e instanceof ConfigError ? 'image' : 'internal', message(e), { command: 'start' });
      return;
    }
    let image: RgbaImage;
    try {
      image = imagePixels(cmd.image);
    } catch (e) {
      fail('image', `The photo could not be read: ${message(e)}`, { command: 'start' });
      return;
    }
    if (!(image.width > 0 && image.height > 0) || image.data.length !== image.width * image.height * 4) {
      fail('image', 'The photo has no pixels.', { command: 'start' });
      return;
    }
    // The edit so far stays on the CPU (its checkpoint) until the new run has progress of its own: running out of
    // memory brings it back.
    this.fallback = this.checkpoint && this.input ? { checkpoint: this.checkpoint, input: this.input } : null;
    this.disposeJob();
    this.input = { image, quality: cmd.quality };
    this.checkpoint = null;
    this.paused = false;
    this.stopRequested = false;
    this.starting = true;
    try {
      await this.gpu.run(async () => {
        const engine = await this.ensureDevice();
        busy('prompts', 'Encoding the prompts and setting up the generator…');
        this.job = await this.watchLoss(
          EditJob.create({
            engine,
            vision: this.ensureTower(engine),
            text: this.model!.text,
            image,
            config,
            maxRenderSide: renderSideLimit(engine, image, config),
          }),
        );
        await this.saveCheckpoint();
      });
      // The untrained layer right away: the page shows something before the (slow) first step.
      this.announceStart(true);
      await this.gpu.run(() => this.watchLoss(this.renderPreview()));
    } catch (e) {
      const lost = !(e instanceof GpuOutOfMemoryError) && (isDeviceLoss(e) || (await this.lostWithin(LOSS_GRACE_MS)));
      if (!(lost && this.job && this.checkpoint)) {
        this.starting = false;
        this.disposeJob();
        await this.jobError(e, 'start');
        return;
      }
      // The job exists and is checkpointed: the run loop replaces the device and continues.
      this.lost ??= e instanceof DeviceLostError ? e : new DeviceLostError(message(e));
    }
    this.starting = false;
    this.elapsedBefore = 0;
    void this.runLoop();
  }

  private announceStart(running: boolean): void {
    const job = this.job!;
    post({
      type: 'started',
      totalSteps: job.totalSteps,
      step: job.stepsDone,
      workingSize: job.workingSize,
      seed: job.config.seed,
      config: job.config,
      quality: this.input!.quality,
      fullResolutionExport: fullResolutionExport(this.input!.quality),
      running,
    });
  }

  private resume(): void {
    if (this.running) {
      if (this.paused) {
        this.paused = false;
        this.wake?.();
      }
      return;
    }
    // Not running: continue a stopped (or restored) job.
    if (this.job && this.job.stepsDone < this.job.totalSteps) {
      this.paused = false;
      this.stopRequested = false;
      post({ type: 'resumed', step: this.job.stepsDone });
      void this.runLoop();
    } else if (this.job) {
      post({ type: 'done', step: this.job.stepsDone });
    }
  }

  private stop(): void {
    if (!this.running && !this.job) return;
    this.stopRequested = true;
    this.paused = false;
    this.wake?.();
  }

  private async runLoop(): Promise<void> {
    if (this.running || !this.job) return;
    this.running = true;
    this.stepTimes = [];
    this.firstStepMs = null;
    this.runStartedAt = performance.now();
    this.lastPreviewAt = 0;
    this.trainMsSincePreview = 0;
    let outcome: 'done' | 'stopped' | 'failed' = 'done';
    let failure: unknown = null;
    while (this.job && this.job.stepsDone < this.job.totalSteps) {
      if (this.lost) {
        if (!(await this.recover())) {
          outcome = 'failed';
          break;
        }
        continue;
      }
      if (this.stopRequested) {
        outcome = 'stopped';
        break;
      }
      if (this.paused) {
        await this.pauseHere();
        continue;
      }
      try {
        await this.oneStep();
      } catch (e) {
        // A destroyed device fails pending reads (mapAsync AbortError) before `device.lost` resolves.
        const oom = e instanceof GpuOutOfMemoryError;
        if (!oom && (isDeviceLoss(e) || (await this.lostWithin(LOSS_GRACE_MS)))) {
          this.lost ??= e instanceof DeviceLostError ? e : new DeviceLostError(message(e));
          continue;
        }
        failure = e;
        outcome = 'failed';
        break;
      }
    }
    this.elapsedBefore += (performance.now() - this.runStartedAt) / 1000;
    this.running = false;
    // Reported once the loop is over, so that the edit kept after running out of memory can be used at once.
    if (failure !== null) await this.jobError(failure, 'start');
    if (outcome === 'failed' || !this.job) return;
    const step = this.job.stepsDone;
    try {
      await this.gpu.run(async () => {
        await this.renderPreview();
        await this.saveCheckpoint();
      });
    } catch (e) {
      if (!isDeviceLoss(e)) await this.jobError(e, 'start');
    }
    post({ type: outcome, step });
  }

  private async pauseHere(): Promise<void> {
    const job = this.job!;
    try {
      await this.gpu.run(async () => {
        await this.renderPreview();
        await this.saveCheckpoint();
      });
    } catch (e) {
      if (!isDeviceLoss(e)) throw e;
    }
    post({ type: 'paused', step: job.stepsDone });
    const pausedAt = performance.now();
    while (this.paused && !this.stopRequested && !this.lost) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    this.runStartedAt += performance.now() - pausedAt; // paused time is not training time
    if (!this.stopRequested && !this.lost) post({ type: 'resumed', step: job.stepsDone });
  }

  private async oneStep(): Promise<void> {
    const job = this.job!;
    const t0 = performance.now();
    const report = await this.gpu.run(() => this.watchLoss(job.step()));
    const ms = performance.now() - t0;
    this.trainMsSincePreview += ms;
    // The first step of a run compiles the kernels: it sets the speed only until later steps exist.
    if (this.firstStepMs === null) this.firstStepMs = ms;
    else {
      this.stepTimes.push(ms);
      if (this.stepTimes.length > 20) this.stepTimes.shift();
    }
    const recent = this.stepTimes.length > 0 ? this.stepTimes : [this.firstStepMs];
    const meanMs = recent.reduce((a, b) => a + b, 0) / recent.length;
    const stepsPerSecond = meanMs > 0 ? 1000 / meanMs : 0;
    const remaining = job.totalSteps - job.stepsDone;
    post({
      type: 'progress',
      report,
      stepsPerSecond,
      etaSeconds: stepsPerSecond > 0 && this.stepTimes.length > 0 ? remaining / stepsPerSecond : null,
      elapsedSeconds: this.elapsedBefore + (performance.now() - this.runStartedAt) / 1000,
    });
    const now = performance.now();
    const cp = this.checkpoint;
    const cpEvery = this.input?.quality === 'tiny' ? 2 : CHECKPOINT_STEPS;
    if (!cp || job.stepsDone - cp.step >= cpEvery || (now - cp.at) / 1000 >= CHECKPOINT_SECONDS) {
      await this.gpu.run(() => this.watchLoss(this.saveCheckpoint()));
    }
    const sinceLast = now - this.lastPreviewAt;
    const previewDue =
      sinceLast >= PREVIEW_INTERVAL_MS && this.lastPreviewMs <= PREVIEW_TIME_SHARE * (this.trainMsSincePreview + 1);
    if (previewDue && job.stepsDone < job.totalSteps) {
      await this.gpu.run(() => this.watchLoss(this.renderPreview()));
    }
  }

  private async saveCheckpoint(): Promise<void> {
    const job = this.job;
    if (!job) return;
    if (this.checkpoint && this.checkpoint.step === job.stepsDone) return;
    const bytes = await job.saveSession();
    this.checkpoint = { bytes, step: job.stepsDone, at: performance.now() };
    if (job.stepsDone > 0) this.fallback = null;
  }

  private async renderPreview(): Promise<void> {
    const job = this.job;
    if (!job) return;
    const t0 = performance.now();
    const renders = await this.watchLoss(job.render());
    const images = {} as Record<RenderKind, ImageBitmap>;
    const { width, height } = renders.composite;
    for (const kind of RENDER_KINDS) images[kind] = await toBitmap(renders[kind]);
    this.lastPreviewMs = performance.now() - t0;
    this.lastPreviewAt = performance.now();
    this.trainMsSincePreview = 0;
    post({ type: 'preview', step: job.stepsDone, width, height, images });
  }

  // ------------------------------------------------------------------------------------------------ device loss

  /** Replaces a lost device and restores the job from the last checkpoint. Returns false when that failed. */
  private async recover(): Promise<boolean> {
    const lostError = this.lost ?? new DeviceLostError('unknown');
    const fromStep = this.checkpoint?.step ?? 0;
    const stepsBefore = this.job?.stepsDone ?? fromStep;
    post({ type: 'deviceLost', message: lostError.message, fromStep });
    this.job = null; // its buffers died with the device
    this.engine = null;
    this.tower = null;
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.gpu.run(async () => {
          const engine = await this.ensureDevice();
          if (!this.checkpoint || !this.input || !this.model) return;
          busy('restore', `Continuing on a new GPU device from step ${fromStep}…`);
          this.job = await this.restoreJob(engine, this.input.image, this.checkpoint.bytes);
        });
        const restored = this.job as EditJob | null;
        // The new device compiles its kernels again: its first step does not set the speed.
        this.firstStepMs = null;
        this.stepTimes = [];
        post({ type: 'recovered', step: restored?.stepsDone ?? 0, lostSteps: Math.max(0, stepsBefore - fromStep) });
        if (restored) {
          await this.gpu.run(() => this.renderPreview()).catch(() => undefined);
        }
        return true;
      } catch (e) {
        lastError = e;
        this.engine = null;
        this.lost = isDeviceLoss(e) ? (e as DeviceLostError) : this.lost;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    fail('device-lost', `The GPU device was lost and could not be replaced: ${message(lastError)}`, {
      recoverable: false,
      hint: 'Reload the page. A session you downloaded can be opened again to continue.',
    });
    return false;
  }

  /** A loss while no training runs: restore the job (if any) at once so downloads keep working. */
  private async recoverIdle(): Promise<void> {
    if (this.running) return;
    if (!this.job) {
      this.engine = null;
      this.tower = null;
      return;
    }
    await this.recover();
  }

  // ------------------------------------------------------------------------------------------------ session

  private async openSession(cmd: OpenSessionCommand): Promise<void> {
    if (this.running) {
      fail('session', 'Stop the running edit before opening a session.', { command: 'openSession' });
      return;
    }
    if (this.modelLoading) await this.modelLoading;
    if (!this.model) {
      fail('model', 'Load the CLIP model before opening a session.', { command: 'openSession' });
      return;
    }
    let unwrapped;
    try {
      unwrapped = unwrapSession(cmd.bytes);
    } catch (e) {
      fail('session', e instanceof SessionFileError ? e.message : `This file is not a session: ${message(e)}`, {
        command: 'openSession',
      });
      return;
    }
    const image = unwrapped.image ?? (cmd.image ? imagePixels(cmd.image) : null);
    if (!image) {
      fail(
        'session',
        'This session file carries no photo. Drop the photo it was made from first, then open it again.',
        {
          command: 'openSession',
        },
      );
      return;
    }
    const quality = (unwrapped.info?.quality as AppQuality | undefined) ?? 'standard';
    const previous = { job: this.job, input: this.input, checkpoint: this.checkpoint };
    try {
      await this.gpu.run(async () => {
        const engine = await this.ensureDevice();
        busy('restore', 'Opening the session…');
        const job = await this.restoreJob(engine, image, unwrapped.job);
        previous.job?.dispose();
        this.job = job;
        this.input = { image, quality };
        this.checkpoint = { bytes: unwrapped.job, step: job.stepsDone, at: performance.now() };
        this.fallback = null;
      });
    } catch (e) {
      if (e instanceof GpuOutOfMemoryError || isDeviceLoss(e) || (await this.lostWithin(LOSS_GRACE_MS))) {
        await this.jobError(e, 'openSession');
        return;
      }
      fail('session', `The session could not be opened: ${message(e)}`, { command: 'openSession' });
      return;
    }
    const job = this.job!;
    post({
      type: 'sessionOpened',
      step: job.stepsDone,
      totalSteps: job.totalSteps,
      config: job.config,
      quality,
      image: unwrapped.image ? { ...unwrapped.image, data: unwrapped.image.data.slice() } : null,
    });
    this.elapsedBefore = 0;
    this.announceStart(false);
    try {
      await this.gpu.run(() => this.watchLoss(this.renderPreview()));
    } catch (e) {
      await this.jobError(e, 'openSession');
      return;
    }
    post({ type: job.stepsDone >= job.totalSteps ? 'done' : 'stopped', step: job.stepsDone });
  }

  // ------------------------------------------------------------------------------------------------ export

  /** `workingSize`: a retry after the full-resolution render ran out of memory. */
  private async export(kind: ExportKind, workingSize = false): Promise<void> {
    if (!this.job || !this.input) {
      fail('internal', 'There is no edit to download yet.', { command: 'export' });
      return;
    }
    const input = this.input;
    try {
      const result = await this.gpu.run(async () => {
        const job = this.job!;
        if (kind === 'session') {
          const bytes = wrapSession(await this.watchLoss(job.saveSession()), input.image, {
            quality: input.quality,
            savedAt: new Date().toISOString(),
          });
          return { blob: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }) };
        }
        busy('export', `Rendering the ${kind === 'edit' ? 'edit layer' : kind}…`);
        const full = fullResolutionExport(input.quality) && !workingSize;
        let renders: EditRenders;
        let note = workingSize
          ? 'The full-resolution render did not fit in this GPU’s memory; saved at the working size.'
          : undefined;
        try {
          renders = await this.watchLoss(job.render({ fullResolution: full }));
        } catch (e) {
          // Too large for this GPU at full resolution: the working size still works. After running out of memory
          // this device cannot be trusted any more: the retry below runs on a new one.
          if (!full || e instanceof GpuOutOfMemoryError || isDeviceLoss(e) || (await this.lostWithin(LOSS_GRACE_MS)))
            throw e;
          renders = await this.watchLoss(job.render());
          note = `The full-resolution render did not fit this GPU (${message(e)}); saved at the working size.`;
        }
        const img = renders[kind];
        return { blob: await encodePng(img), width: img.width, height: img.height, note };
      });
      post({ type: 'exported', kind, filename: exportFilename(kind), ...result });
    } catch (e) {
      const retry = e instanceof GpuOutOfMemoryError && fullResolutionExport(input.quality) && !workingSize;
      if (retry && !this.running) {
        await this.outOfMemory(
          e,
          'export',
          'The full-resolution render needs more GPU memory than this device has; the file is saved at the working size instead.',
        );
        if (this.job) await this.export(kind, true);
        return;
      }
      await this.jobError(e, 'export');
    }
  }

  // ------------------------------------------------------------------------------------------------ out of memory

  /**
   * Out of GPU memory: say what to change, replace the device and bring back the edit the user had. A device that
   * refused an allocation handed out an unusable buffer, which the pool would lend again, and it may still report
   * errors from the failed work: only a fresh device is sure to work (all its memory free for the next try).
   */
  private async outOfMemory(e: GpuOutOfMemoryError, command: EditCommand['type'], exportHint?: string): Promise<void> {
    const input = this.input;
    const kept = this.editToKeep(command);
    if (this.running) {
      // A download during training: the run loop continues from its checkpoint on a new device, as after a loss.
      this.retireDevice();
      this.lost = new DeviceLostError('replaced after running out of memory');
      this.wake?.();
    } else {
      this.disposeJob();
      this.retireDevice();
    }
    const what =
      command === 'export'
        ? 'This download needs more GPU memory than this device has.'
        : `The ${input ? qualityLabel(input.quality) : 'chosen'} quality level needs more GPU memory than this device has` +
          (input ? ` for this ${input.image.width}×${input.image.height} px photo.` : '.');
    const keptText =
      kept && !this.running
        ? `Your photo, prompts, model and ${kept.previous ? 'previous edit' : `edit (at step ${kept.checkpoint.step})`} are kept.`
        : 'Your photo, prompts and model are kept.';
    fail('out-of-memory', e.message, {
      command,
      hint:
        exportHint ??
        `${what} Choose a lower quality level (a smaller working size) or a smaller photo, then start again. ${keptText}`,
    });
    if (kept && !this.running) await this.keep(kept);
  }

  /** The edit to bring back: the command's own progress if it made any, else the edit from before it. */
  private editToKeep(command: EditCommand['type']): KeptEdit | null {
    const current = this.checkpoint && this.input ? { checkpoint: this.checkpoint, input: this.input } : null;
    // A failed session leaves the edit that was open; a failed download, the edit it was for.
    if (command === 'openSession') return current && { ...current, previous: true };
    if (command === 'export') return current && { ...current, previous: false };
    if (current && current.checkpoint.step > 0) return { ...current, previous: false };
    return this.fallback && { ...this.fallback, previous: true };
  }

  /** Destroys the device on purpose (its `lost` is not a loss); the next GPU work opens a new one. */
  private retireDevice(): void {
    const ctx = this.ctx;
    const engine = this.engine;
    this.engine = null;
    this.tower = null;
    this.memory = null;
    if (!ctx) return;
    this.retired.add(ctx.device);
    try {
      if (engine) engine.destroy();
      else ctx.device.destroy();
    } catch {
      // Destroying a device that already failed has nothing more to free.
    }
  }

  /** Restores `kept` on a new device, shows it, and tells the page (`started`, `preview`, `kept`). */
  private async keep(kept: KeptEdit): Promise<void> {
    const work = (async () => {
      busy('restore', kept.previous ? 'Bringing back your previous edit…' : 'Keeping your edit…');
      // Set first: should bringing it back fail too, its checkpoint is still what a new run falls back to.
      this.input = kept.input;
      this.checkpoint = kept.checkpoint;
      this.fallback = null;
      await this.gpu.run(async () => {
        const engine = await this.ensureDevice();
        this.job = await this.restoreJob(engine, kept.input.image, kept.checkpoint.bytes);
      });
      const job = this.job!;
      this.announceStart(false);
      await this.gpu.run(() => this.watchLoss(this.renderPreview()));
      post({ type: 'kept', step: job.stepsDone, totalSteps: job.totalSteps, previous: kept.previous });
    })();
    this.keeping = work.catch((e: unknown) => {
      this.disposeJob();
      this.retireDevice();
      fail(e instanceof GpuOutOfMemoryError ? 'out-of-memory' : 'internal', message(e), {
        hint:
          'The edit could not be brought back on this GPU. A session you downloaded can be opened again once ' +
          'memory is free (close other GPU-heavy tabs or apps).',
      });
    });
    try {
      await this.keeping;
    } finally {
      this.keeping = null;
    }
  }

  private restoreJob(engine: Engine, image: RgbaImage, session: Uint8Array): Promise<EditJob> {
    return this.watchLoss(
      EditJob.restore({
        engine,
        vision: this.ensureTower(engine),
        text: this.model!.text,
        image,
        config: validateConfig({}),
        session,
        maxRenderSide: renderSideLimit(engine, image, validateConfig({})),
      }),
    );
  }

  private postMemoryLimit(): void {
    const stats = this.memory?.stats();
    post({
      type: 'memoryLimit',
      limitBytes: this.memoryLimitBytes,
      usedBytes: stats?.usedBytes ?? 0,
      peakBytes: stats?.peakBytes ?? 0,
    });
  }

  // ------------------------------------------------------------------------------------------------ errors

  private disposeJob(): void {
    try {
      this.job?.dispose();
    } catch {
      // A job of a lost device has nothing left to free.
    }
    this.job = null;
  }

  private deviceError(e: unknown, command: EditCommand['type']): void {
    if (e instanceof NoWebGpuError || !('gpu' in navigator)) {
      fail('no-webgpu', message(e), { recoverable: false, command });
    } else {
      fail('no-webgpu', `The browser could not open a GPU device: ${message(e)}`, { recoverable: false, command });
    }
  }

  /** Reports a failed operation; an error that turns out to come from a lost device is reported as such. */
  private async jobError(e: unknown, command: EditCommand['type']): Promise<void> {
    if (!(e instanceof GpuOutOfMemoryError) && !isDeviceLoss(e) && (await this.lostWithin(LOSS_GRACE_MS))) {
      e = this.lost ?? new DeviceLostError(message(e));
    }
    if (e instanceof GpuOutOfMemoryError) {
      await this.outOfMemory(e, command);
    } else if (isDeviceLoss(e)) {
      fail('device-lost', message(e), { command, hint: 'Try again; a new GPU device will be opened.' });
    } else if (e instanceof NoWebGpuError) {
      this.deviceError(e, command);
    } else {
      console.error(e);
      fail('internal', message(e), { command });
    }
  }
}

/**
 * The longest side a full-resolution render of this photo may have on this device: its widest activation must fit
 * one storage binding (a 2048×1536 render at 132 channels needs 1.7 GB). At least the working size's longest side,
 * at most 2048 (the job's own limit).
 */
function renderSideLimit(engine: Engine, image: RgbaImage, config: EditConfig): number {
  const maxBinding = Number(engine.limits.maxStorageBufferBindingSize);
  const channels = Math.max(config.skipN33d, config.skipN33u) + config.skipN11;
  const perPixel = Math.max(channels, 4) * 4;
  const long = Math.max(image.width, image.height);
  const short = Math.min(image.width, image.height);
  const fit = Math.floor(Math.sqrt((maxBinding / perPixel) * (long / short)));
  const working = config.resizeInput > 0 ? Math.trunc((config.resizeInput * long) / short) : long;
  return Math.max(working, Math.min(2048, fit));
}

function postModelReady(model: LoadedModel): void {
  post({
    type: 'modelReady',
    cached: model.cached,
    modelId: model.modelId,
    precision: model.precision,
    sources: model.sources,
    vision: model.visionWeights.config,
  });
}

async function toBitmap(img: RgbaImage): Promise<ImageBitmap> {
  return createImageBitmap(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height));
}

/** PNG of 8-bit RGBA pixels, encoded off the main thread. */
async function encodePng(img: RgbaImage): Promise<Blob> {
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('OffscreenCanvas 2D is not available in this browser.');
  ctx.putImageData(new ImageData(img.data as Uint8ClampedArray<ArrayBuffer>, img.width, img.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

// onnxruntime-web's WASM threads are module workers of the chunk that holds onnxruntime (possibly this file),
// named "em-pthread…": they must not run the edit worker.
if (!self.name?.startsWith('em-pthread')) {
  const worker = new EditWorker();
  self.addEventListener('message', (ev: MessageEvent<EditCommand>) => {
    const cmd = ev.data;
    if (!cmd || typeof cmd !== 'object' || typeof cmd.type !== 'string') return;
    worker.handle(cmd).catch((e) => {
      console.error(e);
      fail('internal', message(e), { command: cmd.type });
    });
  });
}
