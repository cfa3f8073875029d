/**
 * The clip an atlas is fitted on, as the `atlas` command and `bench atlas` read it: the Node import (a frames
 * folder, a zip, or a video through ffmpeg) at a working size bounded by W×H with the aspect kept, and the two views
 * of it the fit needs (planar RGB floats for the flow, RGBA bytes and masks for the point batches).
 */
import { importClipFromPath, type NodeClipImportOptions } from '../video/media/importClip.node.js';
import type { ImportProgressCallback } from '../video/media/importOptions';
import type { VideoClip } from '../video/media/videoClip';

export interface SizeBound {
  width: number;
  height: number;
}

export interface AtlasClipOptions {
  start?: number;
  frameCount?: number;
  stride?: number;
  /** The working size fits inside this box (aspect kept); default: the import's 768-px long side. */
  bound?: SizeBound | null;
  /** A masks folder, zip or video; null: none; undefined: the import's own discovery (a `masks/` beside `frames/`). */
  masks?: string | null;
}

const evenFloor = (x: number) => Math.max(2, 2 * Math.floor(x / 2));

/** Does a clip of this size fit the bound? */
function fits(clip: { width: number; height: number }, bound: SizeBound): boolean {
  return clip.width <= bound.width && clip.height <= bound.height;
}

/**
 * Imports the clip. The import bounds only the long side, so a clip whose aspect differs from the box's is imported
 * again with a smaller long side (from the source, not resampled twice); the size is known only after a decode.
 */
export async function importAtlasClip(
  path: string,
  o: AtlasClipOptions,
  onProgress?: ImportProgressCallback,
  signal?: AbortSignal,
): Promise<VideoClip> {
  const base: NodeClipImportOptions = {
    ...(o.start !== undefined ? { start: o.start } : {}),
    ...(o.frameCount !== undefined ? { frameCount: o.frameCount } : {}),
    ...(o.stride !== undefined ? { stride: o.stride } : {}),
    ...(o.masks !== undefined ? { masks: o.masks } : {}),
  };
  const bound = o.bound ?? null;
  let maxSide = bound ? evenFloor(Math.max(bound.width, bound.height)) : undefined;
  let clip = await importClipFromPath(path, { ...base, ...(maxSide ? { maxSide } : {}) }, onProgress, signal);
  // At most a few tries: the import rounds the short side to an even number, which can overshoot by a pixel.
  for (let tries = 0; bound && !fits(clip, bound) && tries < 3; tries++) {
    const scale = Math.min(bound.width / clip.width, bound.height / clip.height);
    const next = evenFloor(Math.max(clip.width, clip.height) * scale);
    maxSide = next < maxSide! ? next : maxSide! - 2;
    if (maxSide < 16) break;
    clip = await importClipFromPath(path, { ...base, maxSide }, onProgress, signal);
  }
  return clip;
}
