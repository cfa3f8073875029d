/**
 * The page's state, in four slices (input, model, run, view), each in its own file with its actions and the part
 * of the worker's events it handles. `index.ts` puts them together into one zustand store.
 */
import type { StoreApi } from 'zustand';
import type { Precision } from '../../clip/modelFiles';
import type { LoadedFrom } from '../../clip/modelManager';
import type { EditConfig } from '../../edit/config';
import type { LossTerms, RenderKind } from '../../edit/jobTypes';
import type { ClipCostConfig } from '../../edit/quality';
import type { AppQuality } from '../../edit/qualityLevels';
import type { EditClientLike } from '../editClient';
import type { SuggestedTrim, VideoImportErrorKind } from '../../video/media/importError';
import type {
  AtlasPreviewEvent,
  ClipInfo,
  ClipInput,
  EditEvent,
  ErrorKind,
  ExportKind,
  GpuAvailability,
  ModelSpec,
  PickedModelFile,
  VideoEditInfo,
  VideoExportKind,
  VideoExportQuality,
  VideoFrameView,
} from '../../worker/protocol';
import type { EditLayer } from '../../video/edit/layerData';
import type { VideoPresetId, VideoQuality } from '../../video/edit/videoConfig';
import type { RunState } from '../../worker/runState';
import type { StepTimingSummary } from '../../worker/stepTiming';
import type { InputImage } from '../imageInput';
import type { UrlOptions } from './urlOptions';

export type ViewKind = RenderKind | 'input';
export type ModelState = 'unknown' | 'not-cached' | 'partial' | 'cached' | 'loading' | 'ready' | 'error';

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
  kind: ErrorKind;
  message: string;
  hint?: string;
  recoverable: boolean;
}

export interface Notice {
  id: number;
  tone: 'info' | 'warning' | 'success';
  text: string;
}

// ------------------------------------------------------------------------------------------------ input

export interface InputSlice {
  input: InputImage | null;
  inputError: string | null;
  prompts: Prompts;
  presetId: string;
  quality: AppQuality;
  seed: number;
  /** Explicit advanced settings (on top of the quality level's configuration). */
  advanced: Partial<EditConfig>;
  setInputFile(file: File): Promise<void>;
  setPrompt(key: keyof Prompts, value: string): void;
  applyPreset(id: string): void;
  setQuality(q: AppQuality): void;
  setSeed(seed: number): void;
  setAdvanced<K extends keyof EditConfig>(key: K, value: EditConfig[K] | undefined): void;
  resetAdvanced(): void;
  /** The configuration a run would use now (throws ConfigError). */
  resolvedConfig(quality?: AppQuality): EditConfig;
}

// ------------------------------------------------------------------------------------------------ model

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

export interface ModelSlice {
  model: ModelInfo;
  setPrecision(p: Precision): void;
  setPickedModelFiles(files: PickedModelFile[] | null): void;
  checkModelCache(): Promise<void>;
  /** Asks the browser to keep this site's storage (the model files) under pressure; once per page. */
  persistStorage(): Promise<void>;
  /** Loads the model on its own (the model panel's button). */
  loadModel(): void;
  /** Cancels the download; what was downloaded is kept for the next try. */
  cancelModelDownload(): void;
  clearModelCache(): void;
  /** The model the worker should use. */
  modelSpec(): ModelSpec;
}

// ------------------------------------------------------------------------------------------------ run

export interface RunInfo {
  /** The worker's run state (`runState.ts`). */
  state: RunState;
  /** A start or session-open was sent and the worker has not answered with a state yet. */
  requested: 'start' | 'openSession' | null;
  /** What the worker is busy with (model, prompts, compiling, recovering, …). */
  activity: string | null;
  step: number;
  totalSteps: number;
  stepsPerSecond: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
  workingSize: { width: number; height: number } | null;
  /** The size a full-size download has on this device. */
  fullSize: { width: number; height: number } | null;
  seed: number | null;
  quality: AppQuality | null;
  config: EditConfig | null;
  /** Whether PNG downloads render at full size by default at this quality level. */
  fullResolutionExport: boolean;
}

/** Measured step times of a quality level on this device, model and photo size (what its estimate uses). */
export interface LevelTiming {
  timing: StepTimingSummary;
  /** The configuration and photo size they were measured with. */
  config: EditConfig;
  width: number;
  height: number;
  modelId: string;
}

