/**
 * The app's state (zustand): the photo, prompts, quality, seed and advanced settings, the model's state, the run's
 * state and progress, the loss history for the chart, the latest previews, and errors. Actions send commands to the
 * edit worker through `EditClient`; the worker's events update the state in `handleEvent`.
 */
import { create } from 'zustand';
import { DEFAULT_MODEL_ID, DEFAULT_SELF_HOSTED_BASE, modelFileList, type Precision } from '../clip/modelFiles';
import { MODEL_CACHE_NAME, ModelManager, type LoadedFrom } from '../clip/modelManager';
import { ConfigError, type EditConfig } from '../edit/config';
import type { LossTerms, RenderKind } from '../edit/jobTypes';
import { getPreset } from '../edit/presets';
import type { ClipCostConfig } from '../edit/quality';
import type { AdapterSummary } from '../gpu/device';
import type { AppQuality, EditEvent, ErrorKind, ExportKind, PickedModelFile } from '../worker/protocol';
import { resolveConfig } from '../edit/qualityLevels';
import { EditClient } from './editClient';
import { measuredFlopsPerSecond } from './estimates';
import { decodeImageFile, ImageInputError, pixelsToBitmap, type InputImage } from './imageInput';

export type RunState = 'idle' | 'loading' | 'running' | 'paused' | 'stopped' | 'done' | 'error';
export type ViewKind = RenderKind | 'input';
export type ModelState = 'unknown' | 'not-cached' | 'cached' | 'loading' | 'ready' | 'error';

/** Flags from the page URL: `?dev=1` (the Tiny test quality), `?debug=1` (test hooks), `?model=`, `?modelBase=`. */
export interface UrlOptions {
  dev: boolean;
  debug: boolean;
  modelId: string;
  modelBase: string;
  precision: Precision;
}

export function readUrlOptions(search: string = typeof location === 'undefined' ? '' : location.search): UrlOptions {
  const q = new URLSearchParams(search);
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const base = q.get('modelBase');
  const model = q.get('model');
  return {
    dev: on('dev'),
    debug: on('debug'),
    modelId: model && /^[\w.-]+(\/[\w.-]+)?$/.test(model) ? model : DEFAULT_MODEL_ID,
    // Only paths on this site: the CSP allows no other origin but the Hub anyway.
    modelBase: base && base.startsWith('/') && !base.startsWith('//') ? base : DEFAULT_SELF_HOSTED_BASE,
    precision: q.get('precision') === 'fp16' ? 'fp16' : 'fp32',
  };
}

export interface Prompts {
  /** T_screen: the edit layer alone (required). */
  edit: string;
  /** T_comp: the whole edited image; empty = the same as `edit`. */
  full: string;
  /** T_src: the input photo; empty = "photo". */
  input: string;
  /** T_roi: region of interest; non-empty turns relevancy bootstrapping on. */
  roi: string;
}

export interface LossPoint extends LossTerms {
  step: number;
}

export interface Preview {
  step: number;
  width: number;
  height: number;
  images: Record<RenderKind, ImageBitmap>;
}

export interface AppError {
  kind: ErrorKind | 'config';
  message: string;
  hint?: string;
  recoverable: boolean;
}

export interface ModelInfo {
  id: string;
  baseUrl: string;
  precision: Precision;
  state: ModelState;
  /** Files picked from disk (used instead of the network when set). */
  picked: PickedModelFile[] | null;
  loaded: number;
  total: number;
  percent: number;
  file: string | null;
  source: LoadedFrom | null;
  /** The last load came entirely from the browser's cache. */
  fromCache: boolean;
  error: AppError | null;
  /** The loaded model's vision tower (from its config.json): what time estimates price. */
  vision: ClipCostConfig | null;
}

