/**
 * The worker's run state machine, driven through the controller with fake devices, models and jobs (no GPU): every
 * transition of the table is taken by one of these scenarios, the failure ones included (lost devices, out of
 * memory, setups that fail, downloads cancelled), and the last test checks that together they cover the table.
 */
import { describe, expect, it, vi } from 'vitest';
import { ModelLoadError } from '../clip/modelManager';
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig } from '../edit/config';
import type { EditRenders, RgbaImage, StepReport } from '../edit/jobTypes';
import { NoWebGpuError } from '../gpu/device';
import type { Engine } from '../gpu/engine';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import { EditController, type DeviceLike } from './editController';
import type { LoadedModel, ModelLoaderLike } from './modelLoader';
import type { EditCommand, EditEvent, ModelSpec } from './protocol';
import { RUN_STATES, RUN_TRANSITIONS, RunStateMachine, RunTransitionError, type RunState } from './runState';
import { wrapSession } from './sessionFile';
import {
  isVideoJob,
  type EncodeVideoOptions,
  type EncodedVideo,
  type JobFactory,
  type TrainableJob,
  type VideoFrameRenders,
  type VideoJobFactory,
  type VideoJobSettings,
  type VideoSource,
  type VideoTrainableJob,
} from './workerTypes';
import { unzipSync } from 'fflate';
import { unwrapSession } from './sessionFile';
import { VideoEncodeError } from '../video/media/encodeError';
import type { EditLayer } from '../video/edit/layerData';
import { jobSessionMetadata, sessionTensors } from '../edit/jobSession';
import { VideoImportError } from '../video/media/importError';
import type { VideoClip } from '../video/media/videoClip';
import type { AtlasRun, AtlasRunFactory, AtlasViews } from './atlasRun';
import { atlasConfig } from '../video/atlas/atlasConfig';
import { ATLAS_FORMAT, readAtlasInfo } from '../video/atlas/atlasFile';
import { encodeSafetensors } from '../nn/safetensors';

/** Every transition any scenario took. */
const taken = new Set<string>();

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const IMAGE: RgbaImage = { width: 8, height: 6, data: new Uint8ClampedArray(8 * 6 * 4).fill(128) };
const RENDERS: EditRenders = { composite: IMAGE, edit: IMAGE, alpha: IMAGE, greenscreen: IMAGE };
const MODEL: ModelSpec = { modelId: 'tiny', baseUrl: '/models/', precision: 'fp32' };
/** A small generator, so that the sessions the fake jobs save are small. */
const CONFIG: Partial<EditConfig> = {
  screenText: 'golden',
  compText: 'golden dog',
  srcText: 'dog',
  nEpochs: 4,
  numScales: 2,
  skipN33d: 8,
  skipN33u: 8,
  skipN11: 4,
};

/** What a fake step does: succeed, fail, or wait for the test. */
type StepPlan = 'ok' | 'oom' | 'lost' | 'bug' | Promise<void>;

class FakeJob implements TrainableJob {
  stepsDone: number;
  disposed = false;
  readonly workingSize = { width: 8, height: 6 };
  readonly fullRenderSize = { width: 8, height: 6 };
  constructor(
    readonly config: EditConfig,
    private readonly world: World,
    step = 0,
  ) {
    this.stepsDone = step;
  }
  get totalSteps(): number {
    return this.config.nEpochs;
  }
  async step(): Promise<StepReport> {
    const plan = this.world.steps.shift() ?? 'ok';
    if (plan instanceof Promise) await plan;
    else if (plan === 'oom') throw new GpuOutOfMemoryError('a 1 GiB buffer does not fit');
    else if (plan === 'lost') {
      this.world.device.loseNow();
      throw new DeviceLostError('destroyed');
    } else if (plan === 'bug') throw new Error('a bug in a kernel');
    this.stepsDone++;
    const losses = {
      total: 1,
      composition: 0,
      direction: 0,
      screen: 0,
      structure: 0,
      sparsityL0: 0,
      sparsityL1: 0,
      bootstrap: 0,
    };
    return {
      step: this.stepsDone,
      totalSteps: this.totalSteps,
      losses,
      lr: 0.0025,
      fullImageStep: this.stepsDone === 1,
    };
  }
  async render(): Promise<EditRenders> {
    const failure = this.world.renderFailure;
    this.world.renderFailure = null; // once
    if (failure) throw failure;
    return RENDERS;
  }
  async saveSession(): Promise<Uint8Array> {
    return jobSession(this.config, this.stepsDone);
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** A frame-sized image filled with `v` (frame t's composite is t, its edit layer 100 + t, the atlas 200). */
const filled = (v: number): RgbaImage => ({ width: 8, height: 6, data: new Uint8ClampedArray(8 * 6 * 4).fill(v) });

/** A fake video edit: the fake job's steps, frames that say which they are, and a video session. */
class FakeVideoJob extends FakeJob implements VideoTrainableJob {
  readonly kind = 'video' as const;
  previewFrame = 0;
  constructor(
    config: EditConfig,
    world: World,
    readonly layer: EditLayer,
    private readonly clip: VideoClip,
    step = 0,
  ) {
    super(config, world, step);
  }
  get frameCount(): number {
    return this.clip.frames.length;
  }
  get frameRate(): number {
    return this.clip.frameRate;
  }
  override async render(): Promise<EditRenders> {
    await super.render(); // its failures
    return this.renderFrame(this.previewFrame);
  }
  async renderAtlas(): Promise<RgbaImage> {
    return filled(200);
  }
  async renderFrame(t: number): Promise<VideoFrameRenders> {
    const composite = filled(t);
    return { composite, edit: filled(100 + t), alpha: composite, greenscreen: composite, input: this.clip.frames[t] };
  }
  override async saveSession(): Promise<Uint8Array> {
    return jobSession(this.config, this.stepsDone, { video: JSON.stringify({ layer: this.layer, density: 0.5 }) });
  }
}

/** A real (checkable) job session of these settings at `step`, with zero weights: what the fake jobs save. */
function jobSession(config: EditConfig, step: number, extra: Record<string, string> = {}): Uint8Array {
  const tensors = sessionTensors(config).map((t) => ({
    name: t.name,
    shape: t.shape,
    data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)),
  }));
  return encodeSafetensors(tensors, {
    ...jobSessionMetadata({ config, step, optimizerSteps: step, rng: 1, datasetStep: step - 1 }),
    ...extra,
  });
}

class FakeDevice implements DeviceLike {
  lost: DeviceLostError | null = null;
  opens = 0;
  failOpen: Error | null = null;
  private lostSignal = deferred<DeviceLostError>();
  constructor(private readonly onLost: (e: DeviceLostError) => void) {}
  async open(): Promise<Engine> {
    if (this.failOpen) throw this.failOpen;
    if (this.lost || this.opens === 0) {
      this.opens++;
      this.lost = null;
      this.lostSignal = deferred();
    }
    return {} as Engine;
  }
  loseNow(): void {
    if (this.lost) return;
    this.lost = new DeviceLostError('destroyed');
    this.lostSignal.resolve(this.lost);
    this.onLost(this.lost);
  }
  retire(): void {
    this.lost = new DeviceLostError('retired');
  }
  markLost(e: DeviceLostError): void {
    this.lost ??= e;
  }
  async lostWithin(): Promise<boolean> {
    return this.lost !== null;
  }
  watch<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lostSignal.promise.then((e) => Promise.reject(e))]);
  }
  async availability() {
    return { kind: 'unavailable' as const, reason: 'no-api' as const, detail: 'fake' };
  }
  simulateLoss(): void {
    this.loseNow();
  }
  simulateFailure(): void {}
  setMemoryLimit(): void {}
  memoryStats() {
    return { usedBytes: 0, peakBytes: 0, limitBytes: null };
  }
}

