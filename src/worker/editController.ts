/**
 * The edit worker's controller: takes the page's commands, drives the run state machine (`runState.ts`) and keeps
 * the user's work safe through every failure. It owns the device session, the model loader, the job, its
 * checkpoints and the training loop, and talks to the page only through `WorkerPlatform.post`.
 *
 * Nothing is lost when something fails:
 * - A lost device (driver reset, `simulateDeviceLoss`) is replaced and the job continues from its last checkpoint;
 *   the model stays loaded (the vision weights are kept on the CPU).
 * - Out of GPU memory: an error that says what to change; the device is replaced (its pool may hold buffers the
 *   device refused) and the edit the user had comes back: the previous one when a new run or session failed before
 *   making progress, else the current one from its last checkpoint (`kept`).
 * - A run that cannot be set up, or is stopped during its setup, brings the previous edit back the same way.
 * - A bad session file is read completely before anything is replaced.
 */
import { ModelLoadError } from '../clip/modelManager';
import { ConfigError, validateConfig } from '../edit/config';
import { readJobSession, SessionRestoreError } from '../edit/jobSession';
import { fullResolutionExport, qualityLabel } from '../edit/qualityLevels';
import type { RgbaImage } from '../edit/jobTypes';
import { RENDER_KINDS, type RenderKind } from '../edit/jobTypes';
import { NoWebGpuError } from '../gpu/device';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import type { DeviceSession } from './deviceSession';
import { exportFilename, exportRender, exportSession, type ExportContext, type ExportInput } from './exporter';
import { ModelUnusableError, type LoadedModel, type ModelLoaderLike } from './modelLoader';
import type {
  AppQuality,
  BusyPhase,
  EditCommand,
  ErrorKind,
  ExportCommand,
  LoadModelCommand,
  ModelSpec,
  OpenSessionCommand,
  StartCommand,
} from './protocol';
import { RUN_ACTIVE, RunStateMachine, type RunState } from './runState';
import { SessionFileError, unwrapSession } from './sessionFile';
import { RunRequests, Trainer } from './trainer';
import type { JobFactory, TrainableJob, WorkerPlatform } from './workerTypes';

/** How long a failed GPU operation waits for `device.lost` before it counts as an ordinary error. */
const LOSS_GRACE_MS = 2000;
/** Attempts at opening a new device after a loss. */
const RECOVERY_ATTEMPTS = 3;

/** The device surface the controller uses (the real DeviceSession, or a fake in tests). */
export type DeviceLike = Pick<
  DeviceSession,
  | 'lost'
  | 'open'
  | 'retire'
  | 'markLost'
  | 'lostWithin'
  | 'watch'
  | 'availability'
  | 'simulateLoss'
  | 'simulateFailure'
  | 'setMemoryLimit'
  | 'memoryStats'
>;

interface Checkpoint {
  bytes: Uint8Array;
  step: number;
  at: number;
}

/** An edit that can be brought back: its checkpoint and its photo. */
interface KeptEdit {
  checkpoint: Checkpoint;
  input: ExportInput;
  /** It is the edit from before the failed command (the page restores its own record of it). */
  previous: boolean;
}

