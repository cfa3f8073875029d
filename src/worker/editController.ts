/**
 * The edit worker's controller: takes the page's commands and drives the run state machine (`runState.ts`). It owns
 * the device session, the model loader, the edit (`CurrentEdit`), the training loop (`trainer.ts`) and the recovery
 * from failures (`recovery.ts`), and talks to the page only through `WorkerPlatform.post`.
 *
 * A run is: the model (loaded first when it is not the one in memory), the setup (device, job, checkpoint, first
 * preview), then the steps. Pause and Stop work in each phase: a stop during the download cancels it, a stop during
 * the setup drops the new run and brings the previous edit back, a pause takes effect before the next step. A bad
 * session file is read completely before anything is replaced.
 *
 * A video edit (`startVideo`, a video session) is the same run on the loaded clip's decomposition: its job
 * (videoTrainable.ts) goes through the same trainer, checkpoints and recovery (restored on the clip and atlas it was
 * made from); its previews show one frame and the edited atlas, and its frames are rendered and downloaded while
 * no step runs (videoExport.ts).
 */
import { ModelLoadError } from '../clip/modelManager';
import { ConfigError, validateConfig } from '../edit/config';
import { readJobSession, SessionRestoreError } from '../edit/jobSession';
import { fullResolutionExport } from '../edit/qualityLevels';
import type { EditConfig } from '../edit/config';
import type { RgbaImage } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import { LayerDataError } from '../video/edit/layerData';
import { defaultLayer, resolveVideoConfig, VIDEO_QUALITY, videoPreset } from '../video/edit/videoConfig';
import { readVideoSettings } from '../video/edit/videoJob';
import { RENDER_KINDS, type RenderKind } from '../edit/jobTypes';
import { NoWebGpuError } from '../gpu/device';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import type { DeviceSession } from './deviceSession';
import type { AtlasRunFactory } from './atlasRun';
import { ClipWork, type ClipImporter } from './clipWork';
import { exportFilename, isVideoExportKind, runExport, type ExportInput } from './exporter';
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
  StartVideoCommand,
  VideoEditInfo,
} from './protocol';
import { RUN_ACTIVE, RunStateMachine, type RunState } from './runState';
import { SessionFileError, unwrapSession, type UnwrappedSession } from './sessionFile';
import { Recovery } from './recovery';
import { RunRequests, Trainer } from './trainer';
import { CurrentEdit, Serial, errorMessage as message, type FailOptions, type WorkerContext } from './workerContext';
import { renderVideo, runVideoExport } from './videoExport';
import { middleFrame } from './videoTrainable';
import {
  isVideoJob,
  type JobFactory,
  type TrainableJob,
  type VideoJobFactory,
  type VideoSource,
  type WorkerPlatform,
} from './workerTypes';

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
  /** Video edits of the clip's decomposition; without it, `startVideo` is refused. */
  videoJobs?: VideoJobFactory;
}

