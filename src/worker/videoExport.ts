/**
 * A video edit's outputs (spec §B.7): every frame rendered for the page's player (`videoFrame` events), and the
 * downloads: the edited clip (MP4, or WebM where no MP4 codec encodes, with the input's audio copied when it can be),
 * its frames and the RGBA edit layer's frames as PNG zips, and the edited atlas as PNG. Each renders the frames one at
 * a time from the current generator (the edited atlas is computed once), tells the page how far it got
 * (`exportProgress`), and runs while no step does: the edit is stopped, done or paused.
 */
import { isVideoEncodeError } from '../video/media/encodeError';
import { zipFrames } from '../video/media/frameZip';
import { exportFilename, type ExportResult } from './exporter';
import type { ExportCommand, VideoExportKind, VideoFrameView } from './protocol';
import type { Recovery } from './recovery';
import { errorMessage, type WorkerContext } from './workerContext';
import { isVideoJob, type EncodeVideoOptions, type VideoTrainableJob } from './workerTypes';
import type { VideoInput } from './exporter';

/** The run states in which a video edit's frames may be rendered (no step runs). */
const RESTING = ['stopped', 'done', 'paused'] as const;

/** The video edit to render, or null with the page told why. */
function videoEdit(
  ctx: WorkerContext,
  command: 'renderVideo' | 'export',
  what: string,
): { job: VideoTrainableJob; video: VideoInput } | null {
  const job = ctx.edit.job;
  const video = ctx.edit.input?.video;
  if (!isVideoJob(job) || !video) {
    ctx.fail('video', `There is no video edit to ${what}: start one on a decomposed clip first.`, { command });
    return null;
  }
  if (!ctx.machine.is(...RESTING)) {
    ctx.fail('video', `Pause or stop the edit before you ${what}; the training is still running.`, { command });
    return null;
  }
  return { job, video };
}

/** Every frame of the current edit for the page's player, then `videoRendered`. */
export async function renderVideo(ctx: WorkerContext, recovery: Pick<Recovery, 'jobError'>): Promise<void> {
  const edit = videoEdit(ctx, 'renderVideo', 'render the clip');
  if (!edit) return;
  const { job } = edit;
  const frames = job.frameCount;
  try {
    await ctx.serial(async () => {
      ctx.busy('render', `Rendering ${frames} frames of the edit…`);
      for (let t = 0; t < frames; t++) {
        const r = await ctx.device.watch(job.renderFrame(t));
        const images = {} as Record<VideoFrameView, ImageBitmap>;
        for (const view of ['composite', 'edit', 'alpha', 'greenscreen', 'input'] as const) {
          images[view] = await ctx.platform.toBitmap(r[view]);
        }
        ctx.post({ type: 'videoFrame', step: job.stepsDone, frame: t, frames, images });
      }
    });
    ctx.post({ type: 'videoRendered', step: job.stepsDone, frames });
  } catch (e) {
    await recovery.jobError(e, 'renderVideo');
  }
}

/** The clip's audio over the kept frames, in the source's timeline. */
function audioSpan(video: VideoInput): EncodeVideoOptions['audio'] {
  const audio = video.source.clip.audio;
  if (!audio || !(audio.endTime > audio.startTime)) return null;
  return { source: audio.source, startSeconds: audio.startTime, durationSeconds: audio.endTime - audio.startTime };
}

async function exportClip(
  ctx: WorkerContext,
  job: VideoTrainableJob,
  video: VideoInput,
  cmd: ExportCommand,
  progress: (done: number) => void,
): Promise<ExportResult & { filename: string }> {
  const clip = video.source.clip;
  const audio = audioSpan(video);
  const r = await ctx.platform.encodeVideo({
    width: clip.width,
    height: clip.height,
    frameCount: job.frameCount,
    frameRate: job.frameRate,
    quality: cmd.videoQuality ?? 'medium',
    audio,
    frame: async (i) => {
      const f = await ctx.device.watch(job.renderFrame(i));
      progress(i + 1);
      return f.composite;
    },
  });
  const notes: string[] = [];
  if (r.container === 'webm') {
    notes.push(`This browser has no MP4 video encoder: the clip is saved as WebM (${r.codec}).`);
  }
  if (audio && !r.hasAudio) {
    notes.push(
      `The clip's sound could not be copied into the ${r.container.toUpperCase()} file: it has no audio` +
        (r.audioNote ? ` (${r.audioNote}).` : '.'),
    );
  }
  if (r.width !== clip.width || r.height !== clip.height) {
    notes.push(
      `The video is ${r.width}×${r.height} px (video codecs need even sides; the frames are ${clip.width}×${clip.height}).`,
    );
  }
  const mp4 = exportFilename('video');
  return {
    blob: new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: r.mimeType }),
    filename: r.container === 'webm' ? mp4.replace(/\.mp4$/, '.webm') : mp4,
    width: r.width,
    height: r.height,
    note: notes.length ? notes.join(' ') : undefined,
  };
}

/** A video edit's download: the clip, a zip of frames or of layer frames, or the edited atlas. */
export async function runVideoExport(
  ctx: WorkerContext,
  recovery: Pick<Recovery, 'jobError'>,
  cmd: ExportCommand & { kind: VideoExportKind },
): Promise<void> {
  const kind = cmd.kind;
  const edit = videoEdit(ctx, 'export', 'download the video edit');
  if (!edit) return;
  const { job, video } = edit;
  const total = job.frameCount;
  const progress = (done: number) => ctx.post({ type: 'exportProgress', kind, done, total });
  try {
    const result = await ctx.serial(async (): Promise<ExportResult & { filename?: string }> => {
      if (kind === 'atlas-edit') {
        ctx.busy('export', 'Rendering the edited atlas…');
        const img = await ctx.device.watch(job.renderAtlas());
        return { blob: await ctx.platform.encodePng(img), width: img.width, height: img.height };
      }
      if (kind === 'video') {
        ctx.busy('export', `Rendering and encoding ${total} frames…`);
        progress(0);
        return exportClip(ctx, job, video, cmd, progress);
      }
      ctx.busy('export', `Rendering ${total} ${kind === 'layers' ? 'edit-layer frames' : 'frames'} into a zip…`);
      progress(0);
      const bytes = await zipFrames(
        total,
        async (i) => {
          const f = await ctx.device.watch(job.renderFrame(i));
          const png = await ctx.platform.encodePng(kind === 'layers' ? f.edit : f.composite);
          return new Uint8Array(await png.arrayBuffer());
        },
        { onProgress: (done) => progress(done) },
      );
      const { width, height } = job.workingSize;
      return { blob: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), width, height };
    });
    const { filename, ...rest } = result;
    ctx.post({ type: 'exported', kind, filename: filename ?? exportFilename(kind), ...rest });
  } catch (e) {
    if (isVideoEncodeError(e)) {
      if (e.kind === 'cancelled') return;
      ctx.fail('video', errorMessage(e), {
        command: 'export',
        hint:
          e.kind === 'no-codec'
            ? 'Download the frames as PNGs (zip) instead, and make the video with a video editor.'
            : 'Try again, or download the frames as PNGs (zip).',
      });
      return;
    }
    await recovery.jobError(e, 'export');
  }
}
