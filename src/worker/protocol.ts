/**
 * The one message protocol between the page (src/app) and the edit worker (src/worker/editWorker.ts), both
 * directions. Everything here crosses postMessage: plain data, typed arrays, Blobs and ImageBitmaps (transferred).
 *
 * Page → worker: `EditCommand`. Worker → page: `EditEvent`. The worker answers every command with at least one event
 * (or an `error` event) and reports its run state with `paused` / `resumed` / `stopped` / `done`.
 */
import type { Precision } from '../clip/modelFiles';
import type { LoadedFrom } from '../clip/modelManager';
import type { EditConfig } from '../edit/config';
import type { RenderKind, RgbaImage, StepReport } from '../edit/jobTypes';
import type { ClipCostConfig } from '../edit/quality';
import type { AdapterSummary } from '../gpu/device';
import type { AppQuality } from '../edit/qualityLevels';

export type { AppQuality } from '../edit/qualityLevels';

/** What can be downloaded: the four renders as PNG, or the session (settings + generator + optimizer state). */
export type ExportKind = RenderKind | 'session';

/** A model file the user picked from disk, with its path inside the model folder when known. */
export interface PickedModelFile {
  path: string;
  file: Blob;
}

// ---------------------------------------------------------------------------------------------------------------------
// Commands (page → worker)

export interface InitCommand {
  type: 'init';
  /** `Xenova/clip-vit-base-patch32`, or a self-hosted folder name such as `tiny-clip`. */
  modelId: string;
  /** The self-hosted model base (`/models/`); files at `<baseUrl><modelId>/<file>`. */
  baseUrl: string;
  precision: Precision;
  /** Model files picked from disk; tried after the network sources (or alone with `useNetwork: false`). */
  pickedFiles?: PickedModelFile[];
  /** Default true: the self-hosted folder, then the Hugging Face Hub. */
  useNetwork?: boolean;
  /** Honour test hooks (`simulateDeviceLoss`). Set by `?debug=1`. */
  debug?: boolean;
}

export interface StartCommand {
  type: 'start';
  /**
   * The input at its original resolution (after EXIF orientation; capped at the largest render side). A transferred
   * ImageBitmap is read back in the worker, so the page never spends time on a large getImageData.
   */
  image: RgbaImage | ImageBitmap;
  /** Settings on top of the quality level's configuration (prompts, seed, advanced overrides). */
  config: Partial<EditConfig>;
  quality: AppQuality;
}

export interface OpenSessionCommand {
  type: 'openSession';
  bytes: Uint8Array;
  /** The photo to use when the session file carries none (a bare job session). */
  image?: RgbaImage | ImageBitmap;
}

export type EditCommand =
  | InitCommand
  | StartCommand
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'export'; kind: ExportKind }
  | OpenSessionCommand
  /** Test hook: destroys the device as a driver reset would. Ignored unless `init.debug` was set. */
  | { type: 'simulateDeviceLoss' }
  /**
   * Test hook: the GPU runs out of memory when its storage buffers would pass `bytes` (null: no limit), through the
   * same error a real device reports. Answered with `memoryLimit`. Ignored unless `init.debug` was set.
   */
  | { type: 'simulateMemoryLimit'; bytes: number | null }
  /** Forget the cached model files (Cache Storage). */
  | { type: 'clearModelCache'; modelId: string; baseUrl: string };

// ---------------------------------------------------------------------------------------------------------------------
// Events (worker → page)

export type ErrorKind = 'no-webgpu' | 'device-lost' | 'out-of-memory' | 'model' | 'image' | 'session' | 'internal';

/** What the worker is doing while it is not stepping (shown next to the progress bar). */
export type BusyPhase = 'device' | 'model' | 'clip' | 'prompts' | 'job' | 'render' | 'export' | 'restore';

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
  /** Smoothed over the recent steps (the first steps include kernel compilation). */
  stepsPerSecond: number;
  /** Seconds left at the current speed; null until a speed is known. */
  etaSeconds: number | null;
  elapsedSeconds: number;
}