class FakeModels implements ModelLoaderLike {
  current: LoadedModel | null = null;
  /** The next load waits for this (then succeeds), or fails. */
  gate: Promise<void> | null = null;
  failWith: Error | null = null;
  private abort: (() => void) | null = null;
  isLoaded(spec: ModelSpec): boolean {
    return this.current?.key === spec.modelId;
  }
  async load(spec: ModelSpec): Promise<LoadedModel> {
    const cancelled = new Promise<never>((_, reject) => {
      this.abort = () =>
        reject(new ModelLoadError('cancelled', 'onnx/vision_model.onnx', 'The download was cancelled.'));
    });
    if (this.gate) await Promise.race([this.gate, cancelled]);
    if (this.failWith) throw this.failWith;
    this.current = {
      key: spec.modelId,
      modelId: spec.modelId,
      cached: false,
      sources: [],
      visionWeights: { config: {} },
    } as unknown as LoadedModel;
    return this.current;
  }
  cancel(): void {
    this.abort?.();
  }
  async clearCache(): Promise<void> {}
}

/** A fake decomposition: each step follows the plan (like FakeJob's). */
class FakeAtlasRun implements AtlasRun {
  disposed = false;
  readonly layers = { mode: 'two-layers' as const, source: 'motion' as const, reason: 'An object was found.' };
  constructor(
    private readonly world: World,
    public iteration: number,
    readonly iterations: number,
    readonly backgroundOnly = false,
  ) {}
  async step(): Promise<void> {
    const plan = this.world.atlasSteps.shift() ?? 'ok';
    if (plan instanceof Promise) await plan;
    else if (plan === 'oom') throw new GpuOutOfMemoryError('a 1 GiB atlas does not fit');
    else if (plan === 'lost') {
      this.world.device.loseNow();
      throw new DeviceLostError('destroyed');
    } else if (plan === 'bug') throw new Error('a bug in the fit');
    this.iteration++;
  }
  async log() {
    const terms = { rgb: 0.1, rigidity: 1, globalRigidity: 0, flow: 0.5, alphaFlow: 0, sparsity: 0, mask: 0.3 };
    return { iteration: this.iteration, terms, psnr: 20 };
  }
  async views(): Promise<AtlasViews> {
    return { reconstruction: IMAGE, alpha: IMAGE, background: IMAGE, foreground: IMAGE };
  }
  async save(): Promise<Uint8Array> {
    return new Uint8Array([this.iteration]);
  }
  dispose(): void {
    this.disposed = true;
  }
}

const CLIP: VideoClip = {
  width: 8,
  height: 6,
  frameRate: 10,
  sourceFrameRate: 10,
  sourceFrameCount: 3,
  frames: [IMAGE, IMAGE, IMAGE],
  frameIndices: [0, 1, 2],
  masks: null,
  sourceName: 'clip.mp4',
};

class World {
  events: EditEvent[] = [];
  atlasSteps: StepPlan[] = [];
  /** The next import waits for this, then fails with `importFailure` or gives CLIP. */
  importGate: Promise<void> | null = null;
  importFailure: Error | null = null;
  atlasRuns: FakeAtlasRun[] = [];
  atlasFactory!: AtlasRunFactory;
  steps: StepPlan[] = [];
  renderFailure: Error | null = null;
  createFailure: Error | null = null;
  restoreFailures = 0;
  device!: FakeDevice;
  models = new FakeModels();
  jobs: FakeJob[] = [];
  controller: EditController;
  /** The controller's job factory (a test can wrap its methods). */
  factory: JobFactory;
  /** What the importer gives. */
  clip: VideoClip = CLIP;
  videoFactory: VideoJobFactory;
  videoJobs: FakeVideoJob[] = [];
  /** What the video factory was asked for: create (its settings) or restore. */
  videoCalls: Array<{ kind: 'create' | 'restore'; source: VideoSource; settings?: VideoJobSettings }> = [];
  /** The fake encoder's calls (the frames it got, the audio span) and what it answers. */
  encodes: Array<{ frames: number[]; audio: EncodeVideoOptions['audio']; quality?: string; progress: number[] }> = [];
  encoderAnswer: Partial<EncodedVideo> = {};
  encoderFailure: Error | null = null;

  constructor(opts: { modelLoaded?: boolean } = {}) {
    const factory: JobFactory = (this.factory = {
      create: async (_engine, _model, _image, config) => {
        if (this.createFailure) throw this.createFailure;
        const job = new FakeJob(config, this);
        this.jobs.push(job);
        return job;
      },
      restore: async (_engine, _model, _image, session) => {
        if (this.restoreFailures > 0) {
          this.restoreFailures--;
          throw new Error('the new device failed too');
        }
        const { decodeSafetensors } = await import('../nn/safetensors');
        const meta = decodeSafetensors(session).metadata;
        const job = new FakeJob(validateConfig(JSON.parse(meta.config)), this, Number(meta.step));
        this.jobs.push(job);
        return job;
      },
    });
    this.videoFactory = {
      create: async (_engine, _model, source, settings) => {
        if (this.createFailure) throw this.createFailure;
        this.videoCalls.push({ kind: 'create', source, settings });
        const job = new FakeVideoJob(settings.config, this, settings.layer, source.clip);
        this.videoJobs.push(job);
        return job;
      },
      restore: async (_engine, _model, source, session) => {
        if (this.restoreFailures > 0) {
          this.restoreFailures--;
          throw new Error('the new device failed too');
        }
        this.videoCalls.push({ kind: 'restore', source });
        const { decodeSafetensors } = await import('../nn/safetensors');
        const meta = decodeSafetensors(session).metadata;
        const layer = (JSON.parse(meta.video) as { layer: EditLayer }).layer;
        const job = new FakeVideoJob(
          validateConfig(JSON.parse(meta.config)),
          this,
          layer,
          source.clip,
          Number(meta.step),
        );
        this.videoJobs.push(job);
        return job;
      },
    };
    this.controller = new EditController({
      platform: {
        post: (e) => {
          this.events.push(e);
          if (e.type === 'state') taken.add(`${e.from}→${e.state}`);
        },
        toBitmap: async () => ({ close() {} }) as ImageBitmap,
        // The first bytes of the image: enough to tell which render a file holds.
        encodePng: async (img) => new Blob([img.data.slice(0, 8)]),
        readPixels: (img) => img as RgbaImage,
        encodeVideo: async (o) => {
          const call = { frames: [] as number[], audio: o.audio, quality: o.quality, progress: [] as number[] };
          this.encodes.push(call);
          for (let i = 0; i < o.frameCount; i++) {
            const f = await o.frame(i);
            call.frames.push(f.data[0]);
            o.onProgress?.(i + 1, o.frameCount);
          }
          if (this.encoderFailure) throw this.encoderFailure;
          return {
            bytes: new Uint8Array([1, 2, 3]),
            mimeType: 'video/mp4',
            container: 'mp4',
            codec: 'avc',
            width: o.width,
            height: o.height,
            frameRate: o.frameRate,
            frameCount: o.frameCount,
            hasAudio: !!o.audio,
            audioCodec: o.audio ? 'aac' : null,
            ...this.encoderAnswer,
          };
        },
      },
      device: (onLost) => (this.device = new FakeDevice(onLost)),
      models: this.models,
      jobs: factory,
      sleep: async () => undefined,
      clipImporter: async (_input, _options, onProgress, signal) => {
        const aborted = new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(new VideoImportError('cancelled', 'clip.mp4', 'stopped'))),
        );
        if (this.importGate) await Promise.race([this.importGate, aborted]);
        if (this.importFailure) throw this.importFailure;
        onProgress(3, 3);
        return this.clip;
      },
      videoJobs: this.videoFactory,
      atlases: (this.atlasFactory = {
        prepare: async (_engine, _clip, opts) => {
          const run = new FakeAtlasRun(this, 0, opts.iterations, opts.backgroundOnly);
          this.atlasRuns.push(run);
          return run;
        },
        restore: async (_engine, _clip, bytes, opts) => {
          const at = bytes.length > 1 ? readAtlasInfo(bytes).iterations : bytes[0];
          const run = new FakeAtlasRun(this, at, opts.iterations);
          this.atlasRuns.push(run);
          return run;
        },
      }),
    });
    if (opts.modelLoaded !== false) void this.models.load(MODEL);
  }

  send(cmd: EditCommand): Promise<void> {
    return this.controller.handle(cmd);
  }

  importClip(): Promise<void> {
    return this.send({ type: 'importClip', input: new Blob([new Uint8Array(4)]), options: {} });
  }

  decompose(iterations = 4): Promise<void> {
    return this.send({ type: 'decompose', iterations });
  }

  start(config: Partial<EditConfig> = CONFIG): Promise<void> {
    // The tiny level checkpoints every 2 steps (what an edit falls back to).
    return this.send({ type: 'start', model: MODEL, image: IMAGE, config, quality: 'tiny' });
  }

  get state(): RunState {
    return this.controller.machine.state;
  }

  states(): string[] {
    return this.events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
  }

  async until(state: RunState): Promise<void> {
    await vi.waitFor(() => expect(this.state).toBe(state), { timeout: 2000, interval: 1 });
  }

  errors(): string[] {
    return this.events.filter((e) => e.type === 'error').map((e) => (e as { kind: string }).kind);
  }

  has(type: EditEvent['type']): boolean {
    return this.events.some((e) => e.type === type);
  }
}

