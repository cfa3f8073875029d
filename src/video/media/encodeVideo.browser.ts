/**
 * Encoding frames into a video file in the browser or its worker, through mediabunny and WebCodecs (MEDIA.md): the
 * edit worker's MP4 export. Frames are asked for one at a time (an async function of the index), wrapped in a
 * `VideoSample` straight from their RGBA bytes (no canvas: a canvas readback on a software GPU costs ~300 ms a frame)
 * and closed as soon as the encoder has taken them, so memory holds one raw frame whatever the clip's length; the
 * encoded file itself is built in memory (`BufferTarget`, the index at the front with `fastStart: 'in-memory'`).
 *
 * Container and codec. MP4 with the first of H.264, VP9, AV1 this browser encodes at the size; where none does,
 * WebM with VP9 or VP8 (VP8 is never written into MP4: that is non-standard). No encoder at all is a
 * VideoEncodeError 'no-codec'.
 *
 * Quality. mediabunny's levels, a bitrate from the codec and the pixel count (not the frame rate). Measured in
 * Debian's Chromium (software codecs) at 'medium': mean absolute error ≈ 1/255 at 512×512 and 768×432 for H.264
 * and VP9 (AV1, VP8 ≈ 1.5), 2/255 at 128×96; below ~100 px the bitrate starves (66×50: 8/255).
 *
 * Size. Odd sides lose their last column or row (evenFrame.ts: a one-pixel crop, as the CLI's ffmpeg export does);
 * the result says the encoded size. Alpha is dropped: the video is opaque.
 *
 * Audio. With `audio`, the source file's primary audio track is copied without re-encoding for the frames' span of
 * source time: every packet that overlaps [start, start + duration), shifted so that `start` is 0 (a packet that
 * begins before `start` keeps a negative timestamp, which the muxer trims with an edit list, so sound stays in sync
 * with the frames). A source without audio, or with a codec the chosen container cannot hold (AAC in WebM), gives a
 * silent video with `audioNote` saying why, never an error: the frames are what the user asked for.
 */
import {
  ALL_FORMATS,
  BlobSource,
  BufferTarget,
  EncodedAudioPacketSource,
  type EncodedPacket,
  EncodedPacketSink,
  getFirstEncodableVideoCodec,
  Input,
  Mp4OutputFormat,
  Output,
  type OutputFormat,
  type Quality,
  QUALITY_HIGH,
  QUALITY_LOW,
  QUALITY_MEDIUM,
  VideoSample,
  VideoSampleSource,
  type VideoCodec,
  WebMOutputFormat,
} from 'mediabunny';
import type { RgbaImage } from '../../edit/jobTypes';
import { describeCodec } from './codecNames';
import { encodeCancelled, isVideoEncodeError, throwIfEncodeCancelled, VideoEncodeError } from './encodeError';
import { cropRgba, evenFrameSize } from './evenFrame';
import { describeCause } from './importError';

export { VideoEncodeError, isVideoEncodeError, type VideoEncodeErrorKind } from './encodeError';

export interface EncodeVideoAudio {
  /** The imported file (ClipAudio.source); its primary audio track, if any, is copied. */
  source: Blob;
  /** The span of the encoded frames in the source's timeline, seconds (ClipAudio.startTime, endTime − startTime). */
  startSeconds: number;
  durationSeconds: number;
}

export type EncodeQuality = 'low' | 'medium' | 'high';

export interface EncodeVideoOptions {
  /** Size of every frame (the video is this, cropped to even sides). */
  width: number;
  height: number;
  frameCount: number;
  frameRate: number;
  /** Frame `index` (0-based), asked for in order, once each. Its errors pass through unchanged. */
  frame: (index: number) => Promise<RgbaImage>;
  /** mediabunny's quality level, a bitrate for the codec and size; default 'medium'. */
  quality?: EncodeQuality;
  audio?: EncodeVideoAudio | null;
  /** The video codecs to try, in order (default DEFAULT_VIDEO_CODECS); each goes into the first container that holds it. */
  codecs?: readonly VideoCodec[];
  /** After each frame the encoder has taken: (frames done, frameCount). */
  onProgress?: (done: number, total: number) => void;
  /** Stops the export: the output is cancelled and a VideoEncodeError 'cancelled' thrown. */
  signal?: AbortSignal;
}

