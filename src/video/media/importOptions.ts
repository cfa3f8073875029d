/**
 * What a person (or the CLI) chooses about an import: the trim, the working size, and the frame rate of a folder of
 * frames. Validated once, up front, with messages that name the option and the value.
 */
import { VideoImportError } from './importError';

export interface ClipImportOptions {
  /** First source frame to keep (0-based, presentation order). Default 0. */
  start?: number;
  /** How many frames to keep. Default: every frame from `start` (with the stride); more than `maxFrames` is an error. */
  frameCount?: number;
  /** Keep every `stride`-th frame from `start`. Default 1. */
  stride?: number;
  /** The most frames a clip may keep. Default 70, the reference's `maximum_number_of_frames` (spec §B.1, §C.1). */
  maxFrames?: number;
  /** The working size's long side at most (even). Default 768 (the reference's 768×432 for 16:9). */
  maxSide?: number;
  /** Frames per second of a frame folder or zip, which carry none. Default 24. A video's own rate is always used. */
  frameRate?: number;
}

export interface ResolvedImportOptions {
  start: number;
  /** null: every frame from `start`. */
  frameCount: number | null;
  stride: number;
  maxFrames: number;
  maxSide: number;
  frameRate: number;
}

export const DEFAULT_MAX_FRAMES = 70;
export const DEFAULT_MAX_SIDE = 768;
export const DEFAULT_FOLDER_FRAME_RATE = 24;
/** Bounds of `maxSide`: below 16 px nothing is left to decompose; above 4096 the atlases cannot fit a GPU. */
export const MIN_MAX_SIDE = 16;
export const MAX_MAX_SIDE = 4096;

/** Progress of an import: `done` of `total` frames (or mask frames) decoded. */
export interface ImportProgress {
  stage: 'frames' | 'masks';
  done: number;
  total: number;
}

export type ImportProgressCallback = (progress: ImportProgress) => void;

function wholeNumber(name: string, value: number | undefined, min: number, fallback: number, source: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new VideoImportError(
      'invalid-options',
      source,
      `${name} must be a whole number ≥ ${min} (got ${String(value)}).`,
    );
  }
  return value;
}

/** Fills in the defaults and checks every option; throws VideoImportError('invalid-options') naming the first bad one. */
export function resolveImportOptions(options: ClipImportOptions = {}, source = 'the clip'): ResolvedImportOptions {
  const start = wholeNumber('start', options.start, 0, 0, source);
  const frameCount =
    options.frameCount === undefined ? null : wholeNumber('frameCount', options.frameCount, 1, 1, source);
  const stride = wholeNumber('stride', options.stride, 1, 1, source);
  const maxFrames = wholeNumber('maxFrames', options.maxFrames, 1, DEFAULT_MAX_FRAMES, source);
  const maxSide = wholeNumber('maxSide', options.maxSide, MIN_MAX_SIDE, DEFAULT_MAX_SIDE, source);
  if (maxSide % 2 !== 0 || maxSide > MAX_MAX_SIDE) {
    throw new VideoImportError(
      'invalid-options',
      source,
      `maxSide must be even and at most ${MAX_MAX_SIDE} (got ${maxSide}).`,
    );
  }
  const frameRate = options.frameRate ?? DEFAULT_FOLDER_FRAME_RATE;
  if (typeof frameRate !== 'number' || !Number.isFinite(frameRate) || frameRate <= 0 || frameRate > 1000) {
    throw new VideoImportError(
      'invalid-options',
      source,
      `frameRate must be a number of frames per second above 0 and at most 1000 (got ${String(frameRate)}).`,
    );
  }
  return { start, frameCount, stride, maxFrames, maxSide, frameRate };
}