export interface PreviewEvent {
  type: 'preview';
  /** Steps taken when the preview was rendered. */
  step: number;
  width: number;
  height: number;
  /** One bitmap per render (transferred). */
  images: Record<RenderKind, ImageBitmap>;
}

export interface StartedEvent {
  type: 'started';
  totalSteps: number;
  /** Steps already done (a restored session continues from there). */
  step: number;
  workingSize: { width: number; height: number };
  seed: number;
  /** The configuration the job runs with (after the quality level and validation). */
  config: EditConfig;
  quality: AppQuality;
  /** Whether the composite download renders at the photo's full resolution. */
  fullResolutionExport: boolean;
  /** Training runs now (false for an opened session, which waits for `resume`). */
  running: boolean;
}

export interface SessionOpenedEvent {
  type: 'sessionOpened';
  step: number;
  totalSteps: number;
  config: EditConfig;
  quality: AppQuality;
  /** The photo stored in the session file (null when the session carried none and the page's photo was used). */
  image: RgbaImage | null;
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
}

export type EditEvent =
  | { type: 'adapter'; summary: AdapterSummary }
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
  | StartedEvent
  | ProgressEvent
  | PreviewEvent
  | { type: 'paused'; step: number }
  | { type: 'resumed'; step: number }
  | { type: 'stopped'; step: number }
  | { type: 'done'; step: number }
  /** The GPU device was lost; the worker is opening a new one and will continue from `fromStep`. */
  | { type: 'deviceLost'; message: string; fromStep: number }
  /** Training continues on a new device from the last checkpoint. */
  | { type: 'recovered'; step: number; lostSteps: number }
  /**
   * After running out of GPU memory (an `error` event came first): the edit that is kept is ready again on a new
   * device (a `started` event with `running: false` and a preview came before this). `previous`: it is the edit from
   * before the command that failed (a new run or an opened session), not that command's own progress.
   */
  | { type: 'kept'; step: number; totalSteps: number; previous: boolean }
  /** The simulated memory limit now in effect, and the current device's storage-buffer use (test hook). */
  | { type: 'memoryLimit'; limitBytes: number | null; usedBytes: number; peakBytes: number }
  | SessionOpenedEvent
  | ExportedEvent
  | { type: 'modelCacheCleared' }
  | ErrorEvent;

export type EditEventType = EditEvent['type'];
export type EventOf<T extends EditEventType> = Extract<EditEvent, { type: T }>;

/** The objects of an event to transfer rather than copy. */
export function transferablesOf(event: EditEvent): Transferable[] {
  if (event.type === 'preview') return Object.values(event.images);
  if (event.type === 'sessionOpened' && event.image) return [event.image.data.buffer];
  return [];
}

/** The objects of a command to transfer rather than copy. */
export function commandTransferables(command: EditCommand): Transferable[] {
  const image = (img: RgbaImage | ImageBitmap): Transferable =>
    typeof ImageBitmap !== 'undefined' && img instanceof ImageBitmap ? img : (img as RgbaImage).data.buffer;
  if (command.type === 'start') return [image(command.image)];
  if (command.type === 'openSession') {
    const list: Transferable[] = [command.bytes.buffer as ArrayBuffer];
    if (command.image) list.push(image(command.image));
    return list;
  }
  return [];
}

/** 8-bit RGBA pixels of a photo sent as an ImageBitmap (closed afterwards) or as pixels. */
export function imagePixels(img: RgbaImage | ImageBitmap): RgbaImage {
  if (!(typeof ImageBitmap !== 'undefined' && img instanceof ImageBitmap)) return img as RgbaImage;
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2D is not available in this browser.');
  ctx.drawImage(img, 0, 0);
  const { width, height } = img;
  img.close();
  return { width, height, data: ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data };
}

/** The download file name of an export. */
export function exportFilename(kind: ExportKind, stem = 'text2live'): string {
  const names: Record<ExportKind, string> = {
    composite: `${stem}-composite.png`,
    edit: `${stem}-edit-layer.png`,
    alpha: `${stem}-alpha.png`,
    greenscreen: `${stem}-greenscreen.png`,
    session: `${stem}-session.safetensors`,
  };
  return names[kind];
}
