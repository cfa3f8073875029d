/**
 * The one message protocol between the page (src/app) and the edit worker (src/worker/editWorker.ts), both
 * directions. Everything here crosses postMessage: plain data, typed arrays, Blobs and ImageBitmaps (transferred).
 *
 * Page → worker: `EditCommand`. Worker → page: `EditEvent`. The worker answers every command with at least one event
 * (or an `error` event) and reports every change of its run state (`runState.ts`) with one `state` event.
 */
import type { Precision } from '../clip/modelFiles';
import type { LoadedFrom } from '../clip/modelManager';
import type { EditConfig } from '../edit/config';
import type { RenderKind, RgbaImage, StepReport } from '../edit/jobTypes';
import type { ClipCostConfig } from '../edit/quality';
import type { AdapterSummary } from '../gpu/device';
import type { AtlasTerm } from '../video/atlas/atlasLosses';
import type { LayerMode, MaskSource } from '../video/masks/chooseLayers';
import type { SuggestedTrim, VideoImportErrorKind } from '../video/media/importError';
import type { PickedFile as ClipFile } from '../video/media/importClip.browser';
import type { ClipImportOptions } from '../video/media/importOptions';
import type { RunStateEvent } from './runState';
import type { StepTimingSummary } from './stepTiming';
import type { AppQuality } from '../edit/qualityLevels';
import type { EditLayer } from '../video/edit/layerData';
import type { VideoQuality } from '../video/edit/videoConfig';

export type { AppQuality } from '../edit/qualityLevels';

/** A video edit's downloads: the edited clip (MP4, WebM where no MP4 codec encodes), its frames as PNGs in a zip,
 * the RGBA edit layer's frames in a zip, and the edited atlas as PNG. */
export const VIDEO_EXPORT_KINDS = ['video', 'frames', 'layers', 'atlas-edit'] as const;
export type VideoExportKind = (typeof VIDEO_EXPORT_KINDS)[number];

/**
 * What can be downloaded: the four renders as PNG, the session (settings + generator + optimizer state), a clip's
 * decomposition (atlas.safetensors), or a video edit's outputs.
 */
export type ExportKind = RenderKind | 'session' | 'atlas' | VideoExportKind;

/** The encoder's bitrate for the edited clip. */
export type VideoExportQuality = 'low' | 'medium' | 'high';

/** What a frame of a video edit can show (the image editor's views per frame). */
export type VideoFrameView = 'composite' | 'edit' | 'alpha' | 'greenscreen' | 'input';

/** A model file the user picked from disk, with its path inside the model folder when known. */
export interface PickedModelFile {
  path: string;
  file: Blob;
}

// ---------------------------------------------------------------------------------------------------------------------
// Commands (page → worker)

/** Which CLIP model to use and where its files come from. */
export interface ModelSpec {
  /** `Xenova/clip-vit-base-patch32`, or a self-hosted folder name such as `tiny-clip`. */
  modelId: string;
  /** The self-hosted model base (`/models/`); files at `<baseUrl><modelId>/<file>`. */
  baseUrl: string;
  precision: Precision;
  /** Model files picked from disk; tried after the network sources (or alone with `useNetwork: false`). */
  pickedFiles?: PickedModelFile[];
  /** Default true: the self-hosted folder, then the Hugging Face Hub. */
  useNetwork?: boolean;
}

/** How the test hooks make the next device fail to open (`?debug=1&gpu=…`). */
export type GpuFailureSimulation = 'no-api' | 'no-adapter' | 'no-device';

/** The first command: what the GPU panel shows, and whether test hooks are honoured. */
export interface ProbeCommand {
  type: 'probe';
  /** Honour test hooks (`simulate…`). Set by `?debug=1`. */
  debug?: boolean;
  /** Test hook: the device fails to open this way. Ignored unless `debug`. */
  simulateGpu?: GpuFailureSimulation;
}

export interface LoadModelCommand {
  type: 'loadModel';
  model: ModelSpec;
}

export interface StartCommand {
  type: 'start';
  /** Loaded first when it is not the model in memory. */
  model: ModelSpec;
  /**
   * The input at its original resolution (after EXIF orientation; capped at the largest render side). A transferred
   * ImageBitmap is read back in the worker, so the page never spends time on a large getImageData.
   */
  image: RgbaImage | ImageBitmap;
  /** Settings on top of the quality level's configuration (prompts, seed, advanced overrides). */
  config: Partial<EditConfig>;
  quality: AppQuality;
}

