/**
 * What a fitted atlas leaves in its output folder, shared by the `atlas` command and `bench atlas`:
 *   atlas.safetensors                 the model, its settings and the clip geometry (loadAtlas re-creates it)
 *   atlas/background.png, foreground.png   each atlas as a raster at its finest level (no foreground when
 *                                     background-only)
 *   reconstruction/NNNNN.png, alpha/NNNNN.png   every frame through the model at the working size, named by the
 *                                     frame's source index
 * Every file is written atomically (a temporary name, then a rename), so an interrupted run never leaves half a file.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../edit/imageIO.node.js';
import type { RgbaImage } from '../edit/jobTypes';
import { saveAtlas, type AtlasFileInfo } from '../video/atlas/atlasFile';
import type { AtlasModel } from '../video/atlas/atlasModel';
import {
  atlasRaster,
  bakeFrame,
  greyImage,
  layerResolution,
  rgbImage,
  type FrameBake,
} from '../video/atlas/atlasRender';

export const ATLAS_FILE = 'atlas.safetensors';

export async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export async function writePngAtomic(path: string, image: RgbaImage): Promise<void> {
  await writeAtomic(path, await encodePng(image));
}

/** "00042": a frame's file name stem from its source index. */
export function frameStem(sourceIndex: number): string {
  return String(sourceIndex).padStart(5, '0');
}

export async function writeAtlasFile(dir: string, model: AtlasModel, info: AtlasFileInfo): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, ATLAS_FILE);
  await writeAtomic(path, await saveAtlas(model, info));
  return path;
}

/** atlas/background.png and (with a foreground layer) atlas/foreground.png; returns the paths written. */
export async function writeAtlasRasters(dir: string, model: AtlasModel): Promise<string[]> {
  const out = join(dir, 'atlas');
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  const layers = [['background', model.background] as const, ['foreground', model.foreground] as const];
  for (const [name, layer] of layers) {
    if (!layer) continue;
    const r = layerResolution(layer);
    const path = join(out, `${name}.png`);
    await writePngAtomic(path, rgbImage(await atlasRaster(model, layer), r, r));
    written.push(path);
  }
  return written;
}

/**
 * Bakes every frame and writes reconstruction/ and alpha/ (α is 0 everywhere in background-only mode; the mattes
 * are written anyway, so every fit leaves the same files). `onFrame` sees each bake (the bench's evaluation).
 */
export async function writeFrameRenders(
  dir: string,
  model: AtlasModel,
  info: AtlasFileInfo,
  onFrame?: (t: number, bake: FrameBake) => void | Promise<void>,
): Promise<void> {
  const { width: w, height: h, frames } = info.geometry;
  await mkdir(join(dir, 'reconstruction'), { recursive: true });
  await mkdir(join(dir, 'alpha'), { recursive: true });
  for (let t = 0; t < frames; t++) {
    const bake = await bakeFrame(model, info.geometry, t);
    const stem = frameStem(info.frameIndices[t]);
    await writePngAtomic(join(dir, 'reconstruction', `${stem}.png`), rgbImage(bake.rgb, w, h));
    await writePngAtomic(join(dir, 'alpha', `${stem}.png`), greyImage(bake.alpha, w, h));
    await onFrame?.(t, bake);
  }
}
