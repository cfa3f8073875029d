/**
 * What Text2LIVE's video edit consumes from a decomposition (spec §B.3, in our atlas space): for the layer being
 * edited, its atlas as a raster cropped to the texels the frames use, and per frame the raster coordinate of every
 * pixel, the opacity α and the layer's input (the frame premultiplied by α for the foreground, the background
 * layer's reconstruction for the background); for the foreground also the per-frame mask boxes.
 *
 * Raster. The reference rasterises its atlas MLP at R = 2000 for 768 px frames (about two texels per frame pixel).
 * Our atlases are texture pyramids, so any R can be sampled: a frame pixel spans uvPerPixel = 1/W in uv and a texel
 * 2/R, so R = 2·W·density gives `density` texels per frame pixel along each axis. The quality level chooses the
 * density (memory and generator cost grow with its square).
 *
 * Coordinates are index coordinates in the cropped raster (texel (r, c) has its centre at (c, r)), so sampling needs
 * no half-texel correction (the reference's align_corners quirk, §B.3 item 5, does not arise). Frames are baked one at
 * a time; what is kept is O(frames × pixels): at 768×432 and 70 frames, ~190 MB of coordinates and ~90 MB each of α
 * and inputs.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import { clampBox, growBox, maskBox, type FrameBox, type TexelBox } from '../atlas/atlasLayout';
import type { AtlasModel } from '../atlas/atlasModel';
import { atlasRaster, bakeFrame } from '../atlas/atlasRender';
import { uvToTexel, type FrameGeometry } from '../atlas/coords';

export type EditLayer = 'foreground' | 'background';

/** Largest raster side (the box is usually far smaller). */
export const MAX_RASTER_RESOLUTION = 8192;

export interface LayerRaster {
  /** [3, height, width] planar RGB in [0, 1]. */
  data: Float32Array;
  width: number;
  height: number;
  /** Where the crop lies in the full R×R raster. */
  box: TexelBox;
  resolution: number;
}

export interface LayerData {
  geometry: FrameGeometry;
  layer: EditLayer;
  raster: LayerRaster;
  /** Per frame [H·W·2]: (column, row) index coordinates of each pixel in `raster`. */
  coords: Float32Array[];
  /** Per frame [H·W] α of the foreground (all 0 in background-only decompositions). */
  alpha: Float32Array[];
  /** Per frame [3, H, W] planar: V·α (foreground) or the background layer's reconstruction (background). */
  inputs: Float32Array[];
  /** Foreground: per frame the mask box (null where α never reaches 0.95); background: all null. */
  maskBoxes: (FrameBox | null)[];
}

export class LayerDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerDataError';
  }
}

/** The raster resolution for `density` texels per frame pixel (spec §B.3: R = 2000 at 768 px ≈ 1.3). */
export function rasterResolution(width: number, density: number): number {
  if (!(density > 0)) throw new RangeError(`the atlas density must be positive, got ${density}`);
  return Math.max(2, Math.min(MAX_RASTER_RESOLUTION, Math.round(2 * width * density)));
}

/**
 * The edited layer's data. `frames` are the clip's frames at the decomposition's size (8-bit RGBA, as imported).
 * Throws LayerDataError for a foreground edit of a decomposition without a foreground, or with no frame where the
 * object is opaque.
 */
export async function layerData(
  model: AtlasModel,
  g: FrameGeometry,
  frames: readonly RgbaImage[],
  layer: EditLayer,
  density: number,
): Promise<LayerData> {
  if (frames.length !== g.frames || frames.some((f) => f.width !== g.width || f.height !== g.height)) {
    throw new LayerDataError(
      `The clip's frames do not match the decomposition (${g.frames} frames of ${g.width}×${g.height}).`,
    );
  }
  if (layer === 'foreground' && !model.foreground) {
    throw new LayerDataError('This decomposition has no foreground layer: edit the background instead.');
  }
  const R = rasterResolution(g.width, density);
  const n = g.width * g.height;
  const coords: Float32Array[] = [];
  const alpha: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  const maskBoxes: (FrameBox | null)[] = [];
  let box: TexelBox | null = null;
  for (let t = 0; t < g.frames; t++) {
    const bake = await bakeFrame(model, g, t);
    const uv = layer === 'foreground' ? bake.uvForeground! : bake.uvBackground;
    const c = new Float32Array(2 * n);
    for (let k = 0; k < n; k++) [c[2 * k], c[2 * k + 1]] = uvToTexel(uv[2 * k], uv[2 * k + 1], R);
    const input = new Float32Array(3 * n);
    const frame = frames[t].data;
    for (let k = 0; k < n; k++) {
      for (let ch = 0; ch < 3; ch++) {
        input[ch * n + k] =
          layer === 'foreground' ? (frame[4 * k + ch] / 255) * bake.alpha[k] : bake.backgroundRgb[3 * k + ch];
      }
    }
    const mask = layer === 'foreground' ? maskBox(bake.alpha, g.width, g.height) : null;
    // The texels the edit is trained on and rendered from: every pixel (background), the mask box (foreground).
    const region = layer === 'foreground' ? mask : { y0: 0, x0: 0, h: g.height, w: g.width };
    if (region) {
      for (let y = region.y0; y < region.y0 + region.h; y++) {
        for (let x = region.x0; x < region.x0 + region.w; x++) {
          const k = y * g.width + x;
          box = growBox(box, c[2 * k], c[2 * k + 1]);
        }
      }
    }
    coords.push(c);
    alpha.push(bake.alpha);
    inputs.push(input);
    maskBoxes.push(mask);
  }
  if (!box) throw new LayerDataError('The object is not opaque in any frame: there is no foreground to edit.');
  const crop = clampBox(box, R);
  for (const c of coords) {
    for (let k = 0; k < n; k++) {
      c[2 * k] -= crop.u0;
      c[2 * k + 1] -= crop.v0;
    }
  }
  const width = crop.u1 - crop.u0;
  const height = crop.v1 - crop.v0;
  const interleaved = await atlasRaster(model, layer === 'foreground' ? model.foreground! : model.background, R, crop);
  const data = new Float32Array(3 * width * height);
  for (let k = 0; k < width * height; k++) {
    for (let ch = 0; ch < 3; ch++) data[ch * width * height + k] = interleaved[3 * k + ch];
  }
  return {
    geometry: g,
    layer,
    raster: { data, width, height, box: crop, resolution: R },
    coords,
    alpha,
    inputs,
    maskBoxes,
  };
}