/** Starts a video edit of the loaded clip's decomposition (the clip must be imported and decomposed). */
export interface StartVideoCommand {
  type: 'startVideo';
  model: ModelSpec;
  /** Prompts, seed and overrides on top of the video quality level's configuration. */
  config: Partial<EditConfig>;
  quality: VideoQuality;
  /** The layer to edit; null: the default (spec: the preset's, else foreground when a source/ROI text is given). */
  layer: EditLayer | null;
  /** The preset the prompts came from, if any (for the default layer). */
  preset?: string;
}

export interface OpenSessionCommand {
  type: 'openSession';
  model: ModelSpec;
  bytes: Uint8Array;
  /** The photo to use when the session file carries none (a bare job session). */
  image?: RgbaImage | ImageBitmap;
}

export interface ExportCommand {
  type: 'export';
  kind: ExportKind;
  /** For kind 'video': the encoder's bitrate. Default 'medium'. */
  videoQuality?: VideoExportQuality;
  /**
   * Render the PNG at the photo's own resolution (the generator is fully convolutional), within the device's limits;
   * false: at the working size. Default: what the quality level does.
   */
  fullSize?: boolean;
}

/** A clip: a video file or a zip of frames (a Blob), or the files of a picked folder of frames. */
export type ClipInput = Blob | readonly ClipFile[];

export interface ImportClipCommand {
  type: 'importClip';
  input: ClipInput;
  options: ClipImportOptions;
}

export interface DecomposeCommand {
  type: 'decompose';
  iterations: number;
  /** One layer without alpha (a clip without a separate moving object). */
  backgroundOnly?: boolean;
  seed?: number;
}

