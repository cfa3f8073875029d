/**
 * A video file as a FrameSequence in Node, through the system ffmpeg: ffprobe for the stream's facts, then one
 * ffmpeg run that decodes, keeps only the wanted frames (`select` on the frame number), stops after the last one
 * (`-frames:v`) and writes raw RGBA frames to a pipe. ffmpeg applies the display rotation itself.
 */
import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { containerProblem } from './containerIntegrity';
import { ffmpegMissingError, type FfmpegOptions, requireFfmpeg } from './ffmpegTools.node.js';
import { type FfprobeVideo, lastErrorLine, probeWithFfprobe } from './ffprobe.node.js';
import type { FrameSequence } from './frameSequence';
import { describeCause, throwIfCancelled, VideoImportError } from './importError';
import { sniffContainer, SNIFF_BYTES, type ContainerKind } from './sniffContainer';

export interface FfmpegVideo extends FrameSequence {
  readonly probe: FfprobeVideo;
}

/**
 * ffmpeg's `select` expression for ascending frame indices: a range with a step when they are evenly spaced (every
 * trim), else one term per frame. Commas are escaped for the filter graph.
 */
export function selectExpression(indices: readonly number[]): string {
  const first = indices[0];
  const last = indices[indices.length - 1];
  const step = indices.length > 1 ? indices[1] - indices[0] : 1;
  const even = indices.every((v, i) => v === first + i * step);
  if (even) {
    return step === 1
      ? `between(n\\,${first}\\,${last})`
      : `between(n\\,${first}\\,${last})*not(mod(n-${first}\\,${step}))`;
  }
  return indices.map((i) => `eq(n\\,${i})`).join('+');
}

export function ffmpegDecodeArgs(path: string, streamIndex: number, indices: readonly number[]): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-i',
    path,
    '-map',
    `0:${streamIndex}`,
    '-vf',
    `select=${selectExpression(indices)}`,
    // One output frame per selected input frame: no duplicates or drops to a constant rate.
    '-fps_mode',
    'passthrough',
    '-frames:v',
    String(indices.length),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    'pipe:1',
  ];
}

async function readHead(path: string, size: number): Promise<{ kind: ContainerKind | null; problem: string | null }> {
  const handle = await open(path, 'r');
  try {
    const read = async (offset: number, length: number) => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
    };
    const kind = sniffContainer(await read(0, SNIFF_BYTES));
    return { kind, problem: await containerProblem(kind, size, read) };
  } finally {
    await handle.close();
  }
}

const DECODER_MISSING = /decoder .*not found|unknown decoder|no decoder|decoding for stream .* failed/i;

/** Opens and probes a video file; throws VideoImportError ('ffmpeg-missing' first of all when ffmpeg is not there). */
export async function openVideoWithFfmpeg(
  path: string,
  label: string,
  options: FfmpegOptions = {},
  signal?: AbortSignal,
): Promise<FfmpegVideo> {
  const env = options.env ?? process.env;
  const tools = requireFfmpeg(label, env);
  throwIfCancelled(signal, label);
  const size = (await stat(path)).size;
  if (size === 0) throw new VideoImportError('unsupported-file', label, `${label} is empty.`);
  const { kind, problem } = await readHead(path, size);
  if (problem) throw new VideoImportError('corrupt', label, `${label} cannot be read: ${problem}.`);
  const probe = await probeWithFfprobe(tools.ffprobe, path, label, kind, env);
  return {
    label,
    probe,
    frameCount: probe.frameCount,
    frameNames: null,
    displaySize: probe.display,
    frameRate: probe.frameRate || null,
    frameLabel: (index) => `frame ${index}`,
    read: (indices, onFrame, readSignal) =>
      decodeFrames(tools.ffmpeg, path, label, probe, indices, onFrame, env, readSignal),
    close() {},
  };
}

async function decodeFrames(
  ffmpeg: string,
  path: string,
  label: string,
  probe: FfprobeVideo,
  indices: readonly number[],
  onFrame: Parameters<FrameSequence['read']>[1],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<void> {
  if (indices.length === 0) return;
  throwIfCancelled(signal, label);
  const { width, height } = probe.stored;
  const frameBytes = width * height * 4;
  const child = spawn(ffmpeg, ffmpegDecodeArgs(path, probe.streamIndex, indices), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  const kill = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', kill, { once: true });

  let position = 0;
  try {
    let frame = new Uint8ClampedArray(frameBytes);
    let filled = 0;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          if (position >= indices.length) throw new Error('ffmpeg sent more frames than asked for');
          throwIfCancelled(signal, label);
          await onFrame({ width, height, data: frame }, position++);
          frame = new Uint8ClampedArray(frameBytes);
          filled = 0;
        }
      }
    }
    const { code, error } = await exited;
    throwIfCancelled(signal, label);
    if (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw ffmpegMissingError(label, ['ffmpeg'], error);
      throw error;
    }
    if (code !== 0) {
      const why = lastErrorLine(stderr, path);
      if (DECODER_MISSING.test(stderr)) {
        throw new VideoImportError(
          'codec-unsupported',
          label,
          `${probe.codec} cannot be decoded by this ffmpeg (${why}).`,
          {
            codec: probe.codec,
          },
        );
      }
      throw new VideoImportError(
        'corrupt',
        label,
        `${label} could not be decoded at frame ${indices[position] ?? '?'} (${why}).`,
      );
    }
    if (filled !== 0) throw new Error(`ffmpeg's output ended inside a frame (${filled} of ${frameBytes} bytes)`);
    if (position < indices.length) {
      throw new VideoImportError(
        'corrupt',
        label,
        `${label} ended after ${position} of the ${indices.length} frames to import (the last asked for is frame ` +
          `${indices[indices.length - 1]} of ${probe.frameCount}); the file may be damaged.`,
      );
    }
  } catch (e) {
    if (e instanceof VideoImportError) throw e;
    if (signal?.aborted)
      throw new VideoImportError('cancelled', label, `Importing ${label} was cancelled.`, { cause: e });
    throw new VideoImportError('corrupt', label, `${label} could not be decoded (${describeCause(e)}).`, { cause: e });
  } finally {
    signal?.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) kill();
  }
}