/** One GPU operation at a time (steps, renders, checkpoints, restores never interleave on the engine). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export interface EditControllerOptions {
  platform: WorkerPlatform;
  /** Makes the device session, given the loss callback. */
  device: (onLost: (e: DeviceLostError) => void) => DeviceLike;
  models: ModelLoaderLike;
  jobs: JobFactory;
  /** Waits between recovery attempts (ms → promise); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export class EditController {
  readonly machine: RunStateMachine;
  private readonly platform: WorkerPlatform;
  private readonly device: DeviceLike;
  private readonly models: ModelLoaderLike;
  private readonly jobs: JobFactory;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly gpuQueue = new Serial();
  private readonly requests = new RunRequests();
  private readonly trainer: Trainer;
  private debug = false;

  private job: TrainableJob | null = null;
  private input: ExportInput | null = null;
  private checkpoint: Checkpoint | null = null;
  /** The edit before the current run, until that run has a checkpoint of its own past step 0. */
  private fallback: Omit<KeptEdit, 'previous'> | null = null;
  /** What a pausing / stopping run is doing underneath (where a resume goes back to). */
  private phase: RunState = 'idle';
  /** Bringing an edit back; commands that use the job wait for it. */
  private keeping: Promise<void> | null = null;
  private modelLoading: Promise<unknown> | null = null;
  /** A model load on its own (the model panel's button); a start waits for it instead of refusing. */
  private loadingAlone: Promise<void> | null = null;
  /** A start or session-open is setting up (its model load is part of it). */
  private isRunSetup = false;

  constructor(opts: EditControllerOptions) {
    this.platform = opts.platform;
    this.models = opts.models;
    this.jobs = opts.jobs;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.machine = new RunStateMachine(
      (ev) => this.platform.post(ev),
      () => ({ step: this.job?.stepsDone ?? 0, totalSteps: this.job?.totalSteps ?? 0 }),
    );
    this.device = opts.device((e) => this.onDeviceLost(e));
    this.trainer = new Trainer({
      machine: this.machine,
      requests: this.requests,
      job: () => this.job,
      gpu: (fn) => this.gpu(fn),
      deviceLost: () => this.device.lost !== null,
      isDeviceFailure: (e) => this.isDeviceFailure(e),
      recover: () => this.recover(),
      checkpoint: () => this.saveCheckpoint(),
      checkpointAge: () => this.checkpoint,
      preview: () => this.renderPreview(),
      progress: (p) => this.platform.post({ type: 'progress', ...p }),
      stepFailed: (e) => this.stepFailed(e),
      checkpointSteps: () => (this.input?.quality === 'tiny' ? 2 : undefined),
    });
  }

  async handle(cmd: EditCommand): Promise<void> {
    if (this.keeping && !['pause', 'stop', 'simulateDeviceLoss', 'simulateMemoryLimit'].includes(cmd.type)) {
      await this.keeping;
    }
    switch (cmd.type) {
      case 'probe':
        this.debug = cmd.debug === true;
        if (this.debug && cmd.simulateGpu) this.device.simulateFailure(cmd.simulateGpu);
        this.platform.post({ type: 'gpu', availability: await this.device.availability() });
        return;
      case 'loadModel':
        await this.loadModelAlone(cmd);
        return;
      case 'cancelModel':
        this.cancelModel();
        return;
      case 'start':
        await this.start(cmd);
        return;
      case 'pause':
        this.pause();
        return;
      case 'resume':
        this.resume();
        return;
      case 'stop':
        this.stop();
        return;
      case 'export':
        await this.export(cmd);
        return;
      case 'openSession':
        await this.openSession(cmd);
        return;
      case 'simulateDeviceLoss':
      case 'simulateMemoryLimit':
        if (!this.debug) {
          this.fail('internal', `${cmd.type} is a test hook; open the page with ?debug=1 to use it.`, {
            command: cmd.type,
          });
          return;
        }
        if (cmd.type === 'simulateDeviceLoss') this.device.simulateLoss();
        else {
          this.device.setMemoryLimit(cmd.bytes);
          this.postMemoryLimit();
        }
        return;
      case 'clearModelCache':
        await this.models.clearCache(cmd.modelId, cmd.baseUrl);
        this.post({ type: 'modelCacheCleared' });
        return;
    }
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private post: WorkerPlatform['post'] = (e) => this.platform.post(e);

  private fail(
    kind: ErrorKind,
    text: string,
    opts: { recoverable?: boolean; hint?: string; command?: EditCommand['type'] } = {},
  ): void {
    this.post({ type: 'error', kind, message: text, recoverable: opts.recoverable ?? true, ...opts });
  }

  private busy(phase: BusyPhase, text: string): void {
    this.post({ type: 'busy', phase, message: text });
  }

  /** GPU work, one operation at a time, rejecting when the device is lost. */
  private gpu<T>(fn: () => Promise<T>): Promise<T> {
    return this.gpuQueue.run(() => this.device.watch(fn()));
  }

  /** Whether `e` comes from a lost device (then it is marked lost for the loop to recover). */
  private async isDeviceFailure(e: unknown): Promise<boolean> {
    if (e instanceof GpuOutOfMemoryError) return false;
    if (e instanceof DeviceLostError || (await this.device.lostWithin(LOSS_GRACE_MS))) {
      this.device.markLost(e instanceof DeviceLostError ? e : new DeviceLostError(message(e)));
      return true;
    }
    return false;
  }

  private disposeJob(): void {
    try {
      this.job?.dispose();
    } catch {
      // A job of a lost device has nothing left to free.
    }
    this.job = null;
  }

  /** The state an edit that exists and is not running is in. */
  private restingState(): RunState {
    if (!this.job) return 'idle';
    return this.job.stepsDone >= this.job.totalSteps ? 'done' : 'stopped';
  }

  private postModelReady(model: LoadedModel): void {
    this.post({
      type: 'modelReady',
      cached: model.cached,
      modelId: model.modelId,
      precision: model.precision,
      sources: model.sources,
      vision: model.visionWeights.config,
    });
  }

  private postMemoryLimit(): void {
    const stats = this.device.memoryStats();
    this.post({ type: 'memoryLimit', ...stats });
  }

  // ------------------------------------------------------------------------------------------------ model

  /**
   * The model `spec` names, loading it when it is not the one in memory (state `loadingModel`, then back or on).
   * Resolves null when the load failed or was cancelled (the page was told).
   */
  private async ensureModel(spec: ModelSpec, command: EditCommand['type']): Promise<LoadedModel | null> {
    if (this.modelLoading) await this.modelLoading.catch(() => undefined);
    if (this.models.isLoaded(spec)) return this.models.current;
    if (!this.machine.is('pausing', 'stopping')) this.machine.to('loadingModel');
    this.phase = 'loadingModel';
    this.busy('model', 'Loading the CLIP model…');
    const loading = this.models.load(spec, (p) => this.post(p));
    this.modelLoading = loading;
    try {
      const model = await loading;
      this.postModelReady(model);
      return model;
    } catch (e) {
      if (e instanceof ModelLoadError && e.kind === 'cancelled') {
        this.post({ type: 'modelCancelled' });
      } else {
        const hint =
          e instanceof ModelUnusableError
            ? 'Use the files of a CLIP ViT model in the transformers.js layout (fp32 or fp16 vision file).'
            : 'Check your connection and try again, or use model files from disk.';
        this.fail('model', message(e), { hint, command });
      }
      return null;
    } finally {
      if (this.modelLoading === loading) this.modelLoading = null;
    }
  }

  private async loadModelAlone(cmd: LoadModelCommand): Promise<void> {
    if (this.machine.is(...RUN_ACTIVE, 'recovering')) {
      if (this.models.isLoaded(cmd.model)) this.postModelReady(this.models.current!);
      else this.fail('model', 'Stop the running edit before loading another model.', { command: 'loadModel' });
      return;
    }
    if (this.models.isLoaded(cmd.model)) {
      this.postModelReady(this.models.current!);
      return;
    }
    const back = this.restingState();
    const work = this.ensureModel(cmd.model, 'loadModel').then(() => this.machine.to(back));
    this.loadingAlone = work;
    try {
      await work;
    } finally {
      if (this.loadingAlone === work) this.loadingAlone = null;
    }
  }

  private cancelModel(): void {
    // During a run's download a cancel is a stop of that run.
    if (this.isRunSetup && this.phase === 'loadingModel') this.stop();
    else if (this.machine.is('loadingModel')) this.models.cancel();
  }

  // ------------------------------------------------------------------------------------------------ run

  private async start(cmd: StartCommand): Promise<void> {
    if (this.loadingAlone && !this.isRunSetup) await this.loadingAlone;
    if (this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') || this.isRunSetup) {
      this.fail('internal', 'An edit is already running; stop it first.', { command: 'start' });
      return;
    }
    let config;
    try {
      config = validateConfig(cmd.config, { requirePrompts: true });
    } catch (e) {
      this.fail(e instanceof ConfigError ? 'config' : 'internal', message(e), { command: 'start' });
      return;
    }
    let image: RgbaImage;
    try {
      image = this.platform.readPixels(cmd.image);
    } catch (e) {
      this.fail('image', `The photo could not be read: ${message(e)}`, { command: 'start' });
      return;
    }
    if (!(image.width > 0 && image.height > 0) || image.data.length !== image.width * image.height * 4) {
      this.fail('image', 'The photo has no pixels.', { command: 'start' });
      return;
    }
    const before = this.restingState();
    this.requests.reset();
    this.isRunSetup = true;
    try {
      const model = await this.ensureModel(cmd.model, 'start');
      if (!model || this.requests.stop) {
        this.machine.to(before);
        return;
      }
      if (!this.machine.is('pausing')) this.machine.to('preparing');
      this.phase = 'preparing';
      // The edit so far stays on the CPU (its checkpoint) until the new run has progress of its own: a failure, or a
      // stop before the first step, brings it back.
      this.fallback = this.checkpoint && this.input ? { checkpoint: this.checkpoint, input: this.input } : null;
      this.disposeJob();
      this.input = { image, quality: cmd.quality };
      this.checkpoint = null;
      this.trainer.newEdit();
      const ready = await this.prepare(model, image, config);
      if (!ready) return;
    } finally {
      this.isRunSetup = false;
    }
    this.phase = 'training';
    if (this.machine.is('preparing')) this.machine.to('training');
    await this.trainer.run();
  }

  /** Device, job, checkpoint, first preview. False when the run ended here (stopped, failed: handled). */
  private async prepare(
    model: LoadedModel,
    image: RgbaImage,
    config: ReturnType<typeof validateConfig>,
  ): Promise<boolean> {
    try {
      await this.gpu(async () => {
        this.busy('device', 'Opening the GPU…');
        const engine = await this.device.open();
        if (this.requests.stop) return;
        this.busy('prompts', 'Encoding the prompts and setting up the generator…');
        this.job = await this.jobs.create(engine, model, image, config);
        await this.saveCheckpoint();
      });
      if (this.requests.stop) return this.abandonSetup();
      // The untrained layer right away: the page shows something before the (slow) first step.
      this.announceStart();
      this.busy('job', 'Compiling GPU kernels for the first step…');
      await this.gpu(() => this.renderPreview());
    } catch (e) {
      if (e instanceof NoWebGpuError) {
        this.fail('no-webgpu', `The browser could not open a GPU device: ${message(e)}`, {
          recoverable: false,
          command: 'start',
        });
        this.disposeJob();
        this.machine.to('failed');
        return false;
      }
      const lost = await this.isDeviceFailure(e);
      // The job exists and is checkpointed: the run loop replaces the device and continues.
      if (lost && this.job && this.checkpoint) return !this.requests.stop || this.abandonSetup();
      this.disposeJob();
      if (e instanceof GpuOutOfMemoryError) {
        await this.outOfMemory(e, 'start');
        return false;
      }
      this.fail(lost ? 'device-lost' : e instanceof ConfigError ? 'config' : 'internal', message(e), {
        command: 'start',
        hint: lost ? 'Try again; a new GPU device will be opened.' : undefined,
      });
      await this.bringBackFallback();
      return false;
    }
    if (this.requests.stop) return this.abandonSetup();
    return true;
  }

  /** A stop during setup: the new run is dropped and the edit from before (if any) comes back. */
  private async abandonSetup(): Promise<false> {
    this.disposeJob();
    this.checkpoint = null;
    await this.bringBackFallback();
    return false;
  }

  /** After a run that never started: the previous edit is restored (`kept`), or there is none (idle). */
  private async bringBackFallback(): Promise<void> {
    const fallback = this.fallback;
    this.fallback = null;
    if (fallback) await this.keep({ ...fallback, previous: true });
    else this.toIdle();
  }

  private announceStart(): void {
    const job = this.job!;
    const input = this.input!;
    this.post({
      type: 'started',
      totalSteps: job.totalSteps,
      step: job.stepsDone,
      workingSize: job.workingSize,
      fullSize: job.fullRenderSize,
      seed: job.config.seed,
      config: job.config,
      quality: input.quality,
      fullResolutionExport: fullResolutionExport(input.quality),
    });
  }

  private pause(): void {
    if (this.machine.is('training', 'preparing', 'loadingModel') && (this.trainer.isRunning || this.isRunSetup)) {
      this.requests.pause = true;
      this.machine.to('pausing');
    } else if (this.machine.is('recovering') && this.trainer.isRunning) {
      this.requests.pause = true;
    }
  }

  private resume(): void {
    if (this.machine.is('paused')) {
      this.requests.pause = false;
      this.requests.wake();
    } else if (this.machine.is('pausing')) {
      this.requests.pause = false;
      this.machine.to(this.phase);
    } else if (this.machine.is('stopped') && this.job && !this.trainer.isRunning) {
      // Continue a stopped (or opened) edit.
      this.requests.reset();
      this.phase = 'training';
      this.machine.to('training');
      void this.trainer.run();
    }
  }

  private stop(): void {
    if (this.machine.is('training', 'pausing', 'paused', 'preparing', 'loadingModel') && this.activeRun()) {
      this.requests.stop = true;
      this.requests.pause = false;
      this.machine.to('stopping');
      if (this.phase === 'loadingModel') this.models.cancel();
      this.requests.wake();
    } else if (this.machine.is('recovering') && this.trainer.isRunning) {
      this.requests.stop = true;
    }
  }

  private activeRun(): boolean {
    return this.trainer.isRunning || this.isRunSetup;
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
    const renders = await job.render();
    const images = {} as Record<RenderKind, ImageBitmap>;
    const { width, height } = renders.composite;
    for (const kind of RENDER_KINDS) images[kind] = await this.platform.toBitmap(renders[kind]);
    this.trainer.notePreview(performance.now() - t0);
    this.post({ type: 'preview', step: job.stepsDone, width, height, images });
  }

  /** A step failed, not because of the device: out of memory keeps the edit; anything else is reported. */
  private async stepFailed(e: unknown): Promise<void> {
    if (e instanceof GpuOutOfMemoryError) {
      await this.outOfMemory(e, 'start');
      return;
    }
    console.error(e);
    this.fail('internal', message(e), { command: 'start' });
    this.machine.to('stopped');
  }

  // ------------------------------------------------------------------------------------------------ device loss

  private onDeviceLost(e: DeviceLostError): void {
    this.requests.wake(); // a paused loop notices at once
    if (!this.trainer.isRunning && !this.isRunSetup && this.machine.is('stopped', 'done')) void this.recoverIdle(e);
  }

  /** A loss while no training runs: restore the job at once so downloads keep working. */
  private async recoverIdle(e: DeviceLostError): Promise<void> {
    if (!this.job) return;
    const back = this.restingState();
    this.machine.to('recovering');
    this.device.markLost(e);
    if (await this.recover()) this.machine.to(back);
    else this.machine.to('failed');
  }

  /** Replaces a lost device and restores the job from the last checkpoint. False when that failed. */
  private async recover(): Promise<boolean> {
    const lostError = this.device.lost ?? new DeviceLostError('unknown');
    const fromStep = this.checkpoint?.step ?? 0;
    const stepsBefore = this.job?.stepsDone ?? fromStep;
    this.post({ type: 'deviceLost', message: lostError.message, fromStep });
    this.job = null; // its buffers died with the device
    let lastError: unknown = new Error('there is no checkpoint to continue from');
    for (let attempt = 0; attempt < RECOVERY_ATTEMPTS && this.checkpoint && this.input; attempt++) {
      try {
        const { checkpoint, input } = this;
        const model = this.models.current;
        if (!model) throw new Error('The CLIP model is not loaded.');
        await this.gpuQueue.run(async () => {
          const engine = await this.device.open();
          this.busy('restore', `Continuing on a new GPU device from step ${fromStep}…`);
          this.job = await this.device.watch(this.jobs.restore(engine, model, input.image, checkpoint.bytes));
        });
        this.post({ type: 'recovered', step: this.job!.stepsDone, lostSteps: Math.max(0, stepsBefore - fromStep) });
        await this.gpu(() => this.renderPreview()).catch(() => undefined);
        return true;
      } catch (e) {
        lastError = e;
        this.job = null;
        await this.sleep(500 * (attempt + 1));
      }
    }
    this.fail('device-lost', `The GPU device was lost and could not be replaced: ${message(lastError)}`, {
      recoverable: false,
      hint: 'Reload the page. A session you downloaded can be opened again to continue.',
    });
    return false;
  }

  // ------------------------------------------------------------------------------------------------ session

  private async openSession(cmd: OpenSessionCommand): Promise<void> {
    if (this.loadingAlone && !this.isRunSetup) await this.loadingAlone;
    if (this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') || this.isRunSetup) {
      this.fail('session', 'Stop the running edit before opening a session.', { command: 'openSession' });
      return;
    }
    // Read the whole file before anything is replaced: a bad file leaves the current edit as it is.
    let unwrapped;
    try {
      unwrapped = unwrapSession(cmd.bytes);
      // The job's own session too, before a model loads or a device opens.
      readJobSession(unwrapped.job);
    } catch (e) {
      const known = e instanceof SessionFileError || e instanceof SessionRestoreError;
      this.fail('session', known ? e.message : `This file is not a session: ${message(e)}`, {
        command: 'openSession',
      });
      return;
    }
    const image = unwrapped.image ?? (cmd.image ? this.platform.readPixels(cmd.image) : null);
    if (!image) {
      this.fail(
        'session',
        'This session file carries no photo. Drop the photo it was made from first, then open it again.',
        {
          command: 'openSession',
        },
      );
      return;
    }
    const quality = (unwrapped.info?.quality as AppQuality | undefined) ?? 'standard';
    const before = this.restingState();
    this.requests.reset();
    this.isRunSetup = true;
    try {
      const model = await this.ensureModel(cmd.model, 'openSession');
      if (!model || this.requests.stop) {
        this.machine.to(before);
        return;
      }
      this.machine.to('preparing');
      this.phase = 'preparing';
      const previous = this.job;
      try {
        await this.gpu(async () => {
          const engine = await this.device.open();
          this.busy('restore', 'Opening the session…');
          const job = await this.jobs.restore(engine, model, image, unwrapped.job);
          previous?.dispose();
          this.job = job;
          this.input = { image, quality };
          this.checkpoint = { bytes: unwrapped.job, step: job.stepsDone, at: performance.now() };
          this.fallback = null;
        });
      } catch (e) {
        if (e instanceof GpuOutOfMemoryError || (await this.isDeviceFailure(e))) {
          await this.jobError(e, 'openSession');
          if (this.machine.is('preparing')) this.machine.to(this.restingState());
          return;
        }
        this.fail('session', `The session could not be opened: ${message(e)}`, { command: 'openSession' });
        this.machine.to(this.restingState());
        return;
      }
      const job = this.job!;
      this.post({
        type: 'sessionOpened',
        step: job.stepsDone,
        totalSteps: job.totalSteps,
        config: job.config,
        quality,
        image: unwrapped.image ? { ...unwrapped.image, data: unwrapped.image.data.slice() } : null,
      });
      this.trainer.newEdit();
      this.announceStart();
      try {
        await this.gpu(() => this.renderPreview());
      } catch (e) {
        await this.jobError(e, 'openSession');
      }
      if (this.machine.is('preparing')) this.machine.to(this.restingState());
    } finally {
      this.isRunSetup = false;
    }
  }

  // ------------------------------------------------------------------------------------------------ export

  /** `retry`: a retry at the working size after the full-size render ran out of memory. */
  private async export(cmd: ExportCommand, retry = false): Promise<void> {
    const job = this.job;
    const input = this.input;
    if (!job || !input) {
      this.fail('internal', 'There is no edit to download yet.', { command: 'export' });
      return;
    }
    const fullSize = !retry && (cmd.fullSize ?? fullResolutionExport(input.quality));
    const ctx: ExportContext = {
      job,
      input,
      watch: (p) => this.device.watch(p),
      isDeviceFailure: (e) => this.isDeviceFailure(e),
      platform: this.platform,
    };
    try {
      const result = await this.gpuQueue.run(async () => {
        if (cmd.kind === 'session') return exportSession(ctx);
        this.busy('export', `Rendering the ${cmd.kind === 'edit' ? 'edit layer' : cmd.kind}…`);
        return exportRender(ctx, cmd.kind, fullSize);
      });
      if (retry) {
        result.note ??= 'The full-size render did not fit in this GPU’s memory; saved at the working size.';
      }
      this.post({ type: 'exported', kind: cmd.kind, filename: exportFilename(cmd.kind), ...result });
    } catch (e) {
      if (e instanceof GpuOutOfMemoryError && fullSize && !this.trainer.isRunning) {
        await this.outOfMemory(
          e,
          'export',
          'The full-size render needs more GPU memory than this device has; the file is saved at the working size instead.',
        );
        if (this.job) await this.export(cmd, true);
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
    const running = this.trainer.isRunning && command === 'export';
    if (running) {
      // A download during training: the run loop continues from its checkpoint on a new device, as after a loss.
      this.device.retire();
      this.device.markLost(new DeviceLostError('replaced after running out of memory'));
      this.requests.wake();
    } else {
      this.disposeJob();
      this.device.retire();
    }
    const what =
      command === 'export'
        ? 'This download needs more GPU memory than this device has.'
        : `The ${input ? qualityLabel(input.quality) : 'chosen'} quality level needs more GPU memory than this device has` +
          (input ? ` for this ${input.image.width}×${input.image.height} px photo.` : '.');
    const keptText =
      kept && !running
        ? `Your photo, prompts, model and ${kept.previous ? 'previous edit' : `edit (at step ${kept.checkpoint.step})`} are kept.`
        : 'Your photo, prompts and model are kept.';
    this.fail('out-of-memory', e.message, {
      command,
      hint:
        exportHint ??
        `${what} Choose a lower quality level (a smaller working size) or a smaller photo, then start again. ${keptText}`,
    });
    if (running) return;
    if (kept) await this.keep(kept);
    else this.toIdle();
  }

  /** Nothing to keep: the page shows no edit. A run in progress passes through `recovering` on its way. */
  private toIdle(): void {
    this.input = null;
    this.checkpoint = null;
    if (this.machine.is('training', 'pausing', 'paused', 'stopped', 'done')) this.machine.to('recovering');
    this.machine.to('idle');
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

  /** Restores `kept` on a new device, shows it, and tells the page (`started`, `preview`, `kept`). */
  private async keep(kept: KeptEdit): Promise<void> {
    const work = (async () => {
      this.machine.to('recovering');
      this.busy('restore', kept.previous ? 'Bringing back your previous edit…' : 'Keeping your edit…');
      // Set first: should bringing it back fail too, its checkpoint is still what a new run falls back to.
      this.input = kept.input;
      this.checkpoint = kept.checkpoint;
      this.fallback = null;
      const model = this.models.current;
      if (!model) throw new Error('The CLIP model is not loaded.');
      await this.gpu(async () => {
        const engine = await this.device.open();
        this.job = await this.jobs.restore(engine, model, kept.input.image, kept.checkpoint.bytes);
      });
      const job = this.job!;
      this.announceStart();
      await this.gpu(() => this.renderPreview());
      this.post({ type: 'kept', step: job.stepsDone, totalSteps: job.totalSteps, previous: kept.previous });
      this.machine.to(this.restingState());
    })();
    this.keeping = work.catch((e: unknown) => {
      this.disposeJob();
      this.device.retire();
      this.fail(e instanceof GpuOutOfMemoryError ? 'out-of-memory' : 'internal', message(e), {
        hint:
          'The edit could not be brought back on this GPU. A session you downloaded can be opened again once ' +
          'memory is free (close other GPU-heavy tabs or apps).',
      });
      this.toIdle();
    });
    try {
      await this.keeping;
    } finally {
      this.keeping = null;
    }
  }

  /** Reports a failed operation; an error that turns out to come from a lost device is reported as such. */
  private async jobError(e: unknown, command: EditCommand['type']): Promise<void> {
    if (!(e instanceof GpuOutOfMemoryError) && !(e instanceof DeviceLostError) && (await this.isDeviceFailure(e))) {
      e = this.device.lost ?? new DeviceLostError(message(e));
    }
    if (e instanceof GpuOutOfMemoryError) {
      await this.outOfMemory(e, command);
    } else if (e instanceof DeviceLostError) {
      // An edit that is not training is restored at once by the loss callback (recoverIdle).
      this.fail('device-lost', message(e), { command, hint: 'Try again; a new GPU device will be opened.' });
    } else if (e instanceof NoWebGpuError) {
      this.fail('no-webgpu', message(e), { recoverable: false, command });
    } else {
      console.error(e);
      this.fail('internal', message(e), { command });
    }
  }
}