export interface EncodedVideo {
  bytes: Uint8Array;
  /** With the codec strings, e.g. 'video/mp4; codecs="avc1.42c00c, mp4a.40.2"'. */
  mimeType: string;
  container: 'mp4' | 'webm';
  /** mediabunny's video codec name ('avc', 'vp9', 'av1', 'vp8'). */
  codec: VideoCodec;
  /** The encoded (even) size. */
  width: number;
  height: number;
  frameRate: number;
  frameCount: number;
  hasAudio: boolean;
  /** mediabunny's name of the copied audio codec, or null. */
  audioCodec: string | null;
  /** Why an audio source gave no audio (no audio track, a codec the container cannot hold). */
  audioNote?: string;
}

/** Browser codecs in the order we prefer them: H.264 plays everywhere; VP9 and AV1 in MP4 play in all browsers. */
export const DEFAULT_VIDEO_CODECS: readonly VideoCodec[] = ['avc', 'vp9', 'av1', 'vp8'];

const QUALITIES: Record<EncodeQuality, Quality> = { low: QUALITY_LOW, medium: QUALITY_MEDIUM, high: QUALITY_HIGH };

interface Container {
  name: EncodedVideo['container'];
  /** In messages. */
  label: string;
  format: () => OutputFormat;
  /** What we write into it (MP4 could hold VP8, but players do not expect it there). HEVC only when asked for. */
  codecs: readonly VideoCodec[];
}

const CONTAINERS: readonly Container[] = [
  {
    name: 'mp4',
    label: 'MP4',
    format: () => new Mp4OutputFormat({ fastStart: 'in-memory' }),
    codecs: ['avc', 'hevc', 'vp9', 'av1'],
  },
  { name: 'webm', label: 'WebM', format: () => new WebMOutputFormat(), codecs: ['vp9', 'vp8'] },
];

const WHAT = 'the video';

/** The first container, in order, with a codec of `codecs` that this browser encodes at the size; null if none. */
async function chooseEncoding(
  codecs: readonly VideoCodec[],
  size: { width: number; height: number },
  quality: Quality,
  frameRate: number,
): Promise<{ container: Container; codec: VideoCodec } | null> {
  for (const container of CONTAINERS) {
    const candidates = codecs.filter((c) => container.codecs.includes(c));
    if (candidates.length === 0) continue;
    const codec = await getFirstEncodableVideoCodec(candidates, { ...size, quality, frameRate });
    if (codec) return { container, codec };
  }
  return null;
}

function validate(o: EncodeVideoOptions): { width: number; height: number } {
  if (!Number.isInteger(o.frameCount) || o.frameCount < 1) {
    throw new VideoEncodeError('invalid', `A video needs at least one frame, got ${o.frameCount}.`);
  }
  if (!(o.frameRate > 0 && o.frameRate <= 1000)) {
    throw new VideoEncodeError('invalid', `The frame rate must be above 0 and at most 1000, got ${o.frameRate}.`);
  }
  const size = evenFrameSize(o.width, o.height);
  if (!Number.isInteger(o.width) || !Number.isInteger(o.height) || size.width < 2 || size.height < 2) {
    throw new VideoEncodeError('invalid', `A ${o.width}×${o.height} frame cannot be encoded (2×2 at least).`);
  }
  return size;
}

/** The source's audio, ready to copy into `output`: its track, the first packet to copy, the output's source. */
interface AudioCopy {
  input: Input;
  sink: EncodedPacketSink;
  first: EncodedPacket;
  source: EncodedAudioPacketSource;
  decoderConfig: AudioDecoderConfig;
  codec: string;
}

type AudioPlan = { copy: AudioCopy } | { note: string };

