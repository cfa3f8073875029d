/**
 * The one error type of clip import (browser decoder, frame folders and zips, the Node ffmpeg path), so that the
 * worker and the CLI can tell a bad file from a bad trim or a missing tool by `kind` alone. An import that fails
 * returns nothing: no partial clip.
 */

export type VideoImportErrorKind =
  /** Not a video (MP4, MOV, WebM), a zip of frames or a folder of PNG/JPEG frames. */
  | 'unsupported-file'
  /** A media file without a video track (e.g. audio only). */
  | 'no-video-track'
  /** A video codec this browser (or this ffmpeg) cannot decode; `codec` names it. */
  | 'codec-unsupported'
  /** A corrupt or truncated file: the container, a frame or an image cannot be read. */
  | 'corrupt'
  /** No frames at all (an empty folder or zip, a video track without frames). */
  | 'no-frames'
  /** The trim keeps more frames than `maxFrames`; `sourceFrameCount` and `suggestedTrims` let the UI preselect one. */
  | 'too-many-frames'
  /** The trim starts after the last frame, or asks for more frames than remain. */
  | 'trim-out-of-range'
  /** Mask frames that do not match the frames: missing or extra names, another count or another size. */
  | 'mask-mismatch'
  /** Frames of different sizes in one clip. */
  | 'mixed-sizes'
  /** A folder or zip whose frames cannot be told apart: frames in several folders, two files for one frame. */
  | 'frame-layout'
  /** Import options out of range (a stride of 0, a negative start…). */
  | 'invalid-options'
  /** Node: the system ffmpeg / ffprobe is not on PATH. */
  | 'ffmpeg-missing'
  /** The AbortSignal fired. */
  | 'cancelled';

/** A trim the UI can offer when a clip is too long: keep `frameCount` frames from `start`, every `stride`-th. */
export interface SuggestedTrim {
  start: number;
  frameCount: number;
  stride: number;
}

export interface VideoImportErrorDetails {
  cause?: unknown;
  /** The source's frame count, where known (always set for 'too-many-frames' and 'trim-out-of-range'). */
  sourceFrameCount?: number;
  /** The most frames a clip may keep (set for 'too-many-frames'). */
  maxFrames?: number;
  /** Trims that fit (set for 'too-many-frames'), the first one being the reference's choice: the first frames. */
  suggestedTrims?: SuggestedTrim[];
  /** The codec that cannot be decoded, in words with its codec string, e.g. "HEVC (hvc1.1.6.L93.B0)". */
  codec?: string;
}

export class VideoImportError extends Error {
  readonly kind: VideoImportErrorKind;
  /** The file, folder or zip the error is about (as shown to the user). */
  readonly source: string;
  readonly sourceFrameCount?: number;
  readonly maxFrames?: number;
  readonly suggestedTrims?: SuggestedTrim[];
  readonly codec?: string;

  constructor(kind: VideoImportErrorKind, source: string, message: string, details: VideoImportErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VideoImportError';
    this.kind = kind;
    this.source = source;
    if (details.sourceFrameCount !== undefined) this.sourceFrameCount = details.sourceFrameCount;
    if (details.maxFrames !== undefined) this.maxFrames = details.maxFrames;
    if (details.suggestedTrims !== undefined) this.suggestedTrims = details.suggestedTrims;
    if (details.codec !== undefined) this.codec = details.codec;
  }
}

export function isVideoImportError(e: unknown, kind?: VideoImportErrorKind): e is VideoImportError {
  return e instanceof VideoImportError && (kind === undefined || e.kind === kind);
}

/** A short description of any thrown value, for the "(…)" part of a message. */
export function describeCause(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Throws the 'cancelled' error when the signal has fired; call between frames. */
export function throwIfCancelled(signal: AbortSignal | undefined, source: string): void {
  if (signal?.aborted) {
    throw new VideoImportError('cancelled', source, `Importing ${source} was cancelled.`, { cause: signal.reason });
  }
}

/**
 * Rethrows a VideoImportError as it is, turns an abort into 'cancelled', and anything else into `fallback`'s error
 * (a decoder's or a library's own error is wrapped, never passed through bare).
 */
export function asImportError(
  e: unknown,
  source: string,
  signal: AbortSignal | undefined,
  fallback: (e: unknown) => VideoImportError,
): VideoImportError {
  if (e instanceof VideoImportError) return e;
  if (signal?.aborted || (e instanceof Error && e.name === 'AbortError')) {
    return new VideoImportError('cancelled', source, `Importing ${source} was cancelled.`, { cause: e });
  }
  return fallback(e);
}
