/**
 * A video file (Blob) as a FrameSequence, through mediabunny and WebCodecs (MEDIA.md): `Input` + `BlobSource` →
 * the primary video track → `canDecode()` → `VideoSampleSink.samplesAtTimestamps` for the kept frames only, each
 * copied out with `copyTo(…, { format: 'RGBA' })` and closed at once. Pixels never pass through a canvas (a canvas
 * readback on a software GPU costs ~300 ms a frame).
 *
 * Everything up to `canDecode()` works in Node (mediabunny reads containers there); decoding needs WebCodecs,
 * i.e. a browser or its worker.
 */
import {
  ALL_FORMATS,
  BlobSource,
  EncodedPacketSink,
  Input,
  type InputAudioTrack,
  type InputVideoTrack,
  UnsupportedInputFormatError,
  VideoSampleSink,
} from 'mediabunny';
import type { RgbaImage } from '../../edit/jobTypes';
import { describeCodec } from './codecNames';
import { containerProblem } from './containerIntegrity';
import type { FrameSequence } from './frameSequence';
import { asImportError, describeCause, throwIfCancelled, VideoImportError } from './importError';
import { orientImage } from './orientImage';
import { isAudioContainer, isStillImage, isVideoContainer, sniffContainer, SNIFF_BYTES } from './sniffContainer';
import type { Size } from './workingSize';

/** What a video file holds, known before any frame is decoded (for a trim dialog). */
export interface VideoProbe {
  /** The codec in words, e.g. "H.264 (avc1.640016)". */
  codec: string;
  /** Display size: square pixels, after rotation. */
  width: number;
  height: number;
  frameCount: number;
  frameRate: number;
  /** Seconds from the first frame to the end of the last. */
  duration: number;
  /** mediabunny's name of the primary audio track's codec, or null without audio. */
  audioCodec: string | null;
}

export interface BlobVideo extends FrameSequence {
  readonly probe: VideoProbe;
  /** The span of source time the frames at `indices` cover: first start … last end, in seconds. */
  timeSpan(indices: readonly number[]): { startTime: number; endTime: number };
}

/** One presented frame of the track: its timestamp (what the sink is asked for) and duration, in seconds. */
interface FrameTime {
  timestamp: number;
  duration: number;
}

const readBlobRange = (blob: Blob) => async (offset: number, length: number) =>
  new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());

/** The presented frames in presentation order (packets come in decode order; edit-list lead-ins end at ≤ 0). */
async function frameTimes(track: InputVideoTrack): Promise<FrameTime[]> {
  const times: FrameTime[] = [];
  for await (const p of new EncodedPacketSink(track).packets(undefined, undefined, { metadataOnly: true })) {
    if (p.timestamp + p.duration > 0) times.push({ timestamp: p.timestamp, duration: p.duration });
  }
  return times.sort((a, b) => a.timestamp - b.timestamp);
}

function frameRateOf(measured: number, times: readonly FrameTime[]): number {
  if (Number.isFinite(measured) && measured > 0) return measured;
  const last = times[times.length - 1];
  const span = last ? last.timestamp + last.duration - times[0].timestamp : 0;
  return span > 0 ? times.length / span : 30;
}

async function audioCodecOf(input: Input): Promise<string | null> {
  let audio: InputAudioTrack | null;
  try {
    audio = await input.getPrimaryAudioTrack();
  } catch {
    return null; // An unreadable audio track does not stop a video import.
  }
  return audio ? ((await audio.getCodec()) ?? 'unknown') : null;
}

/**
 * Opens a video file and probes it: container, video track, decodability, frame times, frame rate, size. Throws
 * VideoImportError ('unsupported-file', 'corrupt', 'no-video-track', 'codec-unsupported'); the caller closes the
 * returned sequence.
 */
