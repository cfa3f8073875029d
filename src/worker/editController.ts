/**
 * The edit worker's controller: takes the page's commands and drives the run state machine (`runState.ts`). It owns
 * the device session, the model loader, the edit (`CurrentEdit`), the training loop (`trainer.ts`) and the recovery
 * from failures (`recovery.ts`), and talks to the page only through `WorkerPlatform.post`.
 *
 * A run is: the model (loaded first when it is not the one in memory), the setup (device, job, checkpoint, first
 * preview), then the steps. Pause and Stop work in each phase: a stop during the download cancels it, a stop during
 * the setup drops the new run and brings the previous edit back, a pause takes effect before the next step. A bad
 * session file is read completely before anything is replaced.
 */
import { ModelLoadError } from '../clip/modelManager';
import { ConfigError, validateConfig } from '../edit/config';
import { readJobSession, SessionRestoreError } from '../edit/jobSession';
import { fullResolutionExport } from '../edit/qualityLevels';
import type { RgbaImage } from '../edit/jobTypes';
import { RENDER_KINDS, type RenderKind } from '../edit/jobTypes';
import { NoWebGpuError } from '../gpu/device';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import type { DeviceSession } from './deviceSession';
import type { AtlasRunFactory } from './atlasRun';
import { ClipWork, type ClipImporter } from './clipWork';
import { exportFilename, runExport } from './exporter';
import { ModelUnusableError, type LoadedModel, type ModelLoaderLike } from './modelLoader';
import type {
  AppQuality,
  BusyPhase,
  EditCommand,
  ErrorKind,
  LoadModelCommand,
  ModelSpec,
  OpenSessionCommand,
  StartCommand,
} from './protocol';
import { RUN_ACTIVE, RunStateMachine, type RunState } from './runState';
import { SessionFileError, unwrapSession } from './sessionFile';
import { Recovery } from './recovery';
import { RunRequests, Trainer } from './trainer';
import { CurrentEdit, Serial, errorMessage as message, type FailOptions, type WorkerContext } from './workerContext';
import type { JobFactory, WorkerPlatform } from './workerTypes';

/** How long a failed GPU operation waits for `device.lost` before it counts as an ordinary error. */
const LOSS_GRACE_MS = 2000;

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

export interface EditControllerOptions {
  platform: WorkerPlatform;
  /** Makes the device session, given the loss callback. */
  device: (onLost: (e: DeviceLostError) => void) => DeviceLike;
  models: ModelLoaderLike;
  jobs: JobFactory;
  /** Waits between recovery attempts (ms → promise); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Video: how clips are imported and decomposed. */
  clipImporter: ClipImporter;
  atlases: AtlasRunFactory;
}

export class EditController {
  readonly machine: RunStateMachine;
  private readonly platform: WorkerPlatform;
  private readonly device: DeviceLike;
  private readonly models: ModelLoaderLike;
  private readonly edit = new CurrentEdit();
  private readonly gpuQueue = new Serial();
  private readonly requests = new RunRequests();
  private readonly trainer: Trainer;
  private readonly recovery: Recovery;
  private readonly ctx: WorkerContext;
  private debug = false;
  /** What a pausing / stopping run is doing underneath (where a resume goes back to). */
  private phase: RunState = 'idle';
  private modelLoading: Promise<unknown> | null = null;
  /** A model load on its own (the model panel's button); a start waits for it instead of refusing. */
  private loadingAlone: Promise<void> | null = null;
  /** A start or session-open is setting up (its model load is part of it). */
  private isRunSetup = false;
  /** The clip and its decomposition (video). */
  private readonly clips: ClipWork;
  /** Which work Resume continues and the resting state describes: the image edit or the clip's decomposition. */
  private activeWork: 'image' | 'atlas' = 'image';

