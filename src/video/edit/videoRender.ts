/**
 * The final render of a video edit (spec §B.7): the generator runs once on the layer's whole raster (batch
 * statistics of that input), and each frame samples the edited atlas at its pixels' raster coordinates:
 *
 *   E_t = sample(G(raster), coords_t)                                  (4 channels: edit RGB, edit α)
 *   layer_t = (1 − E_t.α)·V_t + E_t.α·E_t.rgb                          (the edit over the ORIGINAL frame)
 *   output_t = α_t·FG_t + (1 − α_t)·BG_t, the edited layer being layer_t and the other V_t
 *
 * so a foreground edit is confined by α_t and a background edit is occluded by the foreground. Equivalently the
 * output is V_t under an RGBA layer (E_t.rgb, a_t) with a_t = E_t.α·α_t (foreground) or E_t.α·(1 − α_t)
 * (background): that layer is what the "edit layer" download holds, for compositing tools. Because every frame reads
 * the same atlas, two pixels that map to the same texel get the same edit: the edit is consistent over time by
 * construction.
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import type { SkipGenerator } from '../../nn/skip';
import type { LayerData } from './layerData';
import { sampleAtGrid } from './videoPasses';

/** The edited atlas [1,4,H,W] (RGB, α) of the layer's raster: G(raster) without a tape. Owned by the caller. */
export function editAtlas(engine: Engine, generator: SkipGenerator, raster: Tensor): Tensor {
  return engine.tidy(() => engine.noGrad(() => generator.forward(raster)));
}

/** The [H·W, 2] grid of frame t into the raster (index coordinates → align_corners = false). */
export function frameGrid(data: LayerData, t: number): Float32Array {
  const { width, height } = data.raster;
  const c = data.coords[t];
  const g = new Float32Array(c.length);
  for (let k = 0; k < c.length; k += 2) {
    g[k] = (2 * c[k] + 1) / width - 1;
    g[k + 1] = (2 * c[k + 1] + 1) / height - 1;
  }
  return g;
}

/** One rendered frame. */
export interface FrameRender {
  /** The edited frame (opaque). */
  composite: RgbaImage;
  /** The edit layer: RGB of the edit, α = how much of it covers the original frame. */
  layer: RgbaImage;
}

const toByte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

/** Frame t of the edit: the edited atlas sampled at the frame's coordinates and composited over the original frame. */
export async function renderFrame(
  engine: Engine,
  data: LayerData,
  atlas: Tensor,
  t: number,
  frame: RgbaImage,
): Promise<FrameRender> {
  const { width: w, height: h } = data.geometry;
  const n = w * h;
  const sampled = engine.tidy(() =>
    engine.noGrad(() => sampleAtGrid(atlas, engine.fromArray([n, 2], frameGrid(data, t), 'frame-grid'), h, w)),
  );
  const e = await sampled.read();
  sampled.release();
  const alpha = data.alpha[t];
  const composite = new Uint8ClampedArray(4 * n);
  const layer = new Uint8ClampedArray(4 * n);
  const fg = data.layer === 'foreground';
  for (let k = 0; k < n; k++) {
    const a = Math.min(1, Math.max(0, e[3 * n + k])) * (fg ? alpha[k] : 1 - alpha[k]);
    for (let c = 0; c < 3; c++) {
      const rgb = Math.min(1, Math.max(0, e[c * n + k]));
      const v = frame.data[4 * k + c] / 255;
      composite[4 * k + c] = toByte((1 - a) * v + a * rgb);
      layer[4 * k + c] = toByte(rgb);
    }
    composite[4 * k + 3] = 255;
    layer[4 * k + 3] = toByte(a);
  }
  return { composite: { width: w, height: h, data: composite }, layer: { width: w, height: h, data: layer } };
}

/** The edited atlas as an RGBA image (edit colour, edit α): the "edited atlas" download. */
export async function atlasImage(atlas: Tensor): Promise<RgbaImage> {
  const [, , h, w] = atlas.shape;
  const d = await atlas.read();
  const n = w * h;
  const out = new Uint8ClampedArray(4 * n);
  for (let k = 0; k < n; k++) {
    for (let c = 0; c < 4; c++) out[4 * k + c] = toByte(d[c * n + k]);
  }
  return { width: w, height: h, data: out };
}