/** The simulated GPU memory limit of `?debug=1` and the device's use, as the worker last reported them. */
export interface DebugMemory {
  limitBytes: number | null;
  usedBytes: number;
  peakBytes: number;
}

export interface RunSlice {
  run: RunInfo;
  losses: LossPoint[];
  /** The loss history before a new run or session cleared it: back when the worker keeps the previous edit. */
  lossesBefore: LossPoint[];
  preview: Preview | null;
  exporting: ExportKind[];
  lastExport: { kind: ExportKind; filename: string; width?: number; height?: number; bytes: number } | null;
  /** Step times measured per quality level in this page (estimates). */
  timings: Partial<Record<AppQuality, LevelTiming>>;
  debugMemory: DebugMemory | null;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): void;
  exportResult(kind: ExportKind, fullSize?: boolean): void;
  openSession(file: File): Promise<void>;
  simulateDeviceLoss(): void;
  /** Test hook: the GPU runs out of memory past `bytes` (null: no limit). */
  simulateMemoryLimit(bytes: number | null): void;
}

// ------------------------------------------------------------------------------------------------ view

export interface ViewSlice {
  url: UrlOptions;
  /** What the worker's GPU offers (null until it answered). */
  gpu: GpuAvailability | null;
  view: ViewKind;
  error: AppError | null;
  notices: Notice[];
  nextNoticeId: number;
  /** PNG downloads at the photo's full size (null: the quality level's default). */
  fullSizeDownloads: boolean | null;
  /** Starts the worker (it opens its GPU device and reports it for the GPU panel). */
  connect(): void;
  setView(view: ViewKind): void;
  setFullSizeDownloads(on: boolean | null): void;
  addNotice(tone: Notice['tone'], text: string): void;
  dismissNotice(id: number): void;
  dismissError(): void;
}

// ------------------------------------------------------------------------------------------------ video

export type AtlasViewKind = 'reconstruction' | 'alpha' | 'background' | 'foreground' | 'input';

export interface ClipTrim {
  start: number;
  /** null: every frame (up to the most a clip may keep). */
  frameCount: number | null;
  stride: number;
  /** The working size's long side at most. */
  maxSide: number;
}

export interface VideoSlice {
  /** What the editor works on. */
  mode: 'photo' | 'video';
  clip: { info: ClipInfo; strip: ImageBitmap[]; stripFrames: number[] } | null;
  /** The last file, zip or folder dropped (imported again when the trim changes). */
  clipInput: ClipInput | null;
  clipProgress: { done: number; total: number } | null;
  clipError: {
    message: string;
    importKind?: VideoImportErrorKind;
    suggestedTrims?: SuggestedTrim[];
    sourceFrameCount?: number;
  } | null;
  trim: ClipTrim;
  decomposeSettings: { iterations: number; backgroundOnly: boolean };
  atlas: {
    iteration: number;
    iterations: number;
    psnr: number;
    etaSeconds: number | null;
    secondsPerIteration: number | null;
    elapsedSeconds: number;
  } | null;
  atlasPreview: { iteration: number; frame: number; images: AtlasPreviewEvent['images'] } | null;
  atlasView: AtlasViewKind;
  /** How the clip is decomposed and why (automatic masks, the user's, or background only). */
  atlasLayers: { mode: 'two-layers' | 'background-only'; reason: string } | null;
  /** The frame the views show. */
  frame: number;
  setMode(mode: 'photo' | 'video'): void;
  /** Imports `input` (or the last one again, with the current trim). */
  importClip(input?: ClipInput): void;
  setTrim<K extends keyof ClipTrim>(key: K, value: ClipTrim[K]): void;
  applySuggestedTrim(trim: SuggestedTrim): void;
  setDecomposeSetting<K extends keyof VideoSlice['decomposeSettings']>(
    key: K,
    value: VideoSlice['decomposeSettings'][K],
  ): void;
  decompose(): void;
  showFrame(frame: number): void;
  setAtlasView(view: AtlasViewKind): void;
  downloadAtlas(): void;
  /** A decomposition saved before (atlas.safetensors) for the clip that is loaded. */
  openAtlas(file: File): Promise<void>;
}

// ------------------------------------------------------------------------------------------------ video edit

/** The layer a video edit paints on: the default rule's choice (`auto`, sent as null) or an explicit one. */
export type VideoLayerChoice = 'auto' | EditLayer;

