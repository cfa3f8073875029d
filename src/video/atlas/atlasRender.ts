/**
 * Whole frames and whole atlases from a fitted model (no gradient): every pixel of a frame through the mappings,
 * alpha and atlases (the reconstruction, the alpha matte, the per-frame uv and α that part 2 warps edits with), and
 * each atlas as a raster (the sum of its levels sampled at the texel centres of the finest level). Points go through
 * in chunks so that no pass holds more than a bounded number of them.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { Tensor } from '../../gpu/tensor';
import { blendPoints } from './atlasLosses';
import type { AtlasLayer, AtlasModel } from './atlasModel';
import { normT, normX, normY, type FrameGeometry } from './coords';

/** Points per pass. */
const CHUNK = 65_536;

/** The normalised coordinates [H·W, 3] of every pixel of frame t. */
export function framePoints(g: FrameGeometry, t: number): Float32Array {
  const out = new Float32Array(g.width * g.height * 3);
  const tn = normT(g, t);
  for (let y = 0, k = 0; y < g.height; y++) {
    const yn = normY(g, y);
    for (let x = 0; x < g.width; x++, k++) {
      out[3 * k] = normX(g, x);
      out[3 * k + 1] = yn;
      out[3 * k + 2] = tn;
    }
  }
  return out;
}

/** What a frame looks like through the model: its reconstruction, α, and both layers' uv per pixel. */
export interface FrameBake {
  /** [H·W·3] RGB in [0,1]. */
  rgb: Float32Array;
  /** [H·W·3] the background layer alone (the scene without the object: what a background edit starts from). */
  backgroundRgb: Float32Array;
  /** [H·W] α (all 0 in background-only mode). */
  alpha: Float32Array;
  /** [H·W·2] uv of each layer (foreground null in background-only mode). */
  uvBackground: Float32Array;
  uvForeground: Float32Array | null;
}

export async function bakeFrame(model: AtlasModel, g: FrameGeometry, t: number): Promise<FrameBake> {
  const engine = model.background.levels[0].value.engine;
  const points = framePoints(g, t);
  const n = g.width * g.height;
  const out: FrameBake = {
    rgb: new Float32Array(3 * n),
    backgroundRgb: new Float32Array(3 * n),
    alpha: new Float32Array(n),
    uvBackground: new Float32Array(2 * n),
    uvForeground: model.foreground ? new Float32Array(2 * n) : null,
  };
  for (let start = 0; start < n; start += CHUNK) {
    const count = Math.min(CHUNK, n - start);
    const r = engine.tidy(() =>
      engine.noGrad(() => {
        const p = engine.fromArray([count, 3], points.subarray(3 * start, 3 * (start + count)), 'frame-points');
        const uvB = model.map(model.background, p);
        const colourB = model.colour(model.background, uvB);
        const fg = model.foreground;
        if (!fg) return { rgb: colourB, colourB, uvB, uvF: null as Tensor | null, alpha: null as Tensor | null };
        const uvF = model.map(fg, p);
        const alpha = model.alphaOf(p)!;
        return { rgb: blendPoints(model.colour(fg, uvF), alpha, colourB), colourB, uvB, uvF, alpha };
      }),
    );
    const [rgb, colourB, uvB, uvF, alpha] = await Promise.all([
      r.rgb.read(),
      r.colourB.read(),
      r.uvB.read(),
      r.uvF?.read(),
      r.alpha?.read(),
    ]);
    for (const t of new Set([r.rgb, r.colourB, r.uvB, r.uvF, r.alpha])) t?.release();
    out.rgb.set(rgb, 3 * start);
    out.backgroundRgb.set(colourB, 3 * start);
    out.uvBackground.set(uvB, 2 * start);
    if (uvF && out.uvForeground) out.uvForeground.set(uvF, 2 * start);
    if (alpha) out.alpha.set(alpha, start);
  }
  return out;
}

const toByte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

/** RGB [H·W·3] floats → opaque RGBA bytes. */
export function rgbImage(rgb: Float32Array, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let k = 0; k < width * height; k++) {
    for (let c = 0; c < 3; c++) data[4 * k + c] = toByte(rgb[3 * k + c]);
    data[4 * k + 3] = 255;
  }
  return { width, height, data };
}

/** A grey image of values in [0,1] (α mattes). */
export function greyImage(v: Float32Array, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let k = 0; k < width * height; k++) {
    const b = toByte(v[k]);
    data[4 * k] = data[4 * k + 1] = data[4 * k + 2] = b;
    data[4 * k + 3] = 255;
  }
  return { width, height, data };
}

/** The finest level's resolution of a layer (the raster size of atlasRaster by default). */
export function layerResolution(layer: AtlasLayer): number {
  return layer.levels[layer.levels.length - 1].value.shape[1];
}

/**
 * A layer's atlas as an R×R raster, [H·W·3] pixel-interleaved (uv −1…1 across the raster, texel centres; R = its
 * finest level by default), or only the columns u0..u1−1 and rows v0..v1−1 of it.
 */
export async function atlasRaster(
  model: AtlasModel,
  layer: AtlasLayer,
  r = layerResolution(layer),
  box: { u0: number; v0: number; u1: number; v1: number } = { u0: 0, v0: 0, u1: r, v1: r },
): Promise<Float32Array> {
  const engine = model.background.levels[0].value.engine;
  const w = box.u1 - box.u0;
  const n = w * (box.v1 - box.v0);
  const uv = new Float32Array(2 * n);
  for (let y = box.v0, k = 0; y < box.v1; y++) {
    for (let x = box.u0; x < box.u1; x++, k++) {
      uv[2 * k] = ((x + 0.5) / r) * 2 - 1;
      uv[2 * k + 1] = ((y + 0.5) / r) * 2 - 1;
    }
  }
  const out = new Float32Array(3 * n);
  for (let start = 0; start < n; start += CHUNK) {
    const count = Math.min(CHUNK, n - start);
    const colour = engine.tidy(() =>
      engine.noGrad(() =>
        model.colour(layer, engine.fromArray([count, 2], uv.subarray(2 * start, 2 * (start + count)), 'atlas-uv')),
      ),
    );
    out.set(await colour.read(), 3 * start);
    colour.release();
  }
  return out;
}