/** A world with an edit of `steps` steps: done (4 of 4) or stopped there. */
async function withEdit(steps: number): Promise<World> {
  const w = new World();
  if (steps >= 4) {
    await w.start();
    return w;
  }
  const last = deferred();
  w.steps = [...Array<StepPlan>(steps - 1).fill('ok'), last.promise];
  const run = w.start();
  await vi.waitFor(() => expect(w.steps).toHaveLength(0), { interval: 1 }); // the last step is in flight
  await w.send({ type: 'stop' });
  last.resolve();
  await run;
  return w;
}

describe('the run state machine', () => {
  it('allows exactly the transitions of its table, and tells the page each one', () => {
    for (const from of RUN_STATES) {
      for (const to of RUN_STATES) {
        const events: EditEvent[] = [];
        const m = new RunStateMachine((e) => events.push(e));
        // Walk to `from` along allowed transitions (every state is reachable from idle).
        const path = pathTo(from);
        for (const s of path) m.to(s);
        events.length = 0;
        if (from === to) {
          m.to(to);
          expect(events).toEqual([]);
        } else if (RUN_TRANSITIONS[from].includes(to)) {
          m.to(to);
          expect(events).toEqual([{ type: 'state', state: to, from, step: 0, totalSteps: 0 }]);
        } else {
          expect(() => m.to(to), `${from}→${to}`).toThrow(RunTransitionError);
          expect(m.state).toBe(from);
        }
      }
    }
  });
});

/** The shortest path of transitions from idle to `target`. */
function pathTo(target: RunState): RunState[] {
  const prev = new Map<RunState, RunState>();
  const queue: RunState[] = ['idle'];
  while (queue.length) {
    const s = queue.shift()!;
    for (const n of RUN_TRANSITIONS[s]) {
      if (n === 'idle' || prev.has(n)) continue;
      prev.set(n, s);
      queue.push(n);
    }
  }
  const path: RunState[] = [];
  for (let s = target; s !== 'idle'; s = prev.get(s)!) path.unshift(s);
  return path;
}