/** The video edit's prompts as the form holds them (several descriptions separated by “;”). */
export interface VideoPrompts {
  /** T_screen: the edit layer alone (required). */
  screenText: string;
  /** T_comp: the edited frames; empty = the same as `screenText`. */
  compText: string;
  /** T_src: the layer as it is now (it also makes the foreground the default layer). */
  srcText: string;
}

export interface VideoEditFormState {
  presetId: VideoPresetId | '';
  prompts: VideoPrompts;
  layer: VideoLayerChoice;
  quality: VideoQuality;
}

export interface VideoEditRun {
  /** A `startVideo` was sent and the worker has not answered with `started` (or an error) yet. */
  pending: boolean;
  /** The edit the worker holds is a video edit: its layer, frames, frame rate, quality (null: none, or a photo's). */
  info: VideoEditInfo | null;
  /** The loaded clip has a decomposition to edit (decomposed here or opened from a file). */
  decomposed: boolean;
}

/** The live preview of a video edit: the renders of one frame, and the edited atlas. */
export interface VideoEditPreview {
  step: number;
  frame: number;
  width: number;
  height: number;
  images: Record<RenderKind, ImageBitmap>;
  atlas: ImageBitmap | null;
}

/** The player of the rendered edit (frames from `videoFrame` events). */
export interface VideoPlayerState {
  /** Per frame, its renders (null: not received yet). */
  frames: (Record<VideoFrameView, ImageBitmap> | null)[];
  /** Per frame, the step of the edit it was rendered at. */
  frameSteps: (number | null)[];
  /** The step of the render asked for or being received (null: none yet). */
  renderStep: number | null;
  /** A render was asked for and `videoRendered` has not come yet. */
  rendering: boolean;
  /** Every frame of the latest render arrived. */
  ready: boolean;
  current: number;
  playing: boolean;
  loop: boolean;
  view: VideoFrameView;
  /** Show the input frames instead of the chosen view (before / after). */
  before: boolean;
}

/** Step times a video quality level measured on this device (what its estimate uses). */
export interface VideoLevelTiming extends LevelTiming {
  quality: VideoQuality;
}

export interface VideoEditSlice {
  videoForm: VideoEditFormState;
  videoRun: VideoEditRun;
  videoPreview: VideoEditPreview | null;
  /** The frame the live preview shows (sent to the worker with `previewFrame`). */
  videoPreviewFrame: number;
  player: VideoPlayerState;
  videoExportQuality: VideoExportQuality;
  /** Long exports under way: frames done of total. */
  exportProgress: Partial<Record<ExportKind, { done: number; total: number }>>;
  /** Step times measured per video quality level in this page. */
  videoTimings: Partial<Record<VideoQuality, VideoLevelTiming>>;
  applyVideoPreset(id: VideoPresetId | ''): void;
  setVideoPrompt(key: keyof VideoPrompts, value: string): void;
  setVideoLayer(layer: VideoLayerChoice): void;
  setVideoQuality(q: VideoQuality): void;
  startVideoEdit(): void;
  choosePreviewFrame(frame: number): void;
  /** Asks the worker for every frame of the current edit (the player fills). */
  renderVideo(): void;
  setPlayerFrame(frame: number): void;
  stepPlayer(delta: number): void;
  setPlaying(on: boolean): void;
  setLoop(on: boolean): void;
  setPlayerView(view: VideoFrameView): void;
  setBefore(on: boolean): void;
  setVideoExportQuality(q: VideoExportQuality): void;
  exportVideo(kind: VideoExportKind | 'session', quality?: VideoExportQuality): void;
  /** Drops the video edit's preview and player (the clip is decomposed again, or replaced). */
  clearVideoEdit(): void;
}

export type AppState = InputSlice & ModelSlice & RunSlice & ViewSlice & VideoSlice & VideoEditSlice;

/** What each slice's creator gets: the store and the worker client. */
export interface SliceContext {
  set: StoreApi<AppState>['setState'];
  /** Not during a slice's creation: the store does not exist yet (use `url` there). */
  get: StoreApi<AppState>['getState'];
  url: UrlOptions;
  client: () => EditClientLike;
}

/** A slice: its initial state and actions, and its handler of the worker's events. */
export interface Slice<T> {
  state: T;
  onEvent(ev: EditEvent): void;
}
