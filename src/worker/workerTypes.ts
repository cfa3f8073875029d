/**
 * What the worker's controller works with, as interfaces: the platform (posting events, bitmaps, PNG encoding), the
 * edit job, and how jobs are made. The browser entry (editWorker.ts) plugs in the real ones; the controller's tests
 * plug in fakes, so every run-state transition can be driven in Node without a GPU.
 */
import type { EditConfig } from '../edit/config';
import type { EditRenders, RgbaImage, StepReport } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import type { LoadedModel } from './modelLoader';
import type { EditEvent } from './protocol';

export interface WorkerPlatform {
  post(event: EditEvent): void;
  /** A preview image for the page (transferred). */
  toBitmap(img: RgbaImage): Promise<ImageBitmap>;
  encodePng(img: RgbaImage): Promise<Blob>;
  /** 8-bit pixels of a photo the page sent as a bitmap or as pixels. */
  readPixels(img: RgbaImage | ImageBitmap): RgbaImage;
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

export interface JobFactory {
  create(engine: Engine, model: LoadedModel, image: RgbaImage, config: EditConfig): Promise<TrainableJob>;
  restore(engine: Engine, model: LoadedModel, image: RgbaImage, session: Uint8Array): Promise<TrainableJob>;
}