  constructor(opts: EditControllerOptions) {
    this.platform = opts.platform;
    this.models = opts.models;
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    this.machine = new RunStateMachine(
      (ev) => this.platform.post(ev),
      () => ({ step: this.edit.job?.stepsDone ?? 0, totalSteps: this.edit.job?.totalSteps ?? 0 }),
    );
    this.device = opts.device((e) => this.onDeviceLost(e));
    this.ctx = {
      machine: this.machine,
      device: this.device,
      models: this.models,
      jobs: opts.jobs,
      edit: this.edit,
      requests: this.requests,
      platform: this.platform,
      sleep,
      serial: (fn) => this.gpuQueue.run(fn),
      gpu: (fn) => this.gpu(fn),
      post: (e) => this.post(e),
      fail: (kind, text, o) => this.fail(kind, text, o),
      busy: (phase, text) => this.busy(phase, text),
      isDeviceFailure: (e) => this.isDeviceFailure(e),
      trainerRunning: () => this.trainer.isRunning,
      renderPreview: () => this.renderPreview(),
      announceStart: () => this.announceStart(),
    };
    this.recovery = new Recovery(this.ctx);
    this.clips = new ClipWork(this.ctx, opts.clipImporter, opts.atlases);
    this.trainer = new Trainer({
      machine: this.machine,
      requests: this.requests,
      job: () => this.edit.job,
      gpu: (fn) => this.gpu(fn),
      deviceLost: () => this.device.lost !== null,
      isDeviceFailure: (e) => this.isDeviceFailure(e),
      recover: () => this.recovery.recover(),
      checkpoint: () => this.edit.saveCheckpoint(),
      checkpointAge: () => this.edit.checkpoint,
      preview: () => this.renderPreview(),
      progress: (p) => this.platform.post({ type: 'progress', ...p }),
      stepFailed: (e) => this.stepFailed(e),
      checkpointSteps: () => (this.edit.input?.quality === 'tiny' ? 2 : undefined),
    });
  }