export async function openVideoBlob(blob: Blob, label: string, signal?: AbortSignal): Promise<BlobVideo> {
  const corrupt = (why: string, cause?: unknown) =>
    new VideoImportError('corrupt', label, `${label} cannot be read: ${why}.`, { cause });
  throwIfCancelled(signal, label);
  if (blob.size === 0) throw new VideoImportError('unsupported-file', label, `${label} is empty.`);
  const kind = sniffContainer(await readBlobRange(blob)(0, SNIFF_BYTES));
  if (kind === 'zip' || isStillImage(kind)) {
    throw new VideoImportError(
      'unsupported-file',
      label,
      `${label} is ${kind === 'zip' ? 'a zip' : 'an image'}, not a video.`,
    );
  }
  const problem = await containerProblem(kind, blob.size, readBlobRange(blob));
  if (problem) throw corrupt(problem);

  const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  try {
    if (!(await input.canRead())) {
      if (kind === 'avi') {
        throw new VideoImportError(
          'unsupported-file',
          label,
          `${label} is an AVI file, which the browser cannot read; convert it to MP4 or WebM (or import its frames).`,
        );
      }
      if (isVideoContainer(kind)) throw corrupt('its container is damaged');
      throw new VideoImportError(
        'unsupported-file',
        label,
        `${label} is not a video mediabunny can read; use MP4, MOV or WebM (or a zip or folder of PNG/JPEG frames).`,
      );
    }
    const track = await input.getPrimaryVideoTrack();
    if (!track) {
      const audio = (await input.getAudioTracks()).length;
      const holds = audio > 0 || isAudioContainer(kind) ? ' (it holds only audio)' : '';
      throw new VideoImportError('no-video-track', label, `${label} has no video track${holds}.`);
    }
    const codecName = await track.getCodec();
    const codecString = await track.getCodecParameterString();
    const internal = await track.getInternalCodecId();
    const codec = describeCodec(codecName ?? (typeof internal === 'string' ? internal : null), codecString);
    if (!(await track.canDecode())) {
      throw new VideoImportError(
        'codec-unsupported',
        label,
        `${codec} cannot be decoded by this browser. Convert ${label} to H.264, VP9 or AV1 ` +
          '(e.g. ffmpeg -i input -c:v libx264 -pix_fmt yuv420p output.mp4), or import its frames as a zip.',
        { codec },
      );
    }
    const times = await frameTimes(track);
    if (times.length === 0) {
      throw new VideoImportError('no-frames', label, `The video track of ${label} has no frames.`, {
        sourceFrameCount: 0,
      });
    }
    const frameRate = frameRateOf((await track.computeFrameRateMetrics()).bestGuessFrameRate, times);
    const displaySize: Size = { width: await track.getDisplayWidth(), height: await track.getDisplayHeight() };
    const last = times[times.length - 1];
    const probe: VideoProbe = {
      codec,
      ...displaySize,
      frameCount: times.length,
      frameRate,
      duration: last.timestamp + last.duration - times[0].timestamp,
      audioCodec: await audioCodecOf(input),
    };
    return blobVideo(input, track, times, probe, label);
  } catch (e) {
    input.dispose();
    throw asImportError(e, label, signal, (cause) =>
      cause instanceof UnsupportedInputFormatError
        ? new VideoImportError('unsupported-file', label, `${label} is not a video mediabunny can read.`, { cause })
        : corrupt(describeCause(cause), cause),
    );
  }
}

function blobVideo(
  input: Input,
  track: InputVideoTrack,
  times: FrameTime[],
  probe: VideoProbe,
  label: string,
): BlobVideo {
  return {
    label,
    probe,
    frameCount: times.length,
    frameNames: null,
    displaySize: { width: probe.width, height: probe.height },
    frameRate: probe.frameRate,
    frameLabel: (index) => `frame ${index}`,
    timeSpan(indices) {
      const first = times[indices[0]];
      const lastTime = times[indices[indices.length - 1]];
      return { startTime: first.timestamp, endTime: lastTime.timestamp + lastTime.duration };
    },
    async read(indices, onFrame, signal) {
      if (indices.length === 0) return;
      const sink = new VideoSampleSink(track);
      let position = 0;
      try {
        // Sorted timestamps: mediabunny decodes each packet at most once and stops after the last one asked for.
        for await (const sample of sink.samplesAtTimestamps(indices.map((i) => times[i].timestamp))) {
          if (!sample) throw new Error('the decoder returned no picture');
          let frame: RgbaImage;
          try {
            throwIfCancelled(signal, label);
            const width = sample.codedWidth; // the visible rectangle, which copyTo copies
            const height = sample.codedHeight;
            const data = new Uint8ClampedArray(width * height * 4);
            await sample.copyTo(data, { format: 'RGBA', colorSpace: 'srgb' });
            frame = orientImage({ width, height, data }, sample.rotation, sample.flip);
          } finally {
            sample.close();
          }
          await onFrame(frame, position);
          if (++position === indices.length) break;
        }
      } catch (e) {
        throw asImportError(
          e,
          label,
          signal,
          (cause) =>
            new VideoImportError(
              'corrupt',
              label,
              `${label} could not be decoded at frame ${indices[position]} (${describeCause(cause)}).`,
              { cause },
            ),
        );
      }
    },
    close() {
      if (!input.disposed) input.dispose();
    },
  };
}
