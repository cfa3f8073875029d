/**
 * What the `video-encode` check (videoEncode.ts) asks its worker (videoEncodeWorker.ts) to encode, and what comes
 * back: the messages both sides type, and the synthetic clip both sides draw (the worker to encode it, the page to
 * compare the decoded video with it), so no frame crosses the worker boundary.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { EncodedVideo, EncodeQuality, EncodeVideoAudio } from '../../video/media/encodeVideo.browser';
import type { VideoCodec } from 'mediabunny';

export interface EncodeCase {
  width: number;
  height: number;
  frameCount: number;
  frameRate: number;
  quality?: EncodeQuality;
  codecs?: VideoCodec[];
  audio?: EncodeVideoAudio | null;
  /** Abort from inside the callback that renders this frame (the frames before it are encoded). */
  abortAtFrame?: number;
  /** The frame callback throws `new Error(FRAME_FAILURE + index)` for this frame (the error must pass through). */
  failAtFrame?: number;
}

export const FRAME_FAILURE = 'the synthetic renderer failed at frame ';

export type EncodeReply =
  | { ok: true; video: EncodedVideo; ms: number; progressCalls: number; lastProgress: [number, number] | null }
  | { ok: false; error: { name: string; kind?: string; message: string }; ms: number; progressCalls: number };

/**
 * Frame `index` of the synthetic clip: a red-green gradient under a blue wave that drifts, and a light square that
 * moves 4 px a frame, so that a frame out of place, a shifted or a mirrored frame is far off while the codec's own
 * error stays small. Opaque.
 */
export function syntheticFrame(index: number, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  const side = Math.max(2, Math.floor(Math.min(width, height) / 3));
  const travel = Math.max(1, width - side);
  const sx = (index * 4) % travel;
  const sy = Math.floor((height - side) / 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = 4 * (y * width + x);
      const inSquare = x >= sx && x < sx + side && y >= sy && y < sy + side;
      data[p] = inSquare ? 235 : (255 * x) / Math.max(1, width - 1);
      data[p + 1] = inSquare ? 225 : (255 * y) / Math.max(1, height - 1);
      data[p + 2] = inSquare ? 60 : 128 + 96 * Math.sin(2 * Math.PI * (x / width + index / 12));
      data[p + 3] = 255;
    }
  }
  return { width, height, data };
}