  async handle(cmd: EditCommand): Promise<void> {
    if (this.recovery.keeping && !['pause', 'stop', 'simulateDeviceLoss', 'simulateMemoryLimit'].includes(cmd.type)) {
      await this.recovery.keeping;
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
        if (cmd.kind === 'atlas') await this.exportAtlas();
        else await runExport(this.ctx, this.recovery, cmd);
        return;
      case 'importClip':
        if (this.busyForClip('importClip')) return;
        await this.clips.importClip(cmd, this.resting());
        return;
      case 'decompose':
        if (this.busyForClip('decompose')) return;
        this.activeWork = 'atlas';
        this.phase = 'decomposing';
        await this.clips.decompose(cmd);
        return;
      case 'showFrame':
        await this.clips.showFrame(cmd.frame);
        return;
      case 'openAtlas':
        if (this.busyForClip('openAtlas')) return;
        if (await this.clips.openAtlas(cmd.bytes, this.resting())) this.activeWork = 'atlas';
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

  private fail(kind: ErrorKind, text: string, opts: FailOptions = {}): void {
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
            : e instanceof ModelLoadError && e.kind === 'no-space'
              ? 'Free some space for this site (clear other sites’ data, or other cached models here), or use model files from disk.'
              : e instanceof ModelLoadError && (e.kind === 'hash-mismatch' || e.kind === 'size-mismatch')
                ? 'The file arrived damaged and was discarded; try again (the download starts that file over).'
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
    const back = this.resting();
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
    if (this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') || this.activeRun()) {
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
    const before = this.resting();
    this.activeWork = 'image';
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
      this.edit.fallback =
        this.edit.checkpoint && this.edit.input ? { checkpoint: this.edit.checkpoint, input: this.edit.input } : null;
      this.edit.disposeJob();
      this.edit.input = { image, quality: cmd.quality };
      this.edit.checkpoint = null;
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
        this.edit.job = await this.ctx.jobs.create(engine, model, image, config);
        await this.edit.saveCheckpoint();
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
        this.edit.disposeJob();
        this.machine.to('failed');
        return false;
      }
      const lost = await this.isDeviceFailure(e);
      // The job exists and is checkpointed: the run loop replaces the device and continues.
      if (lost && this.edit.job && this.edit.checkpoint) return !this.requests.stop || this.abandonSetup();
      this.edit.disposeJob();
      if (e instanceof GpuOutOfMemoryError) {
        await this.recovery.outOfMemory(e, 'start');
        return false;
      }
      this.fail(lost ? 'device-lost' : e instanceof ConfigError ? 'config' : 'internal', message(e), {
        command: 'start',
        hint: lost ? 'Try again; a new GPU device will be opened.' : undefined,
      });
      await this.recovery.bringBackFallback();
      return false;
    }
    if (this.requests.stop) return this.abandonSetup();
    return true;
  }

  /** A stop during setup: the new run is dropped and the edit from before (if any) comes back. */
  private async abandonSetup(): Promise<false> {
    this.edit.disposeJob();
    this.edit.checkpoint = null;
    await this.recovery.bringBackFallback();
    return false;
  }

  private announceStart(): void {
    const job = this.edit.job!;
    const input = this.edit.input!;
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
    if (this.machine.is('training', 'decomposing', 'preparing', 'loadingModel') && this.activeRun()) {
      this.requests.pause = true;
      this.machine.to('pausing');
    } else if (this.machine.is('recovering') && this.activeRun()) {
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
    } else if (this.machine.is('stopped') && this.activeWork === 'atlas' && !this.clips.active) {
      this.phase = 'decomposing';
      this.clips.continue();
    } else if (this.machine.is('stopped') && this.edit.job && !this.trainer.isRunning) {
      // Continue a stopped (or opened) edit.
      this.requests.reset();
      this.phase = 'training';
      this.machine.to('training');
      void this.trainer.run();
    }
  }

  private stop(): void {
    if (this.machine.is('importing') && this.clips.cancelImport()) {
      this.machine.to('stopping');
      return;
    }
    if (
      this.machine.is('training', 'decomposing', 'pausing', 'paused', 'preparing', 'loadingModel') &&
      this.activeRun()
    ) {
      this.requests.stop = true;
      this.requests.pause = false;
      this.machine.to('stopping');
      if (this.phase === 'loadingModel') this.models.cancel();
      this.requests.wake();
    } else if (this.machine.is('recovering') && this.activeRun()) {
      this.requests.stop = true;
    }
  }

  private activeRun(): boolean {
    return this.trainer.isRunning || this.isRunSetup || this.clips.active;
  }

  /** The state of the work that is not running: the image edit's or the clip decomposition's. */
  private resting(): RunState {
    return this.activeWork === 'atlas' ? this.clips.restingState() : this.edit.restingState();
  }

  /** A clip command while a run or an import goes on is refused (the page does not offer it then). */
  private busyForClip(command: 'importClip' | 'decompose' | 'openAtlas'): boolean {
    if (!this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') && !this.activeRun()) return false;
    this.fail('video', 'Stop the running work before importing or decomposing a clip.', { command });
    return true;
  }

  private async exportAtlas(): Promise<void> {
    const bytes = await this.clips.exportAtlas();
    if (!bytes) {
      this.fail('video', 'There is no decomposition to download yet.', { command: 'export' });
      return;
    }
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    this.post({ type: 'exported', kind: 'atlas', filename: exportFilename('atlas'), blob });
  }

  private async renderPreview(): Promise<void> {
    const job = this.edit.job;
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
      await this.recovery.outOfMemory(e, 'start');
      return;
    }
    console.error(e);
    this.fail('internal', message(e), { command: 'start' });
    this.machine.to('stopped');
  }

  // ------------------------------------------------------------------------------------------------ device loss

  private onDeviceLost(e: DeviceLostError): void {
    this.requests.wake(); // a paused loop notices at once
    if (this.activeRun() || !this.machine.is('stopped', 'done')) return;
    if (this.activeWork === 'atlas') void this.clips.recoverIdle();
    else void this.recovery.recoverIdle(e);
  }

  // ------------------------------------------------------------------------------------------------ session

  private async openSession(cmd: OpenSessionCommand): Promise<void> {
    if (this.loadingAlone && !this.isRunSetup) await this.loadingAlone;
    if (this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') || this.activeRun()) {
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
    const before = this.resting();
    this.activeWork = 'image';
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
      const previous = this.edit.job;
      try {
        await this.gpu(async () => {
          const engine = await this.device.open();
          this.busy('restore', 'Opening the session…');
          const job = await this.ctx.jobs.restore(engine, model, image, unwrapped.job);
          previous?.dispose();
          this.edit.job = job;
          this.edit.input = { image, quality };
          this.edit.checkpoint = { bytes: unwrapped.job, step: job.stepsDone, at: performance.now() };
          this.edit.fallback = null;
        });
      } catch (e) {
        if (e instanceof GpuOutOfMemoryError || (await this.isDeviceFailure(e))) {
          await this.recovery.jobError(e, 'openSession');
          if (this.machine.is('preparing')) this.machine.to(this.edit.restingState());
          return;
        }
        this.fail('session', `The session could not be opened: ${message(e)}`, { command: 'openSession' });
        this.machine.to(this.edit.restingState());
        return;
      }
      const job = this.edit.job!;
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
        await this.recovery.jobError(e, 'openSession');
      }
      if (this.machine.is('preparing')) this.machine.to(this.edit.restingState());
    } finally {
      this.isRunSetup = false;
    }
  }

  // ------------------------------------------------------------------------------------------------ export
}