/**
 * Overlap shorter than this is none: packet times are sums of floats (0.28 + 0.02 > 0.3), and a microsecond is far
 * below one sample at 48 kHz (21 µs).
 */
const TIME_EPSILON = 1e-6;

/** The first packet that overlaps [start, end), or null. Audio packets (AAC, Opus, MP3…) are all key packets. */
async function firstPacketIn(sink: EncodedPacketSink, start: number, end: number): Promise<EncodedPacket | null> {
  // The last packet beginning at or before `start` (or the first one, when the audio begins later).
  let p = (await sink.getPacket(start)) ?? (await sink.getFirstPacket());
  while (p && p.timestamp + p.duration <= start + TIME_EPSILON) p = await sink.getNextPacket(p);
  return p && p.timestamp < end - TIME_EPSILON ? p : null;
}

/**
 * Opens the audio source and adds an audio track to `output` when the container holds its codec and the span has
 * audio; else says why not.
 */
async function planAudio(audio: EncodeVideoAudio, output: Output, container: Container): Promise<AudioPlan> {
  const input = new Input({ source: new BlobSource(audio.source), formats: ALL_FORMATS });
  const skip = (note: string): AudioPlan => {
    input.dispose();
    return { note };
  };
  try {
    const track = await input.getPrimaryAudioTrack();
    if (!track) return skip('the source has no audio track');
    const codec = await track.getCodec();
    if (!codec) return skip(`the source's audio codec (${String(await track.getInternalCodecId())}) is unknown`);
    if (!output.format.getSupportedAudioCodecs().includes(codec)) {
      return skip(`${container.label} cannot hold the source's ${describeCodec(codec)} audio`);
    }
    const decoderConfig = await track.getDecoderConfig();
    if (!decoderConfig) return skip(`the source's ${codec} audio has no decoder configuration`);
    const sink = new EncodedPacketSink(track);
    const first = await firstPacketIn(sink, audio.startSeconds, audio.startSeconds + audio.durationSeconds);
    if (!first) return skip("the source's audio does not reach the frames' span");
    const source = new EncodedAudioPacketSource(codec);
    output.addAudioTrack(source);
    return { copy: { input, sink, first, source, decoderConfig, codec } };
  } catch (e) {
    // An unreadable audio track does not stop an export, as it does not stop an import.
    return skip(`the source's audio cannot be read (${describeCause(e)})`);
  }
}

/** Copies the packets that overlap [start, start + duration), shifted by −start, in decode order. */
async function copyAudio(copy: AudioCopy, audio: EncodeVideoAudio, signal?: AbortSignal): Promise<void> {
  const start = audio.startSeconds;
  const end = start + audio.durationSeconds;
  let meta: EncodedAudioChunkMetadata | undefined = { decoderConfig: copy.decoderConfig };
  for await (const packet of copy.sink.packets(copy.first)) {
    throwIfEncodeCancelled(signal, WHAT);
    if (packet.timestamp >= end - TIME_EPSILON) break;
    await copy.source.add(packet.clone({ timestamp: packet.timestamp - start }), meta);
    meta = undefined; // the decoder config goes with the first packet only
  }
  copy.source.close();
}

