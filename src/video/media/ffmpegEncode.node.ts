/**
 * Encoding frames into an H.264 MP4 through the system ffmpeg (the CLI's `edited.mp4`): RGBA frames are piped raw
 * into ffmpeg's stdin (`-f rawvideo -pix_fmt rgba -s WxH -framerate FPS -i -`, with backpressure) and come out as
 * libx264 `yuv420p` at a constant quality (`-crf`), with the index at the front (`-movflags +faststart`) so the file
 * plays while it downloads. Frames are asked for one at a time (an async function of the index), so memory holds
 * one frame whatever the clip's length.
 *
 * Size. yuv420p needs even sides: an odd width loses its last column and an odd height its last row (a one-pixel
 * crop, never a resample, so the pixels that remain are the frame's own). Sides below 2 px cannot be encoded.
 *
 * Audio. With `audio`, the source file's first audio stream is passed through for the span of the frames
 * (`-ss start -t duration` on that input, `-shortest`): copied (`-c:a copy`) when MP4 holds its codec, else
 * re-encoded to AAC. A source without audio, or without ffprobe to ask, gives a silent video.
 *
 * The file is written under a temporary name and renamed when ffmpeg has finished, so a failed or interrupted encode
 * never leaves half a video. ffmpeg runs in its own process group, so a Ctrl-C in the terminal (meant for the edit,
 * which still writes its outputs) does not cut the encode short.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import type { RgbaImage } from '../../edit/jobTypes';
import { VideoEncodeError } from './encodeError.js';
import { cropRgba, evenFrameSize } from './evenFrame.js';
import { findOnPath, runTool, type FfmpegOptions } from './ffmpegTools.node.js';
import { lastErrorLine } from './ffprobe.node.js';

// One error type and one even-size crop for the browser and the CLI encoders; re-exported for this module's callers.
export { VideoEncodeError } from './encodeError.js';
export { cropRgba, evenFrameSize } from './evenFrame.js';

export interface EncodeAudio {
  /** The original clip file (a video); its first audio stream, if any, is passed through. */
  source: string;
  /** The span of the encoded frames in the source's timeline, seconds. */
  start: number;
  duration: number;
}

export interface EncodeVideoOptions extends FfmpegOptions {
  /** The MP4 to write. */
  out: string;
  /** Size of every frame (the video is this, cropped to even sides). */
  width: number;
  height: number;
  frameCount: number;
  frameRate: number;
  /** Frame `index` (0-based), asked for in order, once each. */
  frame(index: number): Promise<RgbaImage>;
  /** libx264 constant rate factor, 0 (lossless) … 51; default DEFAULT_CRF. */
  crf?: number;
  audio?: EncodeAudio | null;
}

export interface EncodeVideoResult {
  path: string;
  /** The video's size (even). */
  width: number;
  height: number;
  frames: number;
  /** What became of the source's audio. */
  audio: 'copied' | 'encoded' | 'none';
  /** Why there is no audio when one was asked for (no audio stream, no ffprobe). */
  audioNote?: string;
}

export const DEFAULT_CRF = 18;

/** Audio codecs (ffprobe's names) an MP4 holds as they are. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus', 'flac']);

/** ffmpeg's frame rate: exact for whole and NTSC (n/1001) rates. */
export function rateArgument(fps: number): string {
  if (Number.isInteger(fps)) return String(fps);
  const ntsc = Math.round(fps * 1001);
  if (Math.abs(fps * 1001 - ntsc) < 1e-3) return `${ntsc}/1001`;
  return fps.toFixed(6);
}

/** The codec of the file's first audio stream, or null (no audio, or not a file ffprobe reads). */
export async function probeAudioCodec(ffprobe: string, path: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const r = await runTool(
    ffprobe,
    ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path],
    env,
  ).catch(() => null);
  if (!r || r.code !== 0) return null;
  return r.stdout.trim().split('\n')[0]?.trim() || null;
}

