/**
 * A video edit as the worker's run machinery drives it: VideoEditJob (src/video/edit/videoJob.ts) on a clip's
 * decomposition behind the same TrainableJob surface as the image edit, so the trainer loop, checkpoints, recovery
 * and downloads are the image edit's. `render()` shows the preview frame with the image edit's four views (the edited
 * frame, the RGBA edit layer, its α, the layer over green); the edited atlas is computed once per step by the job.
 */
import type { EditConfig } from '../edit/config';
import type { EditRenders, RgbaImage, StepReport } from '../edit/jobTypes';
import { GREEN_SCREEN } from '../ops/composite';
import type { EditLayer } from '../video/edit/layerData';
import type { VideoEditJob } from '../video/edit/videoJob';
import type { FrameRender } from '../video/edit/videoRender';
import type { VideoClip } from '../video/media/videoClip';
import type { VideoFrameRenders, VideoTrainableJob } from './workerTypes';

const GREEN = GREEN_SCREEN.map((v) => Math.round(v * 255));

/**
 * The image edit's views of an RGBA edit layer over an opaque frame: the composite as rendered, the layer itself
 * (`edit`, α in A), α as grey, and the layer over the green screen (spec §A.5's four renders).
 */
export function layerRenders(composite: RgbaImage, layer: RgbaImage): EditRenders {
  const { width, height } = layer;
  const n = width * height;
  const alpha = new Uint8ClampedArray(4 * n);
  const green = new Uint8ClampedArray(4 * n);
  const d = layer.data;
  for (let k = 0; k < n; k++) {
    const a = d[4 * k + 3];
    alpha[4 * k] = alpha[4 * k + 1] = alpha[4 * k + 2] = a;
    alpha[4 * k + 3] = 255;
    const f = a / 255;
    for (let c = 0; c < 3; c++) green[4 * k + c] = Math.round((1 - f) * GREEN[c] + f * d[4 * k + c]);
    green[4 * k + 3] = 255;
  }
  return {
    composite,
    edit: layer,
    alpha: { width, height, data: alpha },
    greenscreen: { width, height, data: green },
  };
}

/** A frame's renders from the job's FrameRender and the original frame. */
export function frameRenders(r: FrameRender, input: RgbaImage): VideoFrameRenders {
  return { ...layerRenders(r.composite, r.layer), input };
}

/** The middle frame: what the live preview shows unless the page chose another. */
export const middleFrame = (frames: number): number => Math.max(0, Math.floor(frames / 2));

export class VideoTrainable implements VideoTrainableJob {
  readonly kind = 'video' as const;
  private preview: number;

  constructor(
    readonly job: VideoEditJob,
    readonly clip: VideoClip,
  ) {
    this.preview = middleFrame(clip.frames.length);
  }

  get stepsDone(): number {
    return this.job.stepsDone;
  }

  get totalSteps(): number {
    return this.job.totalSteps;
  }

  get config(): EditConfig {
    return this.job.config;
  }

  get layer(): EditLayer {
    return this.job.data.layer;
  }

  get frameCount(): number {
    return this.clip.frames.length;
  }

  get frameRate(): number {
    return this.clip.frameRate;
  }

  get workingSize(): { width: number; height: number } {
    return { width: this.clip.width, height: this.clip.height };
  }

  /** Frames render at the decomposition's size only. */
  get fullRenderSize(): { width: number; height: number } {
    return this.workingSize;
  }

  get previewFrame(): number {
    return this.preview;
  }

  set previewFrame(t: number) {
    this.preview = Math.max(0, Math.min(this.frameCount - 1, Math.round(t)));
  }

  async step(): Promise<StepReport> {
    const r = await this.job.step();
    return { step: r.step, totalSteps: r.totalSteps, losses: r.losses, lr: r.lr, fullImageStep: r.wholeAtlasStep };
  }

  async render(): Promise<EditRenders> {
    const { composite, edit, alpha, greenscreen } = await this.renderFrame(this.preview);
    return { composite, edit, alpha, greenscreen };
  }

  renderAtlas(): Promise<RgbaImage> {
    return this.job.renderAtlas();
  }

  async renderFrame(t: number): Promise<VideoFrameRenders> {
    const input = this.clip.frames[t];
    return frameRenders(await this.job.renderFrame(t, input), input);
  }

  saveSession(): Promise<Uint8Array> {
    return this.job.saveSession();
  }

  dispose(): void {
    this.job.dispose();
  }
}
