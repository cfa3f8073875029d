/**
 * Check `video-encode`: encodes a synthetic clip with the app's video export (mediabunny + WebCodecs,
 * src/video/media/encodeVideo.browser.ts) in a dedicated worker, as the edit worker does, then reads the file back
 * in the page with the app's importer (mediabunnyVideo.ts) and measures it: container and codec, frame count, even
 * size, frame rate and per-frame timestamps, the mean absolute error against the frames that went in (and, as a
 * control that the measure can fail, against the next frame), and the copied audio's span.
 *
 * Audio: `audio=generate` (the default) makes a 2 s tone file in the page with the first audio codec this browser
 * encodes (AAC, else Opus), because no shared test clip has sound; `audio=URL` copies from that file (an AAC MP4 from
 * ffmpeg in the e2e test, or a file without audio); `audio=none` encodes without. The span copied starts at
 * `audioStart` seconds and lasts as long as the frames.
 *
 * Options: `width` (128), `height` (96), `frames` (12), `fps` (10), `quality`, `codecs` (comma-separated mediabunny
 * names, tried in order), `audio`, `audioStart` (0.3), `abortAt` (stop while rendering that frame), `failAt` (the frame callback
 * throws there), `maxMeanError`
 * (7, in 0–255 levels), `expectError` (a VideoEncodeError kind: the check then passes when the encode fails with it).
 */
import {
  AudioSample,
  AudioSampleSource,
  BufferSource,
  BufferTarget,
  EncodedPacketSink,
  getFirstEncodableAudioCodec,
  Input,
  ALL_FORMATS,
  BlobSource,
  Mp4OutputFormat,
  Output,
  QUALITY_MEDIUM,
  type VideoCodec,
} from 'mediabunny';
import type { RgbaImage } from '../../edit/jobTypes';
import type { EncodedVideo, EncodeQuality } from '../../video/media/encodeVideo.browser';
import { cropRgba, evenFrameSize } from '../../video/media/evenFrame';
import { openVideoBlob } from '../../video/media/mediabunnyVideo';
import type { CheckOptions, CheckOutcome, EngineCheck } from './types';
import { type EncodeCase, type EncodeReply, syntheticFrame } from './videoEncodeCase';
import { fetchInput } from './videoImportReport';

/** Keys of the notes the check reports (the e2e test reads them). */
export const ENCODE_NOTE_KEYS = {
  container: 'container',
  codec: 'codec',
  mimeType: 'MIME type',
  width: 'width',
  height: 'height',
  frames: 'decoded frames',
  frameRate: 'frame rate (frames / duration)',
  meanError: 'mean abs error (0–255)',
  controlError: 'mean abs error vs the next frame (0–255)',
  bytes: 'bytes',
  encodeMs: 'encode ms',
  decodeMs: 'decode ms',
  progressCalls: 'progress reports',
  hasAudio: 'has audio',
  audioCodec: 'audio codec',
  audioNote: 'audio note',
  audioSource: 'audio source',
  audioSpan: 'audio span s',
  audioExpected: 'audio expected s',
  audioPacket: 'audio packet s',
  audioFirst: 'audio first timestamp s',
  audioPackets: 'audio packets',
  errorKind: 'error kind',
  errorMessage: 'error message',
} as const;
const K = ENCODE_NOTE_KEYS;

declare global {
  interface Window {
    /** The last file the check encoded, for the e2e test to hand to ffprobe. */
    __videoEncodeOutput?: Uint8Array;
  }
}

const TONE_SECONDS = 2;
const TONE_RATE = 48_000;