export interface RunInfo {
  state: RunState;
  /** What the worker is busy with (model, prompts, compiling, recovering, …). */
  activity: string | null;
  step: number;
  totalSteps: number;
  stepsPerSecond: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
  workingSize: { width: number; height: number } | null;
  seed: number | null;
  quality: AppQuality | null;
  config: EditConfig | null;
  fullResolutionExport: boolean;
  /**
   * Measured sustained FLOP/s of this device on an edit with the loaded model (for time estimates), after a few
   * steps; kept from the last run until the next one measures again.
   */
  flopsPerSecond: number | null;
}

/** The simulated GPU memory limit of `?debug=1` and the device's use, as the worker last reported them. */
export interface DebugMemory {
  limitBytes: number | null;
  usedBytes: number;
  peakBytes: number;
}

export interface Notice {
  id: number;
  tone: 'info' | 'warning' | 'success';
  text: string;
}

export interface AppState {
  url: UrlOptions;
  input: InputImage | null;
  inputError: string | null;
  prompts: Prompts;
  presetId: string;
  quality: AppQuality;
  seed: number;
  /** Explicit advanced settings (on top of the quality level's configuration). */
  advanced: Partial<EditConfig>;
  adapter: AdapterSummary | null;
  model: ModelInfo;
  run: RunInfo;
  losses: LossPoint[];
  preview: Preview | null;
  view: ViewKind;
  error: AppError | null;
  notices: Notice[];
  exporting: ExportKind[];
  lastExport: { kind: ExportKind; filename: string; width?: number; height?: number; bytes: number } | null;
  debugMemory: DebugMemory | null;

  setInputFile(file: File): Promise<void>;
  setPrompt(key: keyof Prompts, value: string): void;
  applyPreset(id: string): void;
  setQuality(q: AppQuality): void;
  setSeed(seed: number): void;
  setAdvanced<K extends keyof EditConfig>(key: K, value: EditConfig[K] | undefined): void;
  resetAdvanced(): void;
  setPrecision(p: Precision): void;
  setPickedModelFiles(files: PickedModelFile[] | null): void;
  checkModelCache(): Promise<void>;
  loadModel(): Promise<boolean>;
  clearModelCache(): void;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): void;
  exportResult(kind: ExportKind): void;
  openSession(file: File): Promise<void>;
  simulateDeviceLoss(): void;
  /** Test hook: the GPU runs out of memory past `bytes` (null: no limit). */
  simulateMemoryLimit(bytes: number | null): void;
  setView(view: ViewKind): void;
  dismissNotice(id: number): void;
  dismissError(): void;
  /** The configuration a run would use now (throws ConfigError). */
  resolvedConfig(quality?: AppQuality): EditConfig;
}

const initialRun: RunInfo = {
  state: 'idle',
  activity: null,
  step: 0,
  totalSteps: 0,
  stepsPerSecond: 0,
  etaSeconds: null,
  elapsedSeconds: 0,
  workingSize: null,
  seed: null,
  quality: null,
  config: null,
  fullResolutionExport: false,
  flopsPerSecond: null,
};

let client: EditClient | null = null;
let noticeId = 0;
/** The loss history before a new run or session cleared it: back when the worker keeps the previous edit. */
let lossesBefore: LossPoint[] = [];

/** The worker client (created on first use). Tests and the app share this one. */
export function getClient(): EditClient {
  if (!client) {
    client = new EditClient();
    client.subscribe((ev) => handleEvent(ev));
  }
  return client;
}

/** The settings a run takes from the form (prompts, seed, bootstrap) on top of the advanced settings. */
function formSettings(s: Pick<AppState, 'prompts' | 'seed' | 'advanced'>): Partial<EditConfig> {
  const edit = s.prompts.edit.trim();
  const full = s.prompts.full.trim() || edit;
  const input = s.prompts.input.trim() || 'photo';
  const roi = s.prompts.roi.trim();
  const settings: Partial<EditConfig> = {
    ...s.advanced,
    screenText: edit,
    compText: full,
    srcText: input,
    bootstrapText: roi || null,
    seed: s.seed,
  };
  if (roi && s.advanced.bootstrapEpoch === undefined) settings.bootstrapEpoch = 1000; // whole run, rescaled
  if (!roi) settings.bootstrapEpoch = s.advanced.bootstrapEpoch ?? -1;
  return settings;
}

