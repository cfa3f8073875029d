/**
 * What the worker's controller works with, as interfaces: the platform (posting events, bitmaps, PNG encoding), the
 * edit job, and how jobs are made. The browser entry (editWorker.ts) plugs in the real ones; the controller's tests
 * plug in fakes, so every run-state transition can be driven in Node without a GPU.
 */
import type { EditConfig } from '../edit/config';
import type { EditRenders, RgbaImage, StepReport } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import type { EditLayer } from '../video/edit/layerData';
import type { VideoQuality } from '../video/edit/videoConfig';
import type { VideoClip } from '../video/media/videoClip';
import type { LoadedModel } from './modelLoader';
import type { EditEvent } from './protocol';

// What the worker hands the video encoder and gets back (a fake in tests). Type-only: the controller does not load
// the browser module.
import type { EncodedVideo, EncodeVideoOptions } from '../video/media/encodeVideo.browser';

export type { EncodedVideo, EncodeVideoOptions };

export interface WorkerPlatform {
  post(event: EditEvent): void;
  /** A preview image for the page (transferred). */
  toBitmap(img: RgbaImage): Promise<ImageBitmap>;
  encodePng(img: RgbaImage): Promise<Blob>;
  /** 8-bit pixels of a photo the page sent as a bitmap or as pixels. */
  readPixels(img: RgbaImage | ImageBitmap): RgbaImage;
  /** The edited clip as MP4 (WebM where no MP4 codec encodes), with the input's audio when it can be copied. */
  encodeVideo(o: EncodeVideoOptions): Promise<EncodedVideo>;
}

/** The part of EditJob the worker drives. */
export interface TrainableJob {
  readonly stepsDone: number;
  readonly totalSteps: number;
  readonly config: EditConfig;
  readonly workingSize: { width: number; height: number };
  /** The size a full-resolution render has on this device (the photo's own, or capped by the device's limits). */
  readonly fullRenderSize: { width: number; height: number };
  step(): Promise<StepReport>;
  render(opts?: { fullResolution?: boolean }): Promise<EditRenders>;
  saveSession(): Promise<Uint8Array>;
  dispose(): void;
}

/** One frame of a video edit: the image edit's four renders of it, and the original frame. */
export interface VideoFrameRenders extends EditRenders {
  input: RgbaImage;
}

/**
 * The part of a video edit (VideoEditJob on a clip's decomposition) the worker drives: a TrainableJob whose
 * `render()` shows the preview frame, plus the edited atlas and every frame.
 */
export interface VideoTrainableJob extends TrainableJob {
  readonly kind: 'video';
  readonly layer: EditLayer;
  readonly frameCount: number;
  readonly frameRate: number;
  /** The frame `render()` shows (clamped to the clip). */
  previewFrame: number;
  /** The edited atlas as RGBA (edit colour and α); computed once per step. */
  renderAtlas(): Promise<RgbaImage>;
  renderFrame(t: number): Promise<VideoFrameRenders>;
}

export function isVideoJob(job: TrainableJob | null | undefined): job is VideoTrainableJob {
  return (job as Partial<VideoTrainableJob> | null | undefined)?.kind === 'video';
}

/** What a video edit is made from: the clip and its decomposition (atlas.safetensors bytes). */
export interface VideoSource {
  clip: VideoClip;
  atlas: Uint8Array;
  /** The decomposition has a foreground layer (not background only). */
  hasForeground: boolean;
}

export interface VideoJobSettings {
  layer: EditLayer;
  quality: VideoQuality;
  /** The resolved configuration (resolveVideoConfig). */
  config: EditConfig;
}

export interface VideoJobFactory {
  create(
    engine: Engine,
    model: LoadedModel,
    source: VideoSource,
    settings: VideoJobSettings,
  ): Promise<VideoTrainableJob>;
  /** From a video session (its layer and density are in it). */
  restore(engine: Engine, model: LoadedModel, source: VideoSource, session: Uint8Array): Promise<VideoTrainableJob>;
}

export interface JobFactory {
  create(engine: Engine, model: LoadedModel, image: RgbaImage, config: EditConfig): Promise<TrainableJob>;
  restore(engine: Engine, model: LoadedModel, image: RgbaImage, session: Uint8Array): Promise<TrainableJob>;
}