/** ffmpeg's arguments for the encode (the frames on stdin; `audioCodec`: the source's, when it is passed through). */
export function ffmpegEncodeArgs(
  o: { out: string; width: number; height: number; frameRate: number; crf: number; audio?: EncodeAudio | null },
  audioCodec: string | null,
): string[] {
  const args = ['-hide_banner', '-nostats', '-loglevel', 'error', '-y'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${o.width}x${o.height}`);
  args.push('-framerate', rateArgument(o.frameRate), '-i', '-');
  const withAudio = o.audio && audioCodec;
  if (withAudio) {
    args.push('-ss', o.audio!.start.toFixed(6), '-t', o.audio!.duration.toFixed(6), '-i', o.audio!.source);
    args.push('-map', '0:v:0', '-map', '1:a:0');
    args.push(...(MP4_AUDIO.has(audioCodec) ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '192k']), '-shortest');
  }
  args.push('-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', String(o.crf), '-movflags', '+faststart');
  args.push('-f', 'mp4', o.out);
  return args;
}

/** Encodes the frames into `out` (H.264 MP4). Throws VideoEncodeError; nothing is left at `out` on failure. */
export async function encodeVideo(o: EncodeVideoOptions): Promise<EncodeVideoResult> {
  const env = o.env ?? process.env;
  const crf = o.crf ?? DEFAULT_CRF;
  if (!Number.isInteger(crf) || crf < 0 || crf > 51) {
    throw new VideoEncodeError('invalid', `The video quality (CRF) must be a whole number 0…51, got ${crf}.`);
  }
  if (!(o.frameRate > 0 && o.frameRate <= 1000)) {
    throw new VideoEncodeError('invalid', `The frame rate must be above 0 and at most 1000, got ${o.frameRate}.`);
  }
  if (!Number.isInteger(o.frameCount) || o.frameCount < 1) {
    throw new VideoEncodeError('invalid', `A video needs at least one frame, got ${o.frameCount}.`);
  }
  const size = evenFrameSize(o.width, o.height);
  if (size.width < 2 || size.height < 2) {
    throw new VideoEncodeError('invalid', `A ${o.width}×${o.height} frame is too small for H.264 (2×2 at least).`);
  }
  const ffmpeg = findOnPath('ffmpeg', env);
  if (!ffmpeg) {
    throw new VideoEncodeError(
      'ffmpeg-missing',
      'Writing an MP4 needs ffmpeg, which is not on PATH. Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; ' +
        'macOS: brew install ffmpeg).',
    );
  }
  let audioCodec: string | null = null;
  let audioNote: string | undefined;
  if (o.audio) {
    const ffprobe = findOnPath('ffprobe', env);
    audioCodec = ffprobe ? await probeAudioCodec(ffprobe, o.audio.source, env) : null;
    if (!audioCodec) audioNote = ffprobe ? `${o.audio.source} has no audio` : 'ffprobe is not on PATH';
  }
  const partial = `${o.out}.partial`;
  const child = spawn(ffmpeg, ffmpegEncodeArgs({ ...o, ...size, out: partial, crf }, audioCodec), {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true, // its own process group: a terminal's Ctrl-C is for the edit, not for the encode
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-16_384)));
  child.stdin.on('error', () => {}); // EPIPE when ffmpeg stops early: its exit status and stderr say why
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  }).finally(() => (done = true));
  try {
    for (let i = 0; i < o.frameCount && !done; i++) {
      const img = await o.frame(i);
      if (img.width !== o.width || img.height !== o.height) {
        throw new VideoEncodeError(
          'invalid',
          `Frame ${i} is ${img.width}×${img.height}; the video's frames are ${o.width}×${o.height}.`,
        );
      }
      if (done) break;
      if (!child.stdin.write(cropRgba(img, size.width, size.height))) {
        await Promise.race([once(child.stdin, 'drain').catch(() => {}), exited]);
      }
    }
    child.stdin.end();
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await rm(partial, { force: true });
    throw e;
  }
  const exit = await exited;
  if (exit.error || exit.code !== 0) {
    await rm(partial, { force: true });
    const why = exit.error
      ? exit.error.message
      : exit.signal
        ? `killed by ${exit.signal}`
        : lastErrorLine(stderr, partial);
    throw new VideoEncodeError('failed', `ffmpeg could not encode ${o.out}: ${why}`, { cause: exit.error });
  }
  await rename(partial, o.out);
  return {
    path: o.out,
    ...size,
    frames: o.frameCount,
    audio: audioCodec ? (MP4_AUDIO.has(audioCodec) ? 'copied' : 'encoded') : 'none',
    ...(audioNote ? { audioNote } : {}),
  };
}