/** A 2 s mono 440 Hz tone as an audio-only MP4, encoded here (AAC, else Opus): an audio source for the export. */
async function toneFile(): Promise<File> {
  const codec = await getFirstEncodableAudioCodec(['aac', 'opus'], { numberOfChannels: 1, sampleRate: TONE_RATE });
  if (!codec) throw new Error('this browser encodes neither AAC nor Opus, so no test audio can be made');
  const output = new Output({ format: new Mp4OutputFormat({ fastStart: 'in-memory' }), target: new BufferTarget() });
  const source = new AudioSampleSource({ codec, quality: QUALITY_MEDIUM });
  output.addAudioTrack(source);
  await output.start();
  const data = new Float32Array(TONE_SECONDS * TONE_RATE);
  for (let i = 0; i < data.length; i++) data[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / TONE_RATE);
  const sample = new AudioSample({
    data,
    format: 'f32-planar',
    numberOfChannels: 1,
    sampleRate: TONE_RATE,
    timestamp: 0,
  });
  try {
    await source.add(sample);
  } finally {
    sample.close();
  }
  await output.finalize();
  return new File([output.target.buffer!], `tone-${codec}.m4a`);
}

/** Encodes the case in a fresh worker (the way the edit worker runs the encoder) and ends the worker. */
function encodeInWorker(c: EncodeCase): Promise<EncodeReply> {
  const worker = new Worker(new URL('./videoEncodeWorker.ts', import.meta.url), {
    type: 'module',
    name: 'video-encode-check',
  });
  return new Promise<EncodeReply>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<EncodeReply>) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`the encode worker failed: ${e.message || 'could not start'}`));
    worker.postMessage(c);
  }).finally(() => worker.terminate());
}

/** Mean |a − b| over the R, G, B bytes of two frames of one size. */
function meanAbsError(a: RgbaImage, b: Uint8Array): number {
  let sum = 0;
  for (let p = 0; p < a.data.length; p += 4) {
    sum += Math.abs(a.data[p] - b[p]) + Math.abs(a.data[p + 1] - b[p + 1]) + Math.abs(a.data[p + 2] - b[p + 2]);
  }
  return sum / ((a.data.length / 4) * 3);
}

interface AudioReadBack {
  codec: string | null;
  /** The first packet's presentation timestamp (≤ 0 where the muxer trims the part before the frames). */
  first: number;
  /** Presented seconds: the first packet's start (not before 0) to the last one's end. */
  span: number;
  packet: number;
  /** The packets' bytes, in decode order. */
  data: Uint8Array[];
}

/** The primary audio track's packets of `input` that overlap [start, end) (all of them by default). */
async function audioPackets(input: Input, start = -Infinity, end = Infinity): Promise<AudioReadBack | null> {
  const track = await input.getPrimaryAudioTrack();
  if (!track) return null;
  const out: AudioReadBack = { codec: await track.getCodec(), first: Infinity, span: 0, packet: 0, data: [] };
  let last = -Infinity;
  for await (const p of new EncodedPacketSink(track).packets()) {
    // As the encoder counts overlap: more than a microsecond (0.28 + 0.02 is above 0.3 in floating point).
    if (p.timestamp + p.duration <= start + 1e-6 || p.timestamp >= end - 1e-6) continue;
    out.first = Math.min(out.first, p.timestamp);
    last = Math.max(last, p.timestamp + p.duration);
    out.packet = Math.max(out.packet, p.duration);
    out.data.push(p.data);
  }
  out.span = out.data.length ? last - Math.max(0, out.first) : 0;
  return out;
}

async function withInput<T>(source: Blob | Uint8Array, read: (input: Input) => Promise<T>): Promise<T> {
  const input = new Input({
    source: source instanceof Blob ? new BlobSource(source) : new BufferSource(source),
    formats: ALL_FORMATS,
  });
  try {
    return await read(input);
  } finally {
    input.dispose();
  }
}

/** Packets of `a` whose bytes differ from `b`'s at the same place, plus the difference in count. */
function packetsDiffering(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i].length !== b[i].length || a[i].some((v, k) => v !== b[i][k])) n++;
  }
  return n;
}

const num = (options: CheckOptions, key: string, fallback: number) =>
  options[key] === undefined || options[key] === '' ? fallback : Number(options[key]);

async function audioSource(options: CheckOptions): Promise<File | null> {
  const audio = options.audio ?? 'generate';
  if (audio === 'none') return null;
  if (audio === 'generate') return toneFile();
  return fetchInput(new URL(audio, location.href).href, 'audio source');
}