function closePreview(p: Preview | null): void {
  if (!p) return;
  for (const b of Object.values(p.images)) b.close();
}

function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const useApp = create<AppState>()((set, get) => {
  const url = readUrlOptions();
  return {
    url,
    input: null,
    inputError: null,
    prompts: { edit: '', full: '', input: '', roi: '' },
    presetId: '',
    quality: url.dev ? 'tiny' : 'preview',
    seed: -1,
    advanced: {},
    adapter: null,
    model: {
      id: url.modelId,
      baseUrl: url.modelBase,
      precision: url.precision,
      state: 'unknown',
      picked: null,
      loaded: 0,
      total: 0,
      percent: 0,
      file: null,
      source: null,
      fromCache: false,
      error: null,
      vision: null,
    },
    run: initialRun,
    losses: [],
    preview: null,
    view: 'composite',
    error: null,
    notices: [],
    exporting: [],
    lastExport: null,
    debugMemory: null,

    async setInputFile(file) {
      try {
        const img = await decodeImageFile(file);
        const old = get().input;
        set({ input: img, inputError: null, view: get().preview ? get().view : 'input' });
        if (old && old.bitmap !== img.bitmap) old.bitmap.close();
      } catch (e) {
        const text = e instanceof ImageInputError ? e.message : `The photo could not be read: ${String(e)}`;
        set({ inputError: text });
      }
    },

    setPrompt(key, value) {
      set((s) => ({ prompts: { ...s.prompts, [key]: value } }));
    },

    applyPreset(id) {
      if (!id) {
        set({ presetId: '' });
        return;
      }
      const p = getPreset(id).settings;
      const one = (v: unknown) => (Array.isArray(v) ? String(v[0] ?? '') : v == null ? '' : String(v));
      set({
        presetId: id,
        prompts: {
          edit: one(p.screenText),
          full: one(p.compText) === one(p.screenText) ? '' : one(p.compText),
          input: one(p.srcText),
          roi: one(p.bootstrapText),
        },
      });
    },

    setQuality(q) {
      set({ quality: q });
    },

    setSeed(seed) {
      set({ seed });
    },

    setAdvanced(key, value) {
      set((s) => {
        const next = { ...s.advanced };
        if (value === undefined) delete next[key];
        else next[key] = value;
        return { advanced: next };
      });
    },

    resetAdvanced() {
      set({ advanced: {} });
    },

    setPrecision(p) {
      set((s) => ({
        model: { ...s.model, precision: p, state: s.model.state === 'ready' ? 'unknown' : s.model.state },
      }));
      void get().checkModelCache();
    },

    setPickedModelFiles(files) {
      set((s) => ({
        model: {
          ...s.model,
          picked: files && files.length > 0 ? files : null,
          error: null,
          state: s.model.state === 'ready' || s.model.state === 'error' ? 'unknown' : s.model.state,
        },
      }));
    },

    async checkModelCache() {
      const m = get().model;
      if (m.state === 'loading' || m.state === 'ready' || typeof caches === 'undefined') return;
      try {
        const manager = new ModelManager({
          sources: [{ type: 'self-hosted', baseUrl: m.baseUrl }, { type: 'hub' }],
          cache: null,
        });
        const cache = await caches.open(MODEL_CACHE_NAME);
        let all = true;
        for (const spec of modelFileList(m.precision)) {
          let found = false;
          for (const { url: u } of manager.urlsFor(m.id, spec)) {
            if (u && (await cache.match(u))) {
              found = true;
              break;
            }
          }
          if (!found) {
            all = false;
            break;
          }
        }
        set((s) =>
          s.model.state === 'loading' || s.model.state === 'ready'
            ? {}
            : { model: { ...s.model, state: all ? 'cached' : 'not-cached' } },
        );
      } catch {
        // No Cache Storage here (private mode): the state stays unknown.
      }
    },

    async loadModel() {
      const m = get().model;
      if (m.state === 'ready') return true;
      const c = getClient();
      set((s) => ({
        model: { ...s.model, state: 'loading', loaded: 0, total: 0, percent: 0, file: null, error: null },
        error: s.error?.kind === 'model' ? null : s.error,
      }));
      const ready = c.waitFor(
        (ev) => ev.type === 'modelReady',
        (ev) => ev.type === 'error' && (ev.command === 'init' || ev.kind === 'model' || ev.kind === 'no-webgpu'),
      );
      c.send({
        type: 'init',
        modelId: m.id,
        baseUrl: m.baseUrl,
        precision: m.precision,
        pickedFiles: m.picked ?? undefined,
        debug: get().url.debug,
      });
      return ready;
    },

    clearModelCache() {
      const m = get().model;
      getClient().send({ type: 'clearModelCache', modelId: m.id, baseUrl: m.baseUrl });
    },

    resolvedConfig(quality) {
      const s = get();
      return resolveConfig(quality ?? s.quality, formSettings(s));
    },

    async start() {
      const s = get();
      if (s.run.state === 'loading' || s.run.state === 'running' || s.run.state === 'paused') return;
      if (!s.input) {
        set({ error: { kind: 'image', message: 'Add a photo first.', recoverable: true } });
        return;
      }
      if (!s.prompts.edit.trim()) {
        set({
          error: { kind: 'config', message: 'Describe the edit layer first (for example “fire”).', recoverable: true },
        });
        return;
      }
      let config: EditConfig;
      try {
        config = get().resolvedConfig();
      } catch (e) {
        set({
          error: {
            kind: 'config',
            message: e instanceof ConfigError ? e.message : String(e),
            recoverable: true,
          },
        });
        return;
      }
      set({
        error: null,
        run: {
          ...initialRun,
          state: 'loading',
          activity: 'Loading the CLIP model…',
          flopsPerSecond: s.run.flopsPerSecond,
        },
      });
      const ok = await get().loadModel();
      if (!ok) {
        set((st) => ({ run: { ...st.run, state: 'error', activity: null } }));
        return;
      }
      const input = get().input;
      if (!input) return;
      // A copy of the bitmap goes to the worker, which reads its pixels there.
      const image = await createImageBitmap(input.bitmap);
      lossesBefore = get().losses;
      set((st) => ({ losses: [], run: { ...st.run, activity: 'Setting up the edit…' } }));
      getClient().send({ type: 'start', image, config, quality: s.quality });
    },

    pause() {
      getClient().send({ type: 'pause' });
    },

    resume() {
      getClient().send({ type: 'resume' });
    },

    stop() {
      getClient().send({ type: 'stop' });
    },

    exportResult(kind) {
      set((s) => ({ exporting: [...s.exporting.filter((k) => k !== kind), kind] }));
      getClient().send({ type: 'export', kind });
    },

    async openSession(file) {
      const s = get();
      if (s.run.state === 'running' || s.run.state === 'paused' || s.run.state === 'loading') {
        set({
          error: { kind: 'session', message: 'Stop the running edit before opening a session.', recoverable: true },
        });
        return;
      }
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.byteLength === 0) {
        set({ error: { kind: 'session', message: `“${file.name}” is empty.`, recoverable: true } });
        return;
      }
      set({ error: null, run: { ...get().run, state: 'loading', activity: 'Loading the CLIP model…' } });
      const ok = await get().loadModel();
      if (!ok) {
        set((st) => ({ run: { ...st.run, state: 'error', activity: null } }));
        return;
      }
      const input = get().input;
      lossesBefore = get().losses;
      set((st) => ({ losses: [], run: { ...st.run, activity: 'Opening the session…' } }));
      const image = input ? await createImageBitmap(input.bitmap) : undefined;
      getClient().send({ type: 'openSession', bytes, image });
    },

    simulateDeviceLoss() {
      getClient().send({ type: 'simulateDeviceLoss' });
    },

    simulateMemoryLimit(bytes) {
      getClient().send({ type: 'simulateMemoryLimit', bytes });
    },

    setView(view) {
      set({ view });
    },

    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },

    dismissError() {
      set({ error: null });
    },
  } satisfies AppState;
});

