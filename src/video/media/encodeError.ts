/**
 * The one error type of video export, for the browser encoder (mediabunny + WebCodecs, encodeVideo.browser.ts), the
 * frames zip (frameZip.ts) and the CLI's ffmpeg encoder (ffmpegEncode.node.ts), so that the worker and the CLI can
 * tell a stopped export from a browser without an encoder by `kind` alone. A failed export returns nothing: no
 * partial file.
 */

export type VideoEncodeErrorKind =
  /** Options out of range: no frames, a bad frame rate, a frame of another size, sides below 2 px. */
  | 'invalid'
  /** Browser: no video codec this browser encodes fits any container we write (MP4: H.264, VP9, AV1; WebM: VP9, VP8). */
  | 'no-codec'
  /** The encoder or the muxer failed (a WebCodecs error, ffmpeg's exit status). */
  | 'failed'
  /** Node: the system ffmpeg is not on PATH. */
  | 'ffmpeg-missing'
  /** The AbortSignal fired. */
  | 'cancelled';

export class VideoEncodeError extends Error {
  constructor(
    readonly kind: VideoEncodeErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VideoEncodeError';
  }
}

export function isVideoEncodeError(e: unknown, kind?: VideoEncodeErrorKind): e is VideoEncodeError {
  return e instanceof VideoEncodeError && (kind === undefined || e.kind === kind);
}

/** The 'cancelled' error of an export of `what` ("the video", "the frames zip"). */
export function encodeCancelled(what: string, signal?: AbortSignal): VideoEncodeError {
  return new VideoEncodeError('cancelled', `Exporting ${what} was cancelled.`, { cause: signal?.reason });
}

/** Throws the 'cancelled' error when the signal has fired; call between frames. */
export function throwIfEncodeCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw encodeCancelled(what, signal);
}