describe('the worker controller through every run state', () => {
  it('runs an edit to the end: idle → preparing → training → done, with progress, previews and checkpoints', async () => {
    const w = new World();
    await w.start();
    expect(w.states()).toEqual(['preparing', 'training', 'done']);
    expect(w.events.filter((e) => e.type === 'progress')).toHaveLength(4);
    expect(w.has('preview') && w.has('started')).toBe(true);
    // Start over from done, and load another model from done.
    await w.start();
    expect(w.state).toBe('done');
    expect(w.jobs[0].disposed).toBe(true);
    await w.send({ type: 'loadModel', model: { ...MODEL, modelId: 'other' } });
    expect(w.states().slice(-2)).toEqual(['loadingModel', 'done']);
  });

  it('loads the model first when needed; a cancelled or failed download goes back to what was there', async () => {
    const w = new World({ modelLoaded: false });
    const first = deferred();
    w.models.gate = first.promise;
    void w.start();
    await w.until('loadingModel');
    first.resolve();
    await w.until('done');
    expect(w.states().slice(0, 2)).toEqual(['loadingModel', 'preparing']);

    // A model alone: loading and back (idle), cancelled (idle), failing (idle, with the error).
    const v = new World({ modelLoaded: false });
    await v.send({ type: 'loadModel', model: MODEL });
    expect(v.states()).toEqual(['loadingModel', 'idle']);
    v.models.current = null;
    v.models.gate = new Promise(() => undefined);
    const load = v.send({ type: 'loadModel', model: MODEL });
    await v.until('loadingModel');
    await v.send({ type: 'cancelModel' });
    await load;
    expect(v.state).toBe('idle');
    expect(v.has('modelCancelled')).toBe(true);
    v.models.gate = null;
    v.models.failWith = new Error('offline');
    await v.send({ type: 'loadModel', model: MODEL });
    expect(v.errors()).toContain('model');
    expect(v.state).toBe('idle');

    // A run's download fails while a pause waits for it: back to no edit (pausing → idle).
    const f = new World({ modelLoaded: false });
    const gate = deferred();
    f.models.gate = gate.promise;
    f.models.failWith = new Error('offline');
    const run = f.start();
    await f.until('loadingModel');
    await f.send({ type: 'pause' });
    gate.resolve();
    await run;
    expect(f.states()).toEqual(['loadingModel', 'pausing', 'idle']);
  });

  it('pauses and stops in every phase: during the download, the setup, the first step and between steps', async () => {
    // During the download: pause, resume (back to loading), stop (the download is cancelled, nothing changes).
    const w = new World({ modelLoaded: false });
    w.models.gate = new Promise(() => undefined);
    void w.start();
    await w.until('loadingModel');
    await w.send({ type: 'pause' });
    expect(w.state).toBe('pausing');
    await w.send({ type: 'resume' });
    expect(w.state).toBe('loadingModel');
    await w.send({ type: 'stop' });
    await w.until('idle');
    expect(w.states()).toEqual(['loadingModel', 'pausing', 'loadingModel', 'stopping', 'idle']);

    // A pause during the download takes effect before the first step: the run waits, paused at step 0.
    const p = new World({ modelLoaded: false });
    const gate = deferred();
    p.models.gate = gate.promise;
    void p.start();
    await p.until('loadingModel');
    await p.send({ type: 'pause' });
    gate.resolve();
    await p.until('paused');
    expect(p.jobs[0].stepsDone).toBe(0);
    await p.send({ type: 'resume' });
    await p.until('done');

    // During the setup (the job is being made): pause then resume (back to preparing), then stop: the new run is
    // dropped and, with no edit before it, nothing is left.
    const s = new World();
    const creating = deferred();
    const create = s.factory.create;
    s.factory.create = async (...a) => {
      await creating.promise;
      return create(...a);
    };
    void s.start();
    await s.until('preparing');
    await s.send({ type: 'pause' });
    await s.send({ type: 'resume' });
    expect(s.state).toBe('preparing');
    await s.send({ type: 'stop' });
    expect(s.state).toBe('stopping');
    creating.resolve();
    await s.until('idle');
    expect(s.jobs[0].disposed).toBe(true);

    // During the first step (compiling): the pause waits for the step, a resume before it lands keeps training.
    const f = new World();
    const first = deferred();
    f.steps = [first.promise];
    void f.start();
    await f.until('training');
    await f.send({ type: 'pause' });
    expect(f.state).toBe('pausing');
    await f.send({ type: 'resume' });
    expect(f.state).toBe('training');
    await f.send({ type: 'pause' });
    first.resolve();
    await f.until('paused');
    expect(f.jobs[0].stepsDone).toBe(1);
    await f.send({ type: 'stop' });
    await f.until('stopped');
    // Continue the stopped edit, then stop it while it is pausing.
    const next = deferred();
    f.steps = [next.promise];
    await f.send({ type: 'resume' });
    expect(f.state).toBe('training');
    await f.send({ type: 'pause' });
    await f.send({ type: 'stop' });
    next.resolve();
    await f.until('stopped');
    expect(f.states().slice(-4)).toEqual(['training', 'pausing', 'stopping', 'stopped']);
  });

  it('a stop during setup brings the previous edit back (stopping → recovering → stopped)', async () => {
    const w = await withEdit(2);
    await w.until('stopped');
    const creating = deferred();
    const create = w.factory.create;
    w.factory.create = async (...a) => {
      await creating.promise;
      return create(...a);
    };
    void w.start();
    await w.until('preparing');
    await w.send({ type: 'stop' });
    creating.resolve();
    await w.until('stopped');
    expect(w.states().slice(-4)).toEqual(['preparing', 'stopping', 'recovering', 'stopped']);
    const kept = w.events.findLast((e) => e.type === 'kept');
    expect(kept).toMatchObject({ step: 2, previous: true });
  });

  it('finishes the last step when a pause or stop comes during it (pausing / stopping → done)', async () => {
    for (const request of ['pause', 'stop'] as const) {
      const w = new World();
      const last = deferred();
      w.steps = ['ok', 'ok', 'ok', last.promise];
      void w.start();
      await vi.waitFor(() => expect(w.jobs[0]?.stepsDone).toBe(3), { interval: 1 });
      await w.send({ type: request });
      last.resolve();
      await w.until('done');
      expect(w.states().slice(-2)).toEqual([request === 'pause' ? 'pausing' : 'stopping', 'done']);
    }
  });

  it('replaces a lost device and continues from the checkpoint, in training, pausing, paused and idle', async () => {
    // Training: the step fails because the device is gone.
    const w = new World();
    w.steps = ['ok', 'lost'];
    await w.start();
    expect(w.states()).toEqual(['preparing', 'training', 'recovering', 'training', 'done']);
    expect(w.events.find((e) => e.type === 'recovered')).toBeTruthy();

    // Pausing: lost during the step a pause waits for; the run recovers, then pauses.
    const p = new World();
    const gate = deferred();
    p.steps = [gate.promise];
    void p.start();
    await p.until('training');
    await p.send({ type: 'pause' });
    p.device.loseNow();
    await p.until('paused');
    expect(p.states()).toEqual(['preparing', 'training', 'pausing', 'recovering', 'pausing', 'paused']);
    // Paused: lost while waiting; it recovers, still paused… then a stop while recovering lands after it.
    p.device.loseNow();
    await vi.waitFor(() => expect(p.states().filter((s) => s === 'recovering')).toHaveLength(2), { interval: 1 });
    await p.until('paused');
    const blocked = deferred<void>();
    p.restoreFailures = 0;
    const restore = p.factory.restore;
    p.factory.restore = async (...a) => {
      await blocked.promise;
      return restore(...a);
    };
    p.device.loseNow();
    await p.until('recovering');
    await p.send({ type: 'stop' });
    blocked.resolve();
    await p.until('stopped');
    expect(p.states().slice(-3)).toEqual(['recovering', 'stopping', 'stopped']);
    p.factory.restore = restore;

    // Stopped (idle): the edit is restored at once so downloads keep working.
    p.device.loseNow();
    await vi.waitFor(() => expect(p.states().slice(-2)).toEqual(['recovering', 'stopped']), { interval: 1 });
    // Done: the same.
    const d = await withEdit(4);
    d.device.loseNow();
    await vi.waitFor(() => expect(d.states().slice(-2)).toEqual(['recovering', 'done']), { interval: 1 });

    // A recovery with a stop and a pause requested while it ran.
    const r = new World();
    const hold = deferred();
    r.steps = ['ok', 'lost'];
    const restoreR = r.factory.restore;
    r.factory.restore = async (...a) => {
      await hold.promise;
      return restoreR(...a);
    };
    void r.start();
    await r.until('recovering');
    await r.send({ type: 'pause' });
    hold.resolve();
    await r.until('paused');
    expect(r.states().slice(-3)).toEqual(['recovering', 'pausing', 'paused']);
    await r.send({ type: 'resume' });
    await r.until('done');
  });

  it('fails when no new device works (recovering → failed), and a new start may work again', async () => {
    const w = new World();
    w.steps = ['ok', 'lost'];
    w.restoreFailures = 3;
    await w.start();
    expect(w.state).toBe('failed');
    expect(w.errors()).toContain('device-lost');
    await w.start();
    expect(w.state).toBe('done');
    // From failed, a model load too.
    w.steps = ['ok', 'lost'];
    w.restoreFailures = 3;
    await w.start();
    expect(w.state).toBe('failed');
    await w.send({ type: 'loadModel', model: { ...MODEL, modelId: 'other' } });
    expect(w.states().slice(-2)).toEqual(['loadingModel', 'idle']);
  });

  it('says when there is no WebGPU at all (preparing → failed)', async () => {
    const w = new World();
    void w.controller; // the device exists once the controller does
    w.device.failOpen = new NoWebGpuError('WebGPU is not available (navigator.gpu is missing).');
    await w.start();
    expect(w.states()).toEqual(['preparing', 'failed']);
    expect(w.errors()).toEqual(['no-webgpu']);
  });

  it('keeps the edit when the GPU runs out of memory: the previous one, or the current one from its checkpoint', async () => {
    // A new run fails at once: the previous edit comes back (preparing → recovering → stopped).
    const w = await withEdit(2);
    await w.until('stopped');
    w.createFailure = new GpuOutOfMemoryError('a 2 GiB buffer does not fit');
    await w.start();
    expect(w.states().slice(-3)).toEqual(['preparing', 'recovering', 'stopped']);
    expect(w.events.findLast((e) => e.type === 'kept')).toMatchObject({ step: 2, previous: true });
    expect(w.errors()).toContain('out-of-memory');

    // A run fails at a later step: its own edit is kept (training → recovering → stopped).
    const t = new World();
    t.steps = ['ok', 'ok', 'oom'];
    await t.start();
    expect(t.states().slice(-3)).toEqual(['training', 'recovering', 'stopped']);
    expect(t.events.findLast((e) => e.type === 'kept')).toMatchObject({ step: 2, previous: false });

    // A first run with nothing to keep: back to no edit (training → recovering → idle).
    const n = new World();
    n.steps = ['oom'];
    await n.start();
    expect(n.states().slice(-3)).toEqual(['training', 'recovering', 'idle']);

    // A full-size download of a done edit: the device is replaced, the edit kept, the file saved at the working size.
    const d = await withEdit(4);
    d.renderFailure = new GpuOutOfMemoryError('the full-size render does not fit');
    await d.send({ type: 'export', kind: 'composite', fullSize: true });
    expect(d.states().slice(-2)).toEqual(['recovering', 'done']);
    expect(d.events.findLast((e) => e.type === 'exported')).toMatchObject({ kind: 'composite' });
  });

  it('brings the previous edit back when a run cannot be set up, or reports it with none (preparing → idle)', async () => {
    const w = await withEdit(2);
    await w.until('stopped');
    w.createFailure = new Error('The image is 8×6 px at the working size; the generator needs at least 9 px per side.');
    await w.start();
    expect(w.states().slice(-3)).toEqual(['preparing', 'recovering', 'stopped']);
    expect(w.errors()).toContain('internal');

    const n = new World();
    n.createFailure = new Error('too small');
    await n.start();
    expect(n.states()).toEqual(['preparing', 'idle']);
  });

  it('stops a run whose step fails for another reason (training / pausing → stopped), the error reported', async () => {
    const w = new World();
    w.steps = ['ok', 'bug'];
    await w.start();
    expect(w.states().slice(-2)).toEqual(['training', 'stopped']);
    expect(w.errors()).toEqual(['internal']);

    const p = new World();
    const gate = deferred();
    p.steps = [gate.promise, 'bug'];
    void p.start();
    await p.until('training');
    p.steps = [];
    await p.send({ type: 'pause' });
    p.renderFailure = new Error('a bug in the preview');
    gate.resolve();
    await p.until('stopped');
    expect(p.states().slice(-2)).toEqual(['pausing', 'stopped']);
  });

  it('opens sessions (preparing → stopped / done); a bad file changes nothing', async () => {
    const w = await withEdit(2);
    await w.until('stopped');
    const before = w.states().length;
    await w.send({ type: 'openSession', model: MODEL, bytes: new Uint8Array([1, 2, 3]) });
    expect(w.errors()).toEqual(['session']);
    expect(w.states().length).toBe(before);
    expect(w.jobs.at(-1)!.disposed).toBe(false);

    const config = validateConfig({ ...DEFAULT_EDIT_CONFIG, ...CONFIG });
    const session = async (step: number) =>
      wrapSession(jobSession(config, step), IMAGE, { quality: 'tiny', savedAt: '2026-12-03T00:00:00Z' });
    await w.send({ type: 'openSession', model: MODEL, bytes: await session(3) });
    expect(w.states().slice(-2)).toEqual(['preparing', 'stopped']);
    await w.send({ type: 'openSession', model: MODEL, bytes: await session(4) });
    expect(w.states().slice(-2)).toEqual(['preparing', 'done']);
    expect(w.events.filter((e) => e.type === 'sessionOpened')).toHaveLength(2);
    // From a stopped edit, the model panel can load another model.
    await w.send({ type: 'openSession', model: MODEL, bytes: await session(1) });
    await w.send({ type: 'loadModel', model: { ...MODEL, modelId: 'other' } });
    expect(w.states().slice(-2)).toEqual(['loadingModel', 'stopped']);
    // And start over from stopped with the model in memory.
    await w.start();
    expect(w.states().slice(-3)).toEqual(['preparing', 'training', 'done']);
  });

  it('loads a missing model for a run started from a stopped edit (stopped → loadingModel → preparing)', async () => {
    const w = await withEdit(2);
    await w.until('stopped');
    await w.send({
      type: 'start',
      model: { ...MODEL, modelId: 'another' },
      image: IMAGE,
      config: CONFIG,
      quality: 'standard',
    });
    expect(w.states().slice(-4)).toEqual(['loadingModel', 'preparing', 'training', 'done']);
  });

  it('refuses a second start while a run goes on, and test hooks without ?debug=1', async () => {
    const w = new World();
    const gate = deferred();
    w.steps = [gate.promise];
    void w.start();
    await w.until('training');
    await w.start();
    expect(w.errors()).toEqual(['internal']);
    await w.send({ type: 'simulateDeviceLoss' });
    expect(w.errors()).toEqual(['internal', 'internal']);
    gate.resolve();
    await w.until('done');
  });
});