function addNotice(tone: Notice['tone'], text: string): void {
  useApp.setState((s) => ({ notices: [...s.notices.slice(-3), { id: ++noticeId, tone, text }] }));
}

/** Applies a worker event to the state. */
export function handleEvent(ev: EditEvent): void {
  const set = useApp.setState;
  const get = useApp.getState;
  switch (ev.type) {
    case 'adapter':
      set({ adapter: ev.summary });
      return;
    case 'busy':
      set((s) => ({ run: { ...s.run, activity: ev.message } }));
      return;
    case 'modelProgress':
      set((s) => ({
        model: {
          ...s.model,
          state: 'loading',
          loaded: ev.loaded,
          total: ev.total,
          percent: ev.percent,
          file: ev.file,
          source: ev.source,
        },
      }));
      return;
    case 'modelReady':
      set((s) => ({
        model: { ...s.model, state: 'ready', fromCache: ev.cached, percent: 100, error: null, vision: ev.vision },
        run: s.run.state === 'loading' ? { ...s.run, activity: 'Model ready.' } : s.run,
      }));
      return;
    case 'started': {
      set((s) => ({
        run: {
          ...s.run,
          state: ev.running ? 'running' : s.run.state,
          activity: ev.running ? 'Compiling GPU kernels for the first step…' : s.run.activity,
          step: ev.step,
          totalSteps: ev.totalSteps,
          workingSize: ev.workingSize,
          seed: ev.seed,
          quality: ev.quality,
          config: ev.config,
          fullResolutionExport: ev.fullResolutionExport,
          stepsPerSecond: 0,
          etaSeconds: null,
        },
      }));
      return;
    }
    case 'progress': {
      const r = ev.report;
      set((s) => {
        let flops = s.run.flopsPerSecond;
        if (r.step >= 3 && ev.stepsPerSecond > 0 && s.run.config && s.input) {
          const clip = s.model.vision ?? undefined;
          flops = measuredFlopsPerSecond(s.run.config, s.input.width, s.input.height, ev.stepsPerSecond, clip);
        }
        return {
          losses: [...s.losses.filter((p) => p.step < r.step), { step: r.step, ...r.losses }],
          run: {
            ...s.run,
            state: s.run.state === 'loading' ? 'running' : s.run.state,
            activity: null,
            step: r.step,
            totalSteps: r.totalSteps,
            stepsPerSecond: ev.stepsPerSecond,
            etaSeconds: ev.etaSeconds,
            elapsedSeconds: ev.elapsedSeconds,
            flopsPerSecond: flops,
          },
        };
      });
      return;
    }
    case 'preview': {
      const old = get().preview;
      set((s) => ({
        preview: { step: ev.step, width: ev.width, height: ev.height, images: ev.images },
        view: s.view === 'input' && !old ? 'composite' : s.view,
      }));
      if (old) queueMicrotask(() => closePreview(old));
      return;
    }
    case 'paused':
      set((s) => ({ run: { ...s.run, state: 'paused', activity: null, step: ev.step } }));
      return;
    case 'resumed':
      set((s) => ({ run: { ...s.run, state: 'running', activity: null, step: ev.step } }));
      return;
    case 'stopped':
      set((s) => ({ run: { ...s.run, state: 'stopped', activity: null, step: ev.step, etaSeconds: null } }));
      return;
    case 'done':
      set((s) => ({ run: { ...s.run, state: 'done', activity: null, step: ev.step, etaSeconds: null } }));
      addNotice('success', `Finished: ${ev.step} steps. Download the results below.`);
      return;
    case 'deviceLost':
      set((s) => ({ run: { ...s.run, activity: `The GPU device was lost; reopening it…` } }));
      addNotice(
        'warning',
        `The GPU device was lost (${ev.message.replace(/^The GPU device was lost \((.*)\)\.$/, '$1')}). Continuing from the checkpoint at step ${ev.fromStep} on a new device…`,
      );
      return;
    case 'recovered':
      set((s) => ({ run: { ...s.run, activity: null, step: ev.step } }));
      addNotice(
        'info',
        `Recovered on a new GPU device at step ${ev.step}` +
          (ev.lostSteps > 0 ? ` (${ev.lostSteps} step${ev.lostSteps === 1 ? '' : 's'} redone).` : '.'),
      );
      return;
    case 'kept':
      set((s) => ({
        run: { ...s.run, state: ev.step >= ev.totalSteps ? 'done' : 'stopped', activity: null, step: ev.step },
        // The worker keeps no loss history: the page's own record of that edit comes back.
        losses: ev.previous ? lossesBefore : s.losses.filter((p) => p.step <= ev.step),
      }));
      addNotice(
        'info',
        `${ev.previous ? 'Your previous edit is back' : 'Your edit is kept'} at step ${ev.step} of ${ev.totalSteps}: ` +
          'its preview and downloads are as they were.',
      );
      return;
    case 'memoryLimit':
      set({ debugMemory: { limitBytes: ev.limitBytes, usedBytes: ev.usedBytes, peakBytes: ev.peakBytes } });
      return;
    case 'sessionOpened': {
      const cfg = ev.config;
      const first = (v: string | string[]) => (Array.isArray(v) ? (v[0] ?? '') : v);
      set({
        prompts: {
          edit: first(cfg.screenText),
          full: first(cfg.compText) === first(cfg.screenText) ? '' : first(cfg.compText),
          input: first(cfg.srcText),
          roi: cfg.bootstrapText ?? '',
        },
        quality: ev.quality === 'tiny' && !get().url.dev ? 'preview' : ev.quality,
        seed: cfg.seed,
        losses: [],
      });
      if (ev.image) {
        const img = ev.image;
        void pixelsToBitmap(img).then((bitmap) => {
          const old = get().input;
          set({
            input: {
              bitmap,
              width: img.width,
              height: img.height,
              originalWidth: img.width,
              originalHeight: img.height,
              name: 'photo from the session',
              downscaled: false,
            },
            inputError: null,
          });
          old?.bitmap.close();
        });
      }
      addNotice('info', `Session opened at step ${ev.step} of ${ev.totalSteps}.`);
      return;
    }
    case 'exported': {
      set((s) => ({
        exporting: s.exporting.filter((k) => k !== ev.kind),
        lastExport: { kind: ev.kind, filename: ev.filename, width: ev.width, height: ev.height, bytes: ev.blob.size },
        run: s.run.activity?.startsWith('Rendering') ? { ...s.run, activity: null } : s.run,
      }));
      download(ev.blob, ev.filename);
      if (ev.note) addNotice('warning', ev.note);
      return;
    }
    case 'modelCacheCleared':
      set((s) => ({ model: { ...s.model, state: s.model.state === 'ready' ? 'ready' : 'not-cached' } }));
      addNotice('info', 'The cached model files were removed from this browser.');
      return;
    case 'error': {
      const err: AppError = { kind: ev.kind, message: ev.message, hint: ev.hint, recoverable: ev.recoverable };
      if (ev.kind === 'model') {
        set((s) => ({ model: { ...s.model, state: 'error', error: err }, run: { ...s.run, activity: null } }));
        return;
      }
      set((s) => {
        const active = s.run.state === 'loading' || s.run.state === 'running';
        const failedRun =
          active && (ev.command === 'start' || ev.command === 'init' || ev.command === 'openSession' || !ev.command);
        return {
          error: err,
          exporting: ev.command === 'export' ? [] : s.exporting,
          run: failedRun ? { ...s.run, state: 'error', activity: null } : { ...s.run, activity: null },
        };
      });
      return;
    }
  }
}