export type EditCommand =
  | ProbeCommand
  | ImportClipCommand
  | DecomposeCommand
  /** Shows another frame of the clip's decomposition (a preview comes back). */
  | { type: 'showFrame'; frame: number }
  /** A decomposition saved before (atlas.safetensors) for the clip that is loaded: no need to decompose again. */
  | { type: 'openAtlas'; bytes: Uint8Array }
  | LoadModelCommand
  /** Cancels the model download (the bytes so far are kept for the next try). */
  | { type: 'cancelModel' }
  | StartCommand
  | StartVideoCommand
  /** A video edit: which frame the live preview shows (a `preview` for it comes back while not training too). */
  | { type: 'previewFrame'; frame: number }
  /** A video edit: render every frame of the current edit for the player (`videoFrame` events, then `videoRendered`). */
  | { type: 'renderVideo' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | ExportCommand
  | OpenSessionCommand
  /** Test hook: destroys the device as a driver reset would. Ignored unless `probe.debug` was set. */
  | { type: 'simulateDeviceLoss' }
  /**
   * Test hook: the GPU runs out of memory when its storage buffers would pass `bytes` (null: no limit), through the
   * same error a real device reports. Answered with `memoryLimit`. Ignored unless `probe.debug` was set.
   */
  | { type: 'simulateMemoryLimit'; bytes: number | null }
  /** Forget the cached model files (Cache Storage). */
  | { type: 'clearModelCache'; modelId: string; baseUrl: string };

// ---------------------------------------------------------------------------------------------------------------------
// Events (worker → page)

export type ErrorKind =
  'video' | 'no-webgpu' | 'device-lost' | 'out-of-memory' | 'model' | 'image' | 'config' | 'session' | 'internal';

/** What the worker is doing while it is not stepping (shown next to the progress bar). */
export type BusyPhase = 'device' | 'model' | 'clip' | 'prompts' | 'job' | 'render' | 'export' | 'restore';

export type GpuUnavailableReason = 'insecure-context' | 'no-api' | 'no-adapter' | 'no-device';

/** What WebGPU gave the worker: the adapter with the limits its device was granted, or why there is none. */
export type GpuAvailability =
  | { kind: 'ready'; summary: AdapterSummary; limits: Record<string, number>; software: boolean }
  | { kind: 'unavailable'; reason: GpuUnavailableReason; detail: string };

export interface ModelProgress {
  type: 'modelProgress';
  /** The file being loaded (path in the model folder). */
  file: string;
  source: LoadedFrom;
  /** Bytes of all files so far, and the expected total (known sizes, else the manifest's estimates). */
  loaded: number;
  total: number;
  /** 0..100 over all files. */
  percent: number;
  fileLoaded: number;
  fileTotal: number | null;
}

export interface ProgressEvent {
  type: 'progress';
  report: StepReport;
  /** Over the recent steps, crop and full-image steps in the proportion the run has them. */
  stepsPerSecond: number;
  /** Seconds left from the measured step times; null until a step after the first was measured. */
  etaSeconds: number | null;
  elapsedSeconds: number;
  /** The measured step times of this run (what the page prices this quality level with). */
  timing: StepTimingSummary;
}

export interface PreviewEvent {
  type: 'preview';
  /** Steps taken when the preview was rendered. */
  step: number;
  width: number;
  height: number;
  /** One bitmap per render (transferred). For a video edit: the renders of frame `frame`. */
  images: Record<RenderKind, ImageBitmap>;
  /** A video edit: the frame the images show, and the edited atlas (RGBA: edit colour and α), transferred. */
  frame?: number;
  atlas?: ImageBitmap;
}

/** What the page knows of a video edit besides the image edit's fields. */
export interface VideoEditInfo {
  layer: EditLayer;
  frames: number;
  frameRate: number;
  quality: VideoQuality;
}

/** One rendered frame of a video edit for the player (transferred). */
export interface VideoFrameEvent {
  type: 'videoFrame';
  /** Steps the edit had when the frame was rendered. */
  step: number;
  frame: number;
  frames: number;
  images: Record<VideoFrameView, ImageBitmap>;
}

export interface StartedEvent {
  type: 'started';
  totalSteps: number;
  /** Steps already done (a restored session continues from there). */
  step: number;
  workingSize: { width: number; height: number };
  /** The photo's own size, and the largest render of it this device can make (full-size downloads). */
  fullSize: { width: number; height: number };
  seed: number;
  /** The configuration the job runs with (after the quality level and validation). */
  config: EditConfig;
  quality: AppQuality;
  /** Whether PNG downloads render at the photo's full size by default at this quality level. */
  fullResolutionExport: boolean;
  /** Set for a video edit. */
  video?: VideoEditInfo;
}

export interface SessionOpenedEvent {
  type: 'sessionOpened';
  step: number;
  totalSteps: number;
  config: EditConfig;
  quality: AppQuality;
  /** The photo stored in the session file (null when the session carried none and the page's photo was used). */
  image: RgbaImage | null;
  /** Set when the session is a video edit (reopened on the loaded clip's decomposition). */
  video?: VideoEditInfo;
}

export interface ExportedEvent {
  type: 'exported';
  kind: ExportKind;
  blob: Blob;
  filename: string;
  width?: number;
  height?: number;
  /** Something the user should know about this file (e.g. rendered smaller than asked). */
  note?: string;
}

export interface ErrorEvent {
  type: 'error';
  kind: ErrorKind;
  message: string;
  /** The user can try again (after changing something); the app and its other state are fine. */
  recoverable: boolean;
  /** What to try, e.g. a smaller quality level. */
  hint?: string;
  /** The command that failed. */
  command?: EditCommand['type'];
  /** A clip import's reason (`VideoImportError.kind`), and for a clip that is too long the trims that fit. */
  importKind?: VideoImportErrorKind;
  suggestedTrims?: SuggestedTrim[];
  sourceFrameCount?: number;
}

/** What the page shows of an imported clip. */
export interface ClipInfo {
  name: string;
  width: number;
  height: number;
  frames: number;
  frameRate: number;
  sourceFrameCount: number;
  frameIndices: number[];
  hasMasks: boolean;
}

export interface AtlasProgressEvent {
  type: 'atlasProgress';
  iteration: number;
  iterations: number;
  /** Reconstruction PSNR (dB) on a fixed set of the clip's pixels. */
  psnr: number;
  terms: Record<AtlasTerm, number>;
  /** Seconds per iteration over the recent ones (null until measured), the time left and so far. */
  secondsPerIteration: number | null;
  etaSeconds: number | null;
  elapsedSeconds: number;
}

export interface AtlasPreviewEvent {
  type: 'atlasPreview';
  iteration: number;
  frame: number;
  /** Transferred. alpha and foreground are null in background-only mode. */
  images: {
    reconstruction: ImageBitmap;
    alpha: ImageBitmap | null;
    background: ImageBitmap;
    foreground: ImageBitmap | null;
    input: ImageBitmap;
  };
}

export type EditEvent =
  | { type: 'gpu'; availability: GpuAvailability }
  /** The run state changed (the one place the worker reports it). */
  | RunStateEvent
  | { type: 'busy'; phase: BusyPhase; message: string }
  | ModelProgress
  | {
      type: 'modelReady';
      cached: boolean;
      modelId: string;
      precision: Precision;
      sources: LoadedFrom[];
      /** The vision tower's architecture (from config.json), for time estimates and the model panel. */
      vision: ClipCostConfig;
    }
  /** The model download was cancelled (what was downloaded is kept for the next try). */
  | { type: 'modelCancelled' }
  | StartedEvent
  | ProgressEvent
  | PreviewEvent
  /** The GPU device was lost; the worker is opening a new one and will continue from `fromStep`. */
  | { type: 'deviceLost'; message: string; fromStep: number }
  /** Training continues on a new device from the last checkpoint. */
  | { type: 'recovered'; step: number; lostSteps: number }
  /**
   * The edit the user had is back after something failed (out of GPU memory, a run that could not be set up, a run
   * stopped during its setup): it is ready again (a `started` event and a preview came first). `previous`: it is the
   * edit from before the command that failed, not that command's own progress.
   */
  | { type: 'kept'; step: number; totalSteps: number; previous: boolean }
  /** The simulated memory limit now in effect, and the current device's storage-buffer use (test hook). */
  | { type: 'memoryLimit'; limitBytes: number | null; usedBytes: number; peakBytes: number }
  | SessionOpenedEvent
  | ExportedEvent
  /** A long export (a video, a zip of frames) is under way: frames done of total. */
  | { type: 'exportProgress'; kind: ExportKind; done: number; total: number }
  | VideoFrameEvent
  /** Every frame of `renderVideo` was sent, for the edit at `step`. */
  | { type: 'videoRendered'; step: number; frames: number }
  | { type: 'clipProgress'; done: number; total: number }
  /** A clip was imported (it replaces the one before); `strip`: a few of its frames, small (transferred). */
  | { type: 'clipImported'; clip: ClipInfo; strip: ImageBitmap[]; stripFrames: number[] }
  /** The import was stopped; the clip from before (if any) stays. */
  | { type: 'clipCancelled' }
  | AtlasProgressEvent
  | AtlasPreviewEvent
  /** How the clip is being decomposed (two layers or background only), where its masks came from, and why. */
  | { type: 'atlasLayers'; mode: LayerMode; source: MaskSource; reason: string }
  /** A saved decomposition was opened for the loaded clip, at the iteration it was saved at. */
  | { type: 'atlasOpened'; iteration: number }
  | { type: 'modelCacheCleared' }
  | ErrorEvent;

export type EditEventType = EditEvent['type'];
export type EventOf<T extends EditEventType> = Extract<EditEvent, { type: T }>;

/** The objects of an event to transfer rather than copy. */
export function transferablesOf(event: EditEvent): Transferable[] {
  if (event.type === 'preview') return [...Object.values(event.images), ...(event.atlas ? [event.atlas] : [])];
  if (event.type === 'videoFrame') return Object.values(event.images);
  if (event.type === 'atlasPreview') return Object.values(event.images).filter((b): b is ImageBitmap => b !== null);
  if (event.type === 'clipImported') return [...event.strip];
  if (event.type === 'sessionOpened' && event.image) return [event.image.data.buffer];
  return [];
}

/** The objects of a command to transfer rather than copy. */
export function commandTransferables(command: EditCommand): Transferable[] {
  const image = (img: RgbaImage | ImageBitmap): Transferable =>
    typeof ImageBitmap !== 'undefined' && img instanceof ImageBitmap ? img : (img as RgbaImage).data.buffer;
  if (command.type === 'start') return [image(command.image)];
  if (command.type === 'openAtlas') return [command.bytes.buffer as ArrayBuffer];
  if (command.type === 'openSession') {
    const list: Transferable[] = [command.bytes.buffer as ArrayBuffer];
    if (command.image) list.push(image(command.image));
    return list;
  }
  return [];
}
