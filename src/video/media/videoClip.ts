/**
 * The frames model of an imported clip: what the decoders produce and what flow, atlas fitting and the video job
 * consume. Plain data only (RgbaImage, typed arrays, a Blob), so it crosses postMessage.
 */
import type { RgbaImage } from '../../edit/jobTypes';

export interface VideoClip {
  /** Working size (long side ≤ 768 by default, both even, aspect kept). Every frame and mask has this size. */
  width: number;
  height: number;
  /**
   * The rate at which the kept frames play in real time: the source's rate divided by the stride (so a clip kept
   * at stride 2 lasts as long as its source). For a frame folder or zip, the `frameRate` option (default 24).
   */
  frameRate: number;
  /** The source's own frame rate (equal to `frameRate` at stride 1). */
  sourceFrameRate: number;
  /** How many frames the source has (before the trim). */
  sourceFrameCount: number;
  /** The kept frames, 8-bit RGBA at the working size (alpha 255 for video). */
  frames: RgbaImage[];
  /** The source index (0-based, presentation order) of each kept frame. */
  frameIndices: number[];
  /** One byte per pixel at the working size, 255 = object, 0 = background; one per kept frame. */
  masks: Uint8Array[] | null;
  /** The file or folder name the clip came from (for messages and export names). */
  sourceName: string;
  /** The source's audio, to be passed through into an exported video (browser imports of a video file only). */
  audio?: ClipAudio;
}

/**
 * Where the clip's audio is, so that an export can copy its packets without re-encoding (mediabunny: open `source`
 * again, `EncodedPacketSink` on its primary audio track from `startTime` to `endTime`, into an
 * `EncodedAudioPacketSource` of the output). Only the reference is kept here; nothing is decoded at import.
 */
export interface ClipAudio {
  /** The imported file itself. */
  source: Blob;
  /** mediabunny's audio codec name ('aac', 'opus', …); an output container must accept it to copy without re-encoding. */
  codec: string;
  /** The kept span in the source's timeline, seconds: the first kept frame's timestamp … the last kept frame's end. */
  startTime: number;
  endTime: number;
}