describe('the worker controller with a clip (video part 1)', () => {
  it('imports a clip and decomposes it to the end; a new import replaces it only when it succeeds', async () => {
    const w = new World();
    await w.importClip();
    expect(w.states()).toEqual(['importing', 'idle']);
    expect(w.events.find((e) => e.type === 'clipImported')).toMatchObject({ clip: { frames: 3, width: 8 } });
    await w.decompose(3);
    expect(w.states().slice(-3)).toEqual(['preparing', 'decomposing', 'done']);
    expect(w.events.filter((e) => e.type === 'atlasPreview').length).toBeGreaterThan(0);
    expect(w.events.find((e) => e.type === 'atlasProgress')).toMatchObject({ iterations: 3 });
    // A failing import from a decomposed clip: back to done, the decomposition kept.
    w.importFailure = new VideoImportError('corrupt', 'broken.mp4', 'broken.mp4 cannot be read');
    await w.importClip();
    expect(w.states().slice(-2)).toEqual(['importing', 'done']);
    expect(w.events.findLast((e) => e.type === 'error')).toMatchObject({ kind: 'video', importKind: 'corrupt' });
    expect(w.atlasRuns[0].disposed).toBe(false);
    await w.send({ type: 'export', kind: 'atlas' });
    expect(w.events.findLast((e) => e.type === 'exported')).toMatchObject({ kind: 'atlas' });
    // A good one replaces it.
    w.importFailure = null;
    await w.importClip();
    expect(w.states().slice(-2)).toEqual(['importing', 'idle']);
    expect(w.atlasRuns[0].disposed).toBe(true);
  });

  it('stops an import (the clip from before stays), and a failing import after an image edit goes back to it', async () => {
    const w = new World();
    w.importGate = new Promise(() => undefined);
    const run = w.importClip();
    await w.until('importing');
    await w.send({ type: 'stop' });
    await run;
    expect(w.states()).toEqual(['importing', 'stopping', 'idle']);
    expect(w.events.some((e) => e.type === 'clipCancelled')).toBe(true);

    const s = await withEdit(2);
    await s.until('stopped');
    s.importFailure = new VideoImportError('no-frames', 'empty.zip', 'empty.zip has no frames');
    await s.importClip();
    expect(s.states().slice(-2)).toEqual(['importing', 'stopped']);
  });

  it('pauses, resumes, stops and continues a decomposition, in its setup and between iterations', async () => {
    const w = new World();
    await w.importClip();
    const gate = deferred();
    w.atlasSteps = [gate.promise];
    void w.decompose(5);
    await w.until('decomposing');
    await w.send({ type: 'pause' });
    expect(w.state).toBe('pausing');
    await w.send({ type: 'resume' });
    expect(w.state).toBe('decomposing');
    await w.send({ type: 'pause' });
    gate.resolve();
    await w.until('paused');
    await w.send({ type: 'resume' });
    await vi.waitFor(() => expect(w.states().slice(-1)).toEqual(['decomposing']), { interval: 1 });
    const next = deferred();
    w.atlasSteps = [next.promise];
    await vi.waitFor(() => expect(w.atlasSteps).toHaveLength(0), { interval: 1 });
    await w.send({ type: 'stop' });
    next.resolve();
    await w.until('stopped');
    expect(w.states().slice(-2)).toEqual(['stopping', 'stopped']);
    // Continue the stopped decomposition to the end.
    await w.send({ type: 'resume' });
    await w.until('done');
    expect(w.states().slice(-2)).toEqual(['decomposing', 'done']);

    // Paused, then stopped.
    const p = new World();
    await p.importClip();
    const g2 = deferred();
    p.atlasSteps = [g2.promise];
    void p.decompose(5);
    await p.until('decomposing');
    await p.send({ type: 'pause' });
    g2.resolve();
    await p.until('paused');
    await p.send({ type: 'stop' });
    await p.until('stopped');
    expect(p.states().slice(-3)).toEqual(['paused', 'stopping', 'stopped']);

    // A stop during the setup: nothing decomposed.
    const s = new World();
    await s.importClip();
    const setup = deferred();
    const prepare = s.atlasFactory.prepare;
    s.atlasFactory.prepare = async (...a) => {
      await setup.promise;
      return prepare(...a);
    };
    void s.decompose(3);
    await s.until('preparing');
    await s.send({ type: 'stop' });
    setup.resolve();
    await s.until('idle');
    expect(s.states().slice(-3)).toEqual(['preparing', 'stopping', 'idle']);
  });

  it('continues a decomposition on a new device after a loss, and stops it on a bug', async () => {
    const w = new World();
    await w.importClip();
    w.atlasSteps = ['ok', 'lost'];
    await w.decompose(4);
    expect(w.states().slice(-4)).toEqual(['decomposing', 'recovering', 'decomposing', 'done']);
    expect(w.events.some((e) => e.type === 'recovered')).toBe(true);
    // A loss while it rests: restored at once.
    w.device.loseNow();
    await vi.waitFor(() => expect(w.states().slice(-2)).toEqual(['recovering', 'done']), { interval: 1 });

    const b = new World();
    await b.importClip();
    b.atlasSteps = ['ok', 'bug'];
    await b.decompose(4);
    expect(b.states().slice(-2)).toEqual(['decomposing', 'stopped']);
    expect(b.errors()).toEqual(['internal']);
  });
});

