/**
 * A source of frames by index, whatever holds them: a video track (mediabunny in the browser, ffmpeg in Node) or a
 * sorted list of still images (a folder, a zip, picked files). The import (assembleClip.ts) asks it for the kept
 * indices only, so a trimmed import decodes no more than it must.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { Size } from './workingSize';

export interface FrameSequence {
  /** The file, folder or zip name, for messages. */
  readonly label: string;
  readonly frameCount: number;
  /** The frame file names in order, for pairing masks by name; null for a video. */
  readonly frameNames: readonly string[] | null;
  /**
   * How big a frame is shown, in square pixels after rotation, when known before decoding (a video track; its
   * decoded frames may be stored at another size when pixels are not square). null: each frame's own size.
   */
  readonly displaySize: Size | null;
  /** Frames per second, when the source has one (a video). */
  readonly frameRate: number | null;
  /**
   * Decodes the frames at `indices` (ascending source indices) and calls `onFrame` with each in order, upright.
   * Resolves once the last has been handed over and decodes nothing after it; rejects with a VideoImportError.
   */
  read(
    indices: readonly number[],
    onFrame: (frame: RgbaImage, position: number) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<void>;
  /** What to call frame `index` in a message: its file name, or "frame 12". */
  frameLabel(index: number): string;
  /** Frees what the source holds (a demuxer, a file handle); safe to call twice. */
  close(): void;
}