async function run(options: CheckOptions): Promise<CheckOutcome> {
  const width = num(options, 'width', 128);
  const height = num(options, 'height', 96);
  const frameCount = num(options, 'frames', 12);
  const frameRate = num(options, 'fps', 10);
  const duration = frameCount / frameRate;
  const source = await audioSource(options);
  const c: EncodeCase = {
    width,
    height,
    frameCount,
    frameRate,
    quality: options.quality as EncodeQuality | undefined,
    codecs: options.codecs ? (options.codecs.split(',') as VideoCodec[]) : undefined,
    audio: source ? { source, startSeconds: num(options, 'audioStart', 0.3), durationSeconds: duration } : null,
    abortAtFrame: options.abortAt === undefined ? undefined : Number(options.abortAt),
    failAtFrame: options.failAt === undefined ? undefined : Number(options.failAt),
  };
  const reply = await encodeInWorker(c);
  const common = { [K.progressCalls]: reply.progressCalls, [K.encodeMs]: Math.round(reply.ms) };

  if (options.expectError) {
    const kind = reply.ok ? 'none' : (reply.error.kind ?? reply.error.name);
    const pass = kind === options.expectError;
    return {
      maxError: pass ? 0 : 1,
      tolerance: 0,
      errors: { [`failed with ${options.expectError}`]: pass ? 0 : 1 },
      failures: reply.ok ? [`the encode succeeded, but a '${options.expectError}' error was expected`] : [],
      notes: { ...common, ...(reply.ok ? {} : { [K.errorKind]: kind, [K.errorMessage]: reply.error.message }) },
      summary: `Failed as expected? ${pass ? 'yes' : 'no'}: ${reply.ok ? 'it succeeded' : `${kind}: ${reply.error.message}`}`,
    };
  }
  if (!reply.ok) throw new Error(`${reply.error.name} (${reply.error.kind ?? '-'}): ${reply.error.message}`);
  const video: EncodedVideo = reply.video;
  window.__videoEncodeOutput = video.bytes;

  // Read the file back with the app's own importer, frame by frame.
  const t0 = performance.now();
  const clip = await openVideoBlob(
    new File([video.bytes as Uint8Array<ArrayBuffer>], `export.${video.container}`),
    'the export',
  );
  const even = evenFrameSize(width, height);
  const errors: number[] = [];
  const control: number[] = [];
  let worstTimestamp = 0;
  try {
    const indices = [...Array(clip.frameCount).keys()];
    await clip.read(indices, (frame, i) => {
      errors.push(meanAbsError(frame, cropRgba(syntheticFrame(i, width, height), even.width, even.height)));
      if (i + 1 < frameCount) {
        control.push(meanAbsError(frame, cropRgba(syntheticFrame(i + 1, width, height), even.width, even.height)));
      }
      worstTimestamp = Math.max(worstTimestamp, Math.abs(clip.timeSpan([i]).startTime - i / frameRate));
    });
  } finally {
    clip.close();
  }
  const decodeMs = performance.now() - t0;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const meanError = mean(errors);
  const controlError = mean(control);
  const measuredRate = clip.probe.frameCount / clip.probe.duration;
  const audio = await withInput(video.bytes, (input) => audioPackets(input));
  // Passed through, not re-encoded: the same packets as the source's over the span, byte for byte.
  const copiedFrom =
    audio && c.audio
      ? await withInput(c.audio.source, (input) =>
          audioPackets(input, c.audio!.startSeconds, c.audio!.startSeconds + duration),
        )
      : null;

  const failures: string[] = [];
  if (clip.probe.width !== video.width || clip.probe.height !== video.height) {
    failures.push(
      `the file is ${clip.probe.width}×${clip.probe.height}, the encoder says ${video.width}×${video.height}`,
    );
  }
  if (video.hasAudio !== (audio !== null)) failures.push(`hasAudio is ${video.hasAudio}, the file says otherwise`);
  if ((options.audio ?? 'generate') === 'generate' && !video.hasAudio) {
    failures.push(`the generated audio was not copied (${video.audioNote ?? 'no reason given'})`);
  }
  if (reply.progressCalls !== frameCount || reply.lastProgress?.join() !== `${frameCount},${frameCount}`) {
    failures.push(`${reply.progressCalls} progress reports for ${frameCount} frames, the last ${reply.lastProgress}`);
  }
  if (!(controlError > 2 * meanError)) {
    failures.push(`the next frame is as close (${controlError.toFixed(2)}) as the frame itself: the measure is blind`);
  }
  const errorsOut: Record<string, number> = {
    [K.meanError]: meanError,
    'frames missing or extra': Math.abs(clip.probe.frameCount - frameCount),
    'odd sides': (clip.probe.width % 2) + (clip.probe.height % 2),
    'frame rate relative error': Math.abs(measuredRate - frameRate) / frameRate,
    'worst frame timestamp error s': worstTimestamp,
  };
  const tolerances: Record<string, number> = {
    [K.meanError]: num(options, 'maxMeanError', 7),
    'frames missing or extra': 0,
    'odd sides': 0,
    'frame rate relative error': 0.01,
    'worst frame timestamp error s': 1e-3,
  };
  if (audio) {
    errorsOut['audio span off, in packets'] = Math.abs(audio.span - duration) / audio.packet;
    // ±1 packet: the span is cut at packet bounds, and WebM stores no duration for its last block (read back as 0).
    tolerances['audio span off, in packets'] = 1.001;
    // The packet that holds the frames' start begins at or before 0 (the muxer trims the part before it).
    errorsOut['audio start off, in packets'] = Math.max(0, audio.first, -audio.first - audio.packet) / audio.packet;
    tolerances['audio start off, in packets'] = 0.01;
    errorsOut['audio packets unlike the source'] = copiedFrom
      ? packetsDiffering(audio.data, copiedFrom.data)
      : Infinity;
    tolerances['audio packets unlike the source'] = 0;
  }
  const notes: Record<string, string | number> = {
    ...common,
    [K.container]: video.container,
    [K.codec]: video.codec,
    [K.mimeType]: video.mimeType,
    [K.width]: clip.probe.width,
    [K.height]: clip.probe.height,
    [K.frames]: clip.probe.frameCount,
    [K.frameRate]: measuredRate,
    [K.meanError]: meanError,
    [K.controlError]: controlError,
    [K.bytes]: video.bytes.length,
    [K.decodeMs]: Math.round(decodeMs),
    [K.hasAudio]: String(video.hasAudio),
    [K.audioCodec]: audio?.codec ?? 'none',
    [K.audioNote]: video.audioNote ?? '',
    [K.audioSource]: source?.name ?? 'none',
    [K.audioSpan]: audio?.span ?? 0,
    [K.audioExpected]: duration,
    [K.audioPacket]: audio?.packet ?? 0,
    [K.audioFirst]: audio?.first ?? 0,
    [K.audioPackets]: audio?.data.length ?? 0,
  };
  return {
    maxError: meanError,
    tolerance: tolerances[K.meanError],
    errors: errorsOut,
    tolerances,
    failures,
    notes,
    summary:
      `Encoded ${frameCount} frames of ${width}×${height} as ${video.codec} in ${video.container} ` +
      `(${clip.probe.width}×${clip.probe.height}, ${video.bytes.length} bytes` +
      `${audio ? `, ${audio.codec} audio ${audio.span.toFixed(4)} s of ${duration} s in ${audio.data.length} packets` : ''}) ` +
      `in ${(reply.ms / 1000).toFixed(2)} s; read back ${clip.probe.frameCount} frames at ${measuredRate.toFixed(3)} fps, ` +
      `mean abs error ${meanError.toFixed(2)}/255 (next frame ${controlError.toFixed(2)}).`,
  };
}

export const videoEncode: EngineCheck = {
  title: 'Video export (mediabunny + WebCodecs, in a worker)',
  description:
    'Encodes a synthetic clip with the app’s MP4 export in a worker (with a generated tone passed through as audio), ' +
    'reads it back with the app’s importer and checks frames, size, frame rate, pixel error and audio span.',
  run: (_engine, options) => run(options),
};