/** Rejects with the 'cancelled' error as soon as the signal fires, so no await outlives a stop. */
function untilAborted(signal: AbortSignal | undefined): { promise: Promise<never>; dispose: () => void } {
  if (!signal) return { promise: new Promise<never>(() => {}), dispose: () => {} };
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(encodeCancelled(WHAT, signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {}); // observed through the races below; never an unhandled rejection
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** Frame callback errors are the caller's and pass through; they are marked so the catch below can tell. */
class FrameCallbackError extends Error {
  constructor(readonly original: unknown) {
    super('frame callback failed');
  }
}

/**
 * Encodes the frames into a video file (MP4, else WebM), with the source's audio copied when given. Throws
 * VideoEncodeError ('invalid', 'no-codec', 'failed', 'cancelled'), or the frame callback's own error.
 */
export async function encodeVideo(o: EncodeVideoOptions): Promise<EncodedVideo> {
  const size = validate(o);
  throwIfEncodeCancelled(o.signal, WHAT);
  const quality = QUALITIES[o.quality ?? 'medium'];
  const chosen = await chooseEncoding(o.codecs ?? DEFAULT_VIDEO_CODECS, size, quality, o.frameRate);
  if (!chosen) {
    const tried = (o.codecs ?? DEFAULT_VIDEO_CODECS).map((c) => describeCodec(c)).join(', ');
    throw new VideoEncodeError(
      'no-codec',
      `This browser cannot encode video (tried ${tried} at ${size.width}×${size.height}), so the edit cannot be ` +
        'saved as a video here. Download the frames as a zip instead, or use a recent Chrome, Edge or Safari.',
    );
  }
  throwIfEncodeCancelled(o.signal, WHAT);

  const output = new Output({ format: chosen.container.format(), target: new BufferTarget() });
  const videoSource = new VideoSampleSource({ codec: chosen.codec, quality, sizeChangeBehavior: 'deny' });
  output.addVideoTrack(videoSource, { frameRate: o.frameRate });
  const aborted = untilAborted(o.signal);
  const race = <T>(p: Promise<T>) => Promise.race([p, aborted.promise]);
  let audio: AudioPlan | null = null;
  let framesDone = 0;
  try {
    // Not raced: it only reads the source's header, and an abandoned plan would leave its input open.
    audio = o.audio ? await planAudio(o.audio, output, chosen.container) : null;
    await race(output.start());
    for (let i = 0; i < o.frameCount; i++) {
      throwIfEncodeCancelled(o.signal, WHAT);
      const img = await race(
        o.frame(i).catch((e: unknown) => {
          throw new FrameCallbackError(e);
        }),
      );
      if (img.width !== o.width || img.height !== o.height) {
        throw new VideoEncodeError(
          'invalid',
          `Frame ${i} is ${img.width}×${img.height}; the video's frames are ${o.width}×${o.height}.`,
        );
      }
      const sample = new VideoSample(cropRgba(img, size.width, size.height), {
        format: 'RGBA',
        codedWidth: size.width,
        codedHeight: size.height,
        timestamp: i / o.frameRate,
        duration: 1 / o.frameRate,
      });
      try {
        // Not raced: the sample must outlive the encoder's use of it. `add` returns once the encoder has room.
        await videoSource.add(sample);
      } finally {
        sample.close();
      }
      framesDone = i + 1;
      o.onProgress?.(framesDone, o.frameCount);
    }
    videoSource.close();
    if (audio && 'copy' in audio) await race(copyAudio(audio.copy, o.audio!, o.signal));
    await race(output.finalize());
    const buffer = output.target.buffer;
    if (!buffer) throw new Error('the output holds no bytes after finalizing');
    const copied = audio && 'copy' in audio ? audio.copy.codec : null;
    return {
      bytes: new Uint8Array(buffer),
      mimeType: await output.getMimeType(),
      container: chosen.container.name,
      codec: chosen.codec,
      ...size,
      frameRate: o.frameRate,
      frameCount: o.frameCount,
      hasAudio: copied !== null,
      audioCodec: copied,
      ...(audio && 'note' in audio ? { audioNote: audio.note } : {}),
    };
  } catch (e) {
    if (output.state !== 'finalized' && output.state !== 'canceled') await output.cancel().catch(() => {});
    // A stop wins over whatever error it caused (a renderer that checks the same signal, a cancelled encoder).
    if (o.signal?.aborted) throw isVideoEncodeError(e, 'cancelled') ? e : encodeCancelled(WHAT, o.signal);
    if (e instanceof FrameCallbackError) throw e.original;
    if (isVideoEncodeError(e)) throw e;
    throw new VideoEncodeError(
      'failed',
      `The ${describeCodec(chosen.codec)} encoder failed after ${framesDone} of ${o.frameCount} frames ` +
        `(${describeCause(e)}).`,
      { cause: e },
    );
  } finally {
    aborted.dispose();
    if (audio && 'copy' in audio) audio.copy.input.dispose();
  }
}