describe('opening a saved decomposition', () => {
  const atlasFile = (geometry: { width: number; height: number; frames: number }, iterations: number) =>
    encodeSafetensors([], {
      format: ATLAS_FORMAT,
      geometry: JSON.stringify(geometry),
      config: JSON.stringify(atlasConfig(geometry.width, { iterations: 6 })),
      iterations: String(iterations),
      frameRate: '10',
      frameIndices: JSON.stringify([...Array(geometry.frames).keys()]),
    });

  it('re-uses a decomposition of the clip (preparing → stopped), and refuses another clip’s or a bad file', async () => {
    const w = new World();
    await w.send({ type: 'openAtlas', bytes: atlasFile({ width: 8, height: 6, frames: 3 }, 2) });
    expect(w.errors()).toEqual(['video']); // no clip yet
    await w.importClip();
    const before = w.states().length;
    await w.send({ type: 'openAtlas', bytes: atlasFile({ width: 16, height: 6, frames: 3 }, 2) });
    expect(w.events.findLast((e) => e.type === 'error')).toMatchObject({ message: expect.stringContaining('16×6') });
    await w.send({ type: 'openAtlas', bytes: new Uint8Array([1, 2, 3, 4]) });
    expect(w.states().length).toBe(before);
    await w.send({ type: 'openAtlas', bytes: atlasFile({ width: 8, height: 6, frames: 3 }, 2) });
    expect(w.states().slice(-2)).toEqual(['preparing', 'stopped']);
    expect(w.events.findLast((e) => e.type === 'atlasProgress')).toMatchObject({ iteration: 2, iterations: 6 });
    // It continues from there.
    await w.send({ type: 'resume' });
    await w.until('done');
  });
});

/** A world with CLIP imported and decomposed (two layers, or background only). */
async function decomposed(opts: { backgroundOnly?: boolean; clip?: VideoClip } = {}): Promise<World> {
  const w = new World();
  if (opts.clip) w.clip = opts.clip;
  await w.importClip();
  await w.send({ type: 'decompose', iterations: 2, backgroundOnly: opts.backgroundOnly });
  expect(w.state).toBe('done');
  return w;
}

const startVideo = (w: World, over: Partial<Extract<EditCommand, { type: 'startVideo' }>> = {}) =>
  w.send({ type: 'startVideo', model: MODEL, config: CONFIG, quality: 'tiny', layer: null, ...over });

/** A world with a video edit of the decomposed clip: run to the end (4 steps). */
async function withVideoEdit(clip?: VideoClip): Promise<World> {
  const w = await decomposed({ clip });
  await startVideo(w);
  expect(w.state).toBe('done');
  return w;
}

const lastOf = <T extends EditEvent['type']>(w: World, type: T) =>
  w.events.findLast((e): e is Extract<EditEvent, { type: T }> => e.type === type);
const eventsOf = <T extends EditEvent['type']>(w: World, type: T) =>
  w.events.filter((e): e is Extract<EditEvent, { type: T }> => e.type === type);