/** A source text for a video edit that names none (the CLI's withSourceDefault): the reference's generic "photo". */
function withSourceDefault(settings: Partial<EditConfig>): Partial<EditConfig> {
  const s = settings.srcText;
  const named = Array.isArray(s) ? s.some((x) => String(x).trim()) : !!String(s ?? '').trim();
  return named ? settings : { ...settings, srcText: 'photo' };
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
  /**
   * Which work Resume continues and the resting state describes: the edit (of the photo or of the clip) or the
   * clip's decomposition.
   */
  private activeWork: 'image' | 'atlas' = 'image';
  private readonly videoJobs: VideoJobFactory | null;
  /** The frame a video edit's preview shows (null: the middle one). */
  private videoFrame: number | null = null;
  /** A video edit's frames are being rendered or exported (a new edit waits until they are). */
  private rendering = false;

  constructor(opts: EditControllerOptions) {
    this.platform = opts.platform;
    this.models = opts.models;
    this.videoJobs = opts.videoJobs ?? null;
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
      restoreJob: (engine, model, input, session) => this.restoreJob(engine, model, input, session),
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
      case 'startVideo':
        await this.startVideo(cmd);
        return;
      case 'previewFrame':
        await this.previewFrame(cmd.frame);
        return;
      case 'renderVideo':
        await this.whileRendering('renderVideo', () => renderVideo(this.ctx, this.recovery));
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
        else if (isVideoExportKind(cmd.kind)) {
          const video = { ...cmd, kind: cmd.kind };
          await this.whileRendering('export', () => runVideoExport(this.ctx, this.recovery, video));
        } else await runExport(this.ctx, this.recovery, cmd);
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

  /** A start, a video start or a session open is refused while a run, a model load or a video render goes on. */
  private runBusy(command: EditCommand['type'], text: string, kind: ErrorKind = 'internal'): boolean {
    if (this.rendering) {
      this.fail(kind, 'The video edit is being rendered or downloaded; wait for it to finish.', { command });
      return true;
    }
    if (this.machine.is(...RUN_ACTIVE, 'loadingModel', 'recovering') || this.activeRun()) {
      this.fail(kind, text, { command });
      return true;
    }
    return false;
  }

  private async start(cmd: StartCommand): Promise<void> {
    if (this.loadingAlone && !this.isRunSetup) await this.loadingAlone;
    if (this.runBusy('start', 'An edit is already running; stop it first.')) return;
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
    await this.runNew('start', cmd.model, { image, quality: cmd.quality }, (engine, model) =>
      this.ctx.jobs.create(engine, model, image, config),
    );
  }

  /** The loaded clip and its decomposition, or null with the page told why. */
  private async videoSource(command: 'startVideo' | 'openSession'): Promise<VideoSource | null> {
    const clip = this.clips.loadedClip;
    if (!this.videoJobs) {
      this.fail('video', 'Video edits are not available in this build.', { command });
      return null;
    }
    if (!clip) {
      this.fail('video', 'Add a clip and decompose it first.', { command });
      return null;
    }
    if (this.clips.active) {
      this.fail('video', 'The clip is still being decomposed; wait for it to finish or stop it first.', { command });
      return null;
    }
    const hasForeground = this.clips.hasForeground;
    const atlas = hasForeground === null ? null : await this.clips.exportAtlas().catch(() => null);
    if (!atlas || hasForeground === null) {
      this.fail('video', 'Decompose the clip first (or open its saved decomposition).', { command });
      return null;
    }
    return { clip, atlas, hasForeground };
  }

  private async startVideo(cmd: StartVideoCommand): Promise<void> {
    if (this.loadingAlone && !this.isRunSetup) await this.loadingAlone;
    if (this.clips.active) {
      this.fail('video', 'The clip is still being decomposed; wait for it to finish or stop it first.', {
        command: 'startVideo',
      });
      return;
    }
    if (this.runBusy('startVideo', 'An edit is already running; stop it first.')) return;
    if (!this.videoJobs || !this.clips.loadedClip || this.clips.hasForeground === null) {
      await this.videoSource('startVideo'); // says which is missing
      return;
    }
    const hasForeground = this.clips.hasForeground;
    let config: EditConfig;
    let layer;
    try {
      if (!(cmd.quality in VIDEO_QUALITY)) {
        throw new ConfigError([
          { key: 'quality', expected: `one of ${Object.keys(VIDEO_QUALITY).join(', ')}`, got: String(cmd.quality) },
        ]);
      }
      const preset = cmd.preset ? videoPreset(cmd.preset) : null;
      layer = cmd.layer ?? defaultLayer(cmd.config, preset, hasForeground);
      config = validateConfig(resolveVideoConfig(cmd.quality, withSourceDefault(cmd.config)), {
        requirePrompts: true,
      });
    } catch (e) {
      this.fail(e instanceof ConfigError ? 'config' : 'internal', message(e), { command: 'startVideo' });
      return;
    }
    if (layer === 'foreground' && !hasForeground) {
      this.fail('video', 'This decomposition has no foreground layer (background only): edit the background.', {
        command: 'startVideo',
      });
      return;
    }
    const source = await this.videoSource('startVideo');
    if (!source) return;
    const quality = cmd.quality;
    const input: ExportInput = { image: source.clip.frames[0], quality, video: { source, quality, layer } };
    const settings = { layer, quality, config };
    await this.runNew('startVideo', cmd.model, input, (engine, model) =>
      this.videoJobs!.create(engine, model, source, settings),
    );
  }

  /** A new run: the model, the setup (`prepare`), the steps. The edit from before comes back if it fails early. */
  private async runNew(
    command: 'start' | 'startVideo',
    spec: ModelSpec,
    input: ExportInput,
    create: (engine: Engine, model: LoadedModel) => Promise<TrainableJob>,
  ): Promise<void> {
    const before = this.resting();
    this.activeWork = 'image';
    this.requests.reset();
    this.isRunSetup = true;
    try {
      const model = await this.ensureModel(spec, command);
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
      this.edit.input = input;
      this.edit.checkpoint = null;
      this.trainer.newEdit();
      const ready = await this.prepare(model, create, command);
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
    create: (engine: Engine, model: LoadedModel) => Promise<TrainableJob>,
    command: 'start' | 'startVideo',
  ): Promise<boolean> {
    try {
      await this.gpu(async () => {
        this.busy('device', 'Opening the GPU…');
        const engine = await this.device.open();
        if (this.requests.stop) return;
        this.busy(
          'prompts',
          command === 'startVideo'
            ? 'Preparing the layer’s atlas, encoding the prompts and setting up the generator…'
            : 'Encoding the prompts and setting up the generator…',
        );
        this.edit.job = await create(engine, model);
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
          command,
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
        await this.recovery.outOfMemory(e, command);
        return false;
      }
      const kind: ErrorKind = lost
        ? 'device-lost'
        : e instanceof ConfigError
          ? 'config'
          : e instanceof LayerDataError
            ? 'video'
            : 'internal';
      this.fail(kind, message(e), {
        command,
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

  /** Restores an edit from its session: the image job on its photo, a video job on its clip's decomposition. */
  private async restoreJob(
    engine: Engine,
    model: LoadedModel,
    input: ExportInput,
    session: Uint8Array,
  ): Promise<TrainableJob> {
    if (!input.video) return this.ctx.jobs.restore(engine, model, input.image, session);
    if (!this.videoJobs) throw new Error('Video edits are not available in this build.');
    return this.videoJobs.restore(engine, model, input.video.source, session);
  }

  /** What the page knows of the current video edit (undefined for an image edit). */
  private videoInfo(): VideoEditInfo | undefined {
    const job = this.edit.job;
    const video = this.edit.input?.video;
    if (!isVideoJob(job) || !video) return undefined;
    return { layer: job.layer, frames: job.frameCount, frameRate: job.frameRate, quality: video.quality };
  }

  private announceStart(): void {
    const job = this.edit.job!;
    const input = this.edit.input!;
    const video = this.videoInfo();
    this.post({
      type: 'started',
      totalSteps: job.totalSteps,
      step: job.stepsDone,
      workingSize: job.workingSize,
      fullSize: job.fullRenderSize,
      seed: job.config.seed,
      config: job.config,
      quality: input.quality,
      fullResolutionExport: !video && fullResolutionExport(input.quality),
      ...(video ? { video } : {}),
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
    const video = isVideoJob(job) ? job : null;
    if (video) video.previewFrame = this.videoFrame ?? middleFrame(video.frameCount);
    const renders = await job.render();
    const images = {} as Record<RenderKind, ImageBitmap>;
    const { width, height } = renders.composite;
    for (const kind of RENDER_KINDS) images[kind] = await this.platform.toBitmap(renders[kind]);
    // A video edit: the frame shown, and the edited atlas (computed once per step, so the frame reused it).
    const atlas = video ? await this.platform.toBitmap(await video.renderAtlas()) : undefined;
    this.trainer.notePreview(performance.now() - t0);
    this.post({
      type: 'preview',
      step: job.stepsDone,
      width,
      height,
      images,
      ...(video ? { frame: video.previewFrame, atlas } : {}),
    });
  }

  /** The page shows another frame of the video edit: the next preview shows it (at once when no step runs). */
  private async previewFrame(frame: number): Promise<void> {
    const job = this.edit.job;
    if (!isVideoJob(job)) {
      this.fail('video', 'There is no video edit to show a frame of.', { command: 'previewFrame' });
      return;
    }
    if (!Number.isFinite(frame)) {
      this.fail('video', `Frame ${String(frame)} is not a frame number.`, { command: 'previewFrame' });
      return;
    }
    this.videoFrame = Math.max(0, Math.min(job.frameCount - 1, Math.round(frame)));
    // While steps run, the trainer's next preview shows it; otherwise render it now.
    if (!this.machine.is('stopped', 'done', 'paused')) return;
    try {
      await this.gpu(() => this.renderPreview());
    } catch (e) {
      await this.recovery.jobError(e, 'previewFrame');
    }
  }

  /** Renders or exports a video edit's frames, with new edits held off until it is done. */
  private async whileRendering(command: 'renderVideo' | 'export', work: () => Promise<void>): Promise<void> {
    if (this.rendering) {
      this.fail('video', 'The video edit is already being rendered or downloaded; wait for it to finish.', {
        command,
      });
      return;
    }
    this.rendering = true;
    try {
      await work();
    } finally {
      this.rendering = false;
    }
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
    let unwrapped: UnwrappedSession;
    let meta: Record<string, string>;
    try {
      unwrapped = unwrapSession(cmd.bytes);
      // The job's own session too, before a model loads or a device opens.
      meta = readJobSession(unwrapped.job).tensors.metadata;
    } catch (e) {
      const known = e instanceof SessionFileError || e instanceof SessionRestoreError;
      this.fail('session', known ? e.message : `This file is not a session: ${message(e)}`, {
        command: 'openSession',
      });
      return;
    }
    const input =
      meta.video !== undefined ? await this.videoSessionInput(unwrapped, meta) : this.imageSessionInput(cmd, unwrapped);
    if (!input) return;
    const quality = input.quality;
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
          const job = await this.restoreJob(engine, model, input, unwrapped.job);
          previous?.dispose();
          this.edit.job = job;
          this.edit.input = input;
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
        image: unwrapped.image && !input.video ? { ...unwrapped.image, data: unwrapped.image.data.slice() } : null,
        ...(input.video ? { video: this.videoInfo() } : {}),
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

  /** An image session's input: the photo in the file, else the page's. Null when there is none (the page told). */
  private imageSessionInput(cmd: OpenSessionCommand, unwrapped: UnwrappedSession): ExportInput | null {
    const image = unwrapped.image ?? (cmd.image ? this.platform.readPixels(cmd.image) : null);
    if (!image) {
      this.fail(
        'session',
        'This session file carries no photo. Drop the photo it was made from first, then open it again.',
        { command: 'openSession' },
      );
      return null;
    }
    return { image, quality: (unwrapped.info?.quality as AppQuality | undefined) ?? 'standard' };
  }

  /**
   * A video session's input: the loaded clip's decomposition, checked against what the session edits (its layer,
   * and the clip's size and frame count when the file records them). Null when it cannot be opened (the page told).
   */
  private async videoSessionInput(
    unwrapped: UnwrappedSession,
    meta: Record<string, string>,
  ): Promise<ExportInput | null> {
    const command = 'openSession';
    let settings;
    try {
      settings = readVideoSettings(meta);
    } catch (e) {
      this.fail('session', message(e), { command });
      return null;
    }
    if (!this.clips.loadedClip || this.clips.hasForeground === null) {
      this.fail(
        'session',
        'This session is a video edit: add the clip it was made from and decompose it (or open its saved ' +
          'decomposition) first, then open the session again.',
        { command },
      );
      return null;
    }
    const source = await this.videoSource(command);
    if (!source) return null;
    const { clip } = source;
    const made = unwrapped.info?.clip;
    if (made && (made.width !== clip.width || made.height !== clip.height || made.frames !== clip.frames.length)) {
      this.fail(
        'session',
        new SessionRestoreError(
          `This session was made on a ${made.width}×${made.height} px clip of ${made.frames} frames; the clip ` +
            `loaded is ${clip.width}×${clip.height} px with ${clip.frames.length} frames. Import the clip it was ` +
            'made from with the same trim and size.',
        ).message,
        { command },
      );
      return null;
    }
    if (settings.layer === 'foreground' && !source.hasForeground) {
      this.fail(
        'session',
        'This session edits the foreground layer; the loaded decomposition has none (background only). Decompose ' +
          'the clip with two layers, then open the session again.',
        { command },
      );
      return null;
    }
    const quality = (unwrapped.info?.quality as AppQuality | undefined) ?? 'standard';
    return { image: clip.frames[0], quality, video: { source, quality, layer: settings.layer } };
  }
}
