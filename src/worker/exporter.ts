/**
 * Downloads: the four renders as PNG (encoded in the worker, so the page never blocks) and the session file (the
 * job's session with the photo and the app's metadata). A PNG renders at the working size or, asked for full size,
 * at the photo's own resolution from the current generator (fully convolutional), within what one storage binding
 * of this device holds; a smaller render says so in a note.
 */
import type { RenderKind, RgbaImage } from '../edit/jobTypes';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { fullResolutionExport } from '../edit/qualityLevels';
import type { EditLayer } from '../video/edit/layerData';
import type { VideoQuality } from '../video/edit/videoConfig';
import {
  VIDEO_EXPORT_KINDS,
  type AppQuality,
  type ExportCommand,
  type ExportKind,
  type VideoExportKind,
} from './protocol';
import type { Recovery } from './recovery';
import type { WorkerContext } from './workerContext';
import { wrapSession } from './sessionFile';
import type { TrainableJob, VideoSource, WorkerPlatform } from './workerTypes';

/** What a video edit was made from (what a recovery restores it on). */
export interface VideoInput {
  source: VideoSource;
  quality: VideoQuality;
  layer: EditLayer;
}

export interface ExportInput {
  /** The photo; for a video edit, the clip's first frame (its size is the clip's). */
  image: RgbaImage;
  quality: AppQuality;
  /** Set for a video edit. */
  video?: VideoInput;
}

export const isVideoExportKind = (kind: ExportKind): kind is VideoExportKind =>
  (VIDEO_EXPORT_KINDS as readonly string[]).includes(kind);

export interface ExportResult {
  blob: Blob;
  width?: number;
  height?: number;
  note?: string;
}

export interface ExportContext {
  job: TrainableJob;
  input: ExportInput;
  /** Wraps a GPU promise so that it rejects when the device is lost. */
  watch<T>(p: Promise<T>): Promise<T>;
  /** Whether a failure came from a lost device (given a moment to show). */
  isDeviceFailure(e: unknown): Promise<boolean>;
  platform: Pick<WorkerPlatform, 'encodePng'>;
}

const sizeText = (s: { width: number; height: number }) => `${s.width}×${s.height} px`;

/**
 * The session file: settings, generator, optimizer state and the photo. A video edit's carries no photo but the
 * clip's size and frame count: it reopens on that clip's decomposition.
 */
export async function exportSession(ctx: ExportContext): Promise<ExportResult> {
  const clip = ctx.input.video?.source.clip;
  const bytes = wrapSession(await ctx.watch(ctx.job.saveSession()), clip ? null : ctx.input.image, {
    quality: ctx.input.quality,
    savedAt: new Date().toISOString(),
    ...(clip ? { clip: { width: clip.width, height: clip.height, frames: clip.frames.length } } : {}),
  });
  return { blob: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }) };
}

/**
 * One render as PNG. `fullSize`: at the photo's resolution (capped by the device); when that render fails for
 * another reason than running out of memory or losing the device, the working size is used with a note. Out of
 * memory and device loss are the caller's (the device must be replaced).
 */
export async function exportRender(ctx: ExportContext, kind: RenderKind, fullSize: boolean): Promise<ExportResult> {
  const { job, input } = ctx;
  const own = { width: input.image.width, height: input.image.height };
  const working = job.workingSize;
  const bigger = own.width * own.height > working.width * working.height;
  let note: string | undefined;
  let renders;
  if (fullSize && bigger) {
    try {
      renders = await ctx.watch(job.render({ fullResolution: true }));
      const got = job.fullRenderSize;
      if (got.width < own.width || got.height < own.height) {
        note =
          `Rendered at ${sizeText(got)}, the largest this GPU can render in one pass; the photo is ${sizeText(own)}.` +
          ' Upscale it in an image editor if you need every pixel.';
      }
    } catch (e) {
      if (e instanceof GpuOutOfMemoryError || (await ctx.isDeviceFailure(e))) throw e;
      renders = await ctx.watch(job.render());
      note = `The full-size render did not work on this GPU (${e instanceof Error ? e.message : String(e)}); saved at the working size, ${sizeText(working)}.`;
    }
  } else {
    renders = await ctx.watch(job.render());
  }
  const img = renders[kind];
  return { blob: await ctx.platform.encodePng(img), width: img.width, height: img.height, note };
}

/** The download file name of an export. */
export function exportFilename(kind: ExportKind, stem = 'text2live'): string {
  const names: Record<ExportKind, string> = {
    composite: `${stem}-composite.png`,
    edit: `${stem}-edit-layer.png`,
    alpha: `${stem}-alpha.png`,
    greenscreen: `${stem}-greenscreen.png`,
    session: `${stem}-session.safetensors`,
    atlas: `${stem}-atlas.safetensors`,
    video: `${stem}-edited.mp4`,
    frames: `${stem}-frames.zip`,
    layers: `${stem}-layer-frames.zip`,
    'atlas-edit': `${stem}-atlas-edit.png`,
  };
  return names[kind];
}

/**
 * The export command: a PNG or the session file of the current edit. A full-size render that runs out of memory
 * replaces the device, keeps the edit (`Recovery.outOfMemory`) and saves the file at the working size instead.
 */
export async function runExport(
  ctx: WorkerContext,
  recovery: Pick<Recovery, 'outOfMemory' | 'jobError'>,
  cmd: ExportCommand,
  retry = false,
): Promise<void> {
  const job = ctx.edit.job;
  const input = ctx.edit.input;
  if (!job || !input) {
    ctx.fail('internal', 'There is no edit to download yet.', { command: 'export' });
    return;
  }
  const fullSize = !retry && (cmd.fullSize ?? fullResolutionExport(input.quality));
  const exportCtx: ExportContext = {
    job,
    input,
    watch: (p) => ctx.device.watch(p),
    isDeviceFailure: (e) => ctx.isDeviceFailure(e),
    platform: ctx.platform,
  };
  try {
    const result = await ctx.serial(async () => {
      if (cmd.kind === 'session') return exportSession(exportCtx);
      if (cmd.kind === 'atlas') throw new Error('A decomposition is downloaded through its clip, not an edit.');
      if (isVideoExportKind(cmd.kind)) throw new Error(`A ${cmd.kind} download is a video edit's (videoExport.ts).`);
      ctx.busy('export', `Rendering the ${cmd.kind === 'edit' ? 'edit layer' : cmd.kind}…`);
      return exportRender(exportCtx, cmd.kind, fullSize);
    });
    if (retry) result.note ??= 'The full-size render did not fit in this GPU’s memory; saved at the working size.';
    ctx.post({ type: 'exported', kind: cmd.kind, filename: exportFilename(cmd.kind), ...result });
  } catch (e) {
    if (e instanceof GpuOutOfMemoryError && fullSize && !ctx.trainerRunning()) {
      await recovery.outOfMemory(
        e,
        'export',
        'The full-size render needs more GPU memory than this device has; the file is saved at the working size instead.',
      );
      if (ctx.edit.job) await runExport(ctx, recovery, cmd, true);
      return;
    }
    await recovery.jobError(e, 'export');
  }
}