describe('the worker controller with a video edit (video part 2)', () => {
  it('refuses startVideo without a clip, a decomposition, during one, with empty prompts or a missing layer', async () => {
    const w = new World();
    await startVideo(w);
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', recoverable: true, command: 'startVideo' });
    expect(lastOf(w, 'error')!.message).toMatch(/clip/);
    await w.importClip();
    await startVideo(w);
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', message: expect.stringMatching(/[Dd]ecompose/) });
    // During the decomposition.
    const gate = deferred();
    w.atlasSteps = [gate.promise];
    const fit = w.decompose(2);
    await w.until('decomposing');
    await startVideo(w);
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', message: expect.stringMatching(/decomposed/) });
    gate.resolve();
    await fit;
    expect(w.state).toBe('done');
    // Empty prompts, an unknown preset: the configuration.
    const before = w.states().length;
    await startVideo(w, { config: { ...CONFIG, screenText: '  ', compText: '' } });
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'config', recoverable: true });
    expect(lastOf(w, 'error')!.message).toMatch(/screenText/);
    await startVideo(w, { preset: 'no-such-preset' });
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'config' });
    expect(w.states().length).toBe(before); // nothing started
    expect(w.videoCalls).toEqual([]);
    // The foreground of a background-only decomposition.
    const b = await decomposed({ backgroundOnly: true });
    await startVideo(b, { layer: 'foreground' });
    expect(lastOf(b, 'error')).toMatchObject({ kind: 'video', message: expect.stringMatching(/foreground/) });
    // Its default layer is the background, whatever the prompts name.
    await startVideo(b);
    expect(b.videoCalls[0].settings!.layer).toBe('background');
    // A factory that cannot make the layer (no opaque frames): a video error, nothing left.
    const f = await decomposed();
    const { LayerDataError } = await import('../video/edit/layerData');
    f.createFailure = new LayerDataError('No three frames all show the object opaquely.');
    await startVideo(f);
    expect(lastOf(f, 'error')).toMatchObject({ kind: 'video', command: 'startVideo' });
    expect(f.states().slice(-2)).toEqual(['preparing', 'idle']);
  });

  it('runs a video edit to the end with previews of a frame and the atlas, and pauses, resumes and continues', async () => {
    const w = await decomposed();
    const gate = deferred();
    w.steps = ['ok', gate.promise];
    const run = startVideo(w);
    await w.until('training');
    const call = w.videoCalls[0];
    expect(call.kind).toBe('create');
    expect(call.source.clip).toBe(CLIP);
    expect(call.source.hasForeground).toBe(true);
    expect(call.source.atlas).toEqual(new Uint8Array([2])); // the decomposition's bytes (the fake saves its iteration)
    // srcText names the object: the foreground; the tiny level's video settings under the user's.
    expect(call.settings).toMatchObject({ layer: 'foreground', quality: 'tiny' });
    expect(call.settings!.config).toMatchObject({ screenText: 'golden', nEpochs: 4, lambdaStructure: 3, nAug: 2 });
    expect(lastOf(w, 'started')).toMatchObject({
      quality: 'tiny',
      workingSize: { width: 8, height: 6 },
      fullResolutionExport: false,
      video: { layer: 'foreground', frames: 3, frameRate: 10, quality: 'tiny' },
    });
    // The untrained edit at once: the middle frame and the atlas.
    expect(eventsOf(w, 'preview')[0]).toMatchObject({ step: 0, frame: 1, width: 8, height: 6 });
    expect(eventsOf(w, 'preview')[0].atlas).toBeDefined();
    // Paused: another frame is shown at once.
    await w.send({ type: 'pause' });
    gate.resolve();
    await w.until('paused');
    await w.send({ type: 'previewFrame', frame: 2 });
    expect(lastOf(w, 'preview')).toMatchObject({ frame: 2, step: 2 });
    await w.send({ type: 'resume' });
    await run;
    expect(w.states().slice(-6)).toEqual(['preparing', 'training', 'pausing', 'paused', 'training', 'done']);
    expect(eventsOf(w, 'progress').map((e) => e.report.step)).toEqual([1, 2, 3, 4]);
    const previews = eventsOf(w, 'preview');
    expect(previews.every((p) => p.frame !== undefined && p.atlas !== undefined)).toBe(true);
    expect(previews.at(-1)).toMatchObject({ step: 4, frame: 2 });
    expect(eventsOf(w, 'error')).toEqual([]);

    // Stopped part way and continued (Resume), and started over from done: the same decomposition.
    const s = await decomposed();
    const last = deferred();
    s.steps = ['ok', last.promise];
    const r2 = startVideo(s, { layer: 'background' });
    await vi.waitFor(() => expect(s.steps).toHaveLength(0), { interval: 1 });
    await s.send({ type: 'stop' });
    last.resolve();
    await r2;
    expect(s.state).toBe('stopped');
    expect(s.videoJobs[0].layer).toBe('background');
    await s.send({ type: 'resume' });
    await s.until('done');
    await startVideo(s);
    expect(s.states().slice(-3)).toEqual(['preparing', 'training', 'done']);
    expect(s.videoJobs[0].disposed).toBe(true);
  });

  it('shows the frame the page picks: at once when idle, at the next preview while training; clamped', async () => {
    const w = await withVideoEdit();
    await w.send({ type: 'previewFrame', frame: 0 });
    expect(lastOf(w, 'preview')).toMatchObject({ frame: 0, step: 4 });
    await w.send({ type: 'previewFrame', frame: 99 });
    expect(lastOf(w, 'preview')).toMatchObject({ frame: 2 });
    // While training: no preview of its own, the next one shows it (and it stays for the next edit).
    const gate = deferred();
    w.steps = [gate.promise];
    const run = startVideo(w);
    await w.until('training');
    const count = eventsOf(w, 'preview').length;
    await w.send({ type: 'previewFrame', frame: 0 });
    expect(eventsOf(w, 'preview')).toHaveLength(count);
    gate.resolve();
    await run;
    expect(lastOf(w, 'preview')).toMatchObject({ frame: 0, step: 4 });
    // An image edit has no frames.
    const i = await withEdit(4);
    await i.send({ type: 'previewFrame', frame: 1 });
    expect(lastOf(i, 'error')).toMatchObject({ kind: 'video', command: 'previewFrame' });
  });

  it('renders every frame for the player (videoFrame × N, then videoRendered), never while training', async () => {
    const w = await decomposed();
    const gate = deferred();
    w.steps = [gate.promise];
    const run = startVideo(w);
    await w.until('training');
    await w.send({ type: 'renderVideo' });
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', command: 'renderVideo' });
    expect(lastOf(w, 'error')!.message).toMatch(/Pause or stop/);
    expect(w.has('videoFrame')).toBe(false);
    gate.resolve();
    await run;
    await w.send({ type: 'renderVideo' });
    const frames = eventsOf(w, 'videoFrame');
    expect(frames.map((f) => f.frame)).toEqual([0, 1, 2]);
    for (const f of frames) {
      expect(f).toMatchObject({ step: 4, frames: 3 });
      expect(Object.keys(f.images).sort()).toEqual(['alpha', 'composite', 'edit', 'greenscreen', 'input']);
    }
    expect(w.events.at(-1)).toEqual({ type: 'videoRendered', step: 4, frames: 3 });
    // An image edit: refused.
    const i = await withEdit(4);
    await i.send({ type: 'renderVideo' });
    expect(lastOf(i, 'error')).toMatchObject({ kind: 'video' });
  });

  it('downloads the edited atlas, the frames and layer frames as zips, and the clip with its audio', async () => {
    const audioClip: VideoClip = {
      ...CLIP,
      audio: { source: new Blob([new Uint8Array(4)]), codec: 'aac', startTime: 1.5, endTime: 1.8 },
    };
    const w = await withVideoEdit(audioClip);
    const blobBytes = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

    await w.send({ type: 'export', kind: 'atlas-edit' });
    const atlas = lastOf(w, 'exported')!;
    expect(atlas).toMatchObject({ kind: 'atlas-edit', filename: 'text2live-atlas-edit.png', width: 8, height: 6 });
    expect((await blobBytes(atlas.blob))[0]).toBe(200);

    await w.send({ type: 'export', kind: 'frames' });
    const frames = lastOf(w, 'exported')!;
    expect(frames).toMatchObject({ kind: 'frames', filename: 'text2live-frames.zip' });
    const files = unzipSync(await blobBytes(frames.blob));
    expect(Object.keys(files).sort()).toEqual(['00000.png', '00001.png', '00002.png']);
    expect([0, 1, 2].map((t) => files[`0000${t}.png`][0])).toEqual([0, 1, 2]); // the composites
    expect(eventsOf(w, 'exportProgress').map((e) => e.done)).toEqual([0, 1, 2, 3]);
    expect(lastOf(w, 'exportProgress')).toEqual({ type: 'exportProgress', kind: 'frames', done: 3, total: 3 });

    await w.send({ type: 'export', kind: 'layers' });
    const layers = lastOf(w, 'exported')!;
    expect(layers).toMatchObject({ kind: 'layers', filename: 'text2live-layer-frames.zip' });
    const layerFiles = unzipSync(await blobBytes(layers.blob));
    expect(Object.keys(layerFiles)).toHaveLength(3);
    expect(layerFiles['00002.png'][0]).toBe(102); // the RGBA edit layer

    await w.send({ type: 'export', kind: 'video', videoQuality: 'high' });
    const video = lastOf(w, 'exported')!;
    expect(video).toMatchObject({ kind: 'video', filename: 'text2live-edited.mp4', width: 8, height: 6 });
    expect(video.note).toBeUndefined();
    expect(video.blob.type).toBe('video/mp4');
    expect(w.encodes[0].frames).toEqual([0, 1, 2]);
    expect(w.encodes[0].quality).toBe('high');
    expect(w.encodes[0].audio).toMatchObject({ startSeconds: 1.5 });
    expect(w.encodes[0].audio!.durationSeconds).toBeCloseTo(0.3, 9);
    expect(lastOf(w, 'exportProgress')).toMatchObject({ kind: 'video', done: 3, total: 3 });

    // WebM where no MP4 codec encodes, and audio that could not be copied: said so.
    w.encoderAnswer = { container: 'webm', codec: 'vp8', mimeType: 'video/webm', hasAudio: false };
    await w.send({ type: 'export', kind: 'video' });
    const webm = lastOf(w, 'exported')!;
    expect(webm.filename).toBe('text2live-edited.webm');
    expect(webm.note).toMatch(/WebM/);
    expect(webm.note).toMatch(/no audio/);
    expect(w.encodes[1].quality).toBe('medium');
    // No encoder at all: a clear error, the edit stays.
    w.encoderFailure = new VideoEncodeError('no-codec', 'This browser cannot encode video.');
    await w.send({ type: 'export', kind: 'video' });
    expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', recoverable: true, command: 'export' });
    expect(lastOf(w, 'error')!.hint).toMatch(/frames/);
    expect(w.state).toBe('done');
    // A clip without audio gives the encoder none.
    const q = await withVideoEdit();
    await q.send({ type: 'export', kind: 'video' });
    expect(q.encodes[0].audio).toBeNull();
    // The image downloads of a video edit: the preview frame's renders.
    await q.send({ type: 'export', kind: 'edit' });
    expect(lastOf(q, 'exported')).toMatchObject({ kind: 'edit', filename: 'text2live-edit-layer.png' });
  });

  it('refuses video downloads while training and for an image edit', async () => {
    const w = await decomposed();
    const gate = deferred();
    w.steps = [gate.promise];
    const run = startVideo(w);
    await w.until('training');
    for (const kind of ['video', 'frames', 'layers', 'atlas-edit'] as const) {
      await w.send({ type: 'export', kind });
      expect(lastOf(w, 'error')).toMatchObject({ kind: 'video', command: 'export' });
    }
    expect(w.has('exported')).toBe(false);
    gate.resolve();
    await run;
    const i = await withEdit(4);
    await i.send({ type: 'export', kind: 'frames' });
    expect(lastOf(i, 'error')).toMatchObject({ kind: 'video', message: expect.stringMatching(/no video edit/) });
  });

  it('saves a video session without a photo and reopens it on the clip’s decomposition', async () => {
    const w = await decomposed();
    const last = deferred();
    w.steps = ['ok', last.promise];
    const run = startVideo(w, { layer: 'background' });
    await vi.waitFor(() => expect(w.steps).toHaveLength(0), { interval: 1 });
    await w.send({ type: 'stop' });
    last.resolve();
    await run;
    await w.send({ type: 'export', kind: 'session' });
    const file = new Uint8Array(await lastOf(w, 'exported')!.blob.arrayBuffer());
    const unwrapped = unwrapSession(file);
    expect(unwrapped.image).toBeNull();
    expect(unwrapped.info).toMatchObject({ quality: 'tiny', clip: { width: 8, height: 6, frames: 3 } });

    // Without a clip, or without its decomposition: refused, nothing changes.
    const n = new World();
    await n.send({ type: 'openSession', model: MODEL, bytes: file });
    expect(lastOf(n, 'error')).toMatchObject({ kind: 'session', message: expect.stringMatching(/clip/) });
    await n.importClip();
    await n.send({ type: 'openSession', model: MODEL, bytes: file });
    expect(lastOf(n, 'error')).toMatchObject({ kind: 'session', message: expect.stringMatching(/decompose/) });
    expect(n.states()).toEqual(['importing', 'idle']);
    // Another clip's decomposition: refused.
    const other = await decomposed({ clip: { ...CLIP, frames: [IMAGE, IMAGE], frameIndices: [0, 1] } });
    await other.send({ type: 'openSession', model: MODEL, bytes: file });
    expect(lastOf(other, 'error')).toMatchObject({ kind: 'session', message: expect.stringMatching(/3 frames/) });
    expect(other.has('sessionOpened')).toBe(false);
    // A background-only decomposition opens a background session.
    const b = await decomposed({ backgroundOnly: true });
    await b.send({ type: 'openSession', model: MODEL, bytes: file });
    expect(b.has('sessionOpened')).toBe(true);

    // On the clip's decomposition: a video edit at its step, previewed, that continues.
    const o = await decomposed();
    await o.send({ type: 'openSession', model: MODEL, bytes: file });
    expect(o.states().slice(-2)).toEqual(['preparing', 'stopped']);
    expect(lastOf(o, 'sessionOpened')).toMatchObject({
      step: 2,
      totalSteps: 4,
      quality: 'tiny',
      image: null,
      video: { layer: 'background', frames: 3, frameRate: 10, quality: 'tiny' },
    });
    expect(lastOf(o, 'started')).toMatchObject({ step: 2, video: { layer: 'background' } });
    expect(lastOf(o, 'preview')).toMatchObject({ step: 2, frame: 1 });
    expect(o.videoCalls.map((c) => c.kind)).toEqual(['restore']);
    await o.send({ type: 'resume' });
    await o.until('done');
    expect(o.videoJobs[0].stepsDone).toBe(4);
    // An image session still opens as an image edit (it carries its photo).
    const config = validateConfig({ ...DEFAULT_EDIT_CONFIG, ...CONFIG });
    const image = wrapSession(jobSession(config, 1), IMAGE, { quality: 'tiny', savedAt: '2026-12-03T00:00:00Z' });
    await o.send({ type: 'openSession', model: MODEL, bytes: image });
    expect(lastOf(o, 'sessionOpened')!.video).toBeUndefined();
    expect(lastOf(o, 'sessionOpened')!.image).not.toBeNull();
    expect(o.jobs.at(-1)!.stepsDone).toBe(1);
  });

  it('recovers a video run from a lost device through the video restore, and keeps it out of memory', async () => {
    const w = await decomposed();
    w.steps = ['ok', 'ok', 'lost'];
    await startVideo(w);
    expect(w.states().slice(-4)).toEqual(['training', 'recovering', 'training', 'done']);
    expect(lastOf(w, 'recovered')).toMatchObject({ step: 2 });
    expect(w.videoCalls.map((c) => c.kind)).toEqual(['create', 'restore']);
    expect(w.videoCalls[1].source.clip).toBe(CLIP);
    expect(w.videoJobs.at(-1)!.stepsDone).toBe(4);
    expect(lastOf(w, 'preview')).toMatchObject({ step: 4, frame: 1 });
    // Lost while it rests: restored at once, as a video edit.
    w.device.loseNow();
    await vi.waitFor(() => expect(w.states().slice(-2)).toEqual(['recovering', 'done']), { interval: 1 });
    expect(w.videoCalls.at(-1)!.kind).toBe('restore');
    await w.send({ type: 'renderVideo' });
    expect(eventsOf(w, 'videoFrame')).toHaveLength(3);

    // Out of memory at step 3: the edit is kept from its checkpoint (step 2), as a video edit.
    const m = await decomposed();
    m.steps = ['ok', 'ok', 'oom'];
    await startVideo(m);
    expect(lastOf(m, 'error')).toMatchObject({ kind: 'out-of-memory' });
    expect(lastOf(m, 'error')!.hint).toMatch(/3-frame clip/);
    expect(lastOf(m, 'kept')).toMatchObject({ step: 2, previous: false });
    expect(m.state).toBe('stopped');
    expect(isVideoJob(m.videoJobs.at(-1))).toBe(true);
    expect(lastOf(m, 'started')).toMatchObject({ step: 2, video: { frames: 3 } });
  });
});

describe('every transition', () => {
  // Runs after the scenarios above (a file's tests run in order).
  it('is taken by one of the scenarios, and none outside the table', () => {
    const table = RUN_STATES.flatMap((from) => RUN_TRANSITIONS[from].map((to) => `${from}→${to}`));
    expect(
      [...taken].filter((t) => !table.includes(t)),
      'transitions outside the table',
    ).toEqual([]);
    expect(
      table.filter((t) => !taken.has(t)),
      'transitions no scenario took',
    ).toEqual([]);
  });
});
