/**
 * What Text2LIVE's video edit needs besides the per-frame uv and α (spec §B.3 items 4–8, in our atlas space):
 * per frame the foreground's mask box (α ≥ 0.95, grown by 30 px and to at least 129 px per axis at 768 px width,
 * scaled with the working width), and the atlas boxes: the texels of each layer's raster that the frames map to
 * (the background over all pixels, the foreground over the pixels inside the mask boxes). Frames are baked one at a
 * time, so memory stays at one frame's maps.
 */
import type { AtlasModel } from './atlasModel';
import { bakeFrame } from './atlasRender';
import { uvToTexel, type FrameGeometry } from './coords';

export interface FrameBox {
  y0: number;
  x0: number;
  h: number;
  w: number;
}

/** Columns [u0, u1) and rows [v0, v1) of an atlas raster. */
export interface TexelBox {
  u0: number;
  v0: number;
  u1: number;
  v1: number;
}

export interface ClipLayout {
  /** Per frame, null where α never reaches the threshold (no object in that frame). */
  maskBoxes: (FrameBox | null)[];
  background: TexelBox;
  /** null in background-only mode or when no frame has an object. */
  foreground: TexelBox | null;
  /** The rasters' sizes the boxes refer to. */
  backgroundResolution: number;
  foregroundResolution: number;
}

const ALPHA_THRESHOLD = 0.95;

/** The reference's mask box of one frame (§B.3 item 7), with its margins scaled from 768 px to the frame width. */
export function maskBox(alpha: Float32Array, width: number, height: number): FrameBox | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (alpha[y * width + x] >= ALPHA_THRESHOLD) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const scale = Math.max(width, height) / 768;
  const grow = Math.round(30 * scale);
  const least = Math.min(Math.round(129 * scale), width, height);
  const axis = (lo: number, hi: number, size: number): [number, number] => {
    let a = Math.max(0, lo - grow);
    let b = Math.min(size - 1, hi + grow);
    // At least `least` px: grow down/right, or up/left where the frame ends.
    if (b - a + 1 < least) {
      b = Math.min(size - 1, a + least - 1);
      a = Math.max(0, b - least + 1);
    }
    return [a, b - a + 1];
  };
  const [bx, bw] = axis(x0, x1, width);
  const [by, bh] = axis(y0, y1, height);
  return { y0: by, x0: bx, h: bh, w: bw };
}

/** The smallest texel box holding `box` and the taps of the sample at (u, v) (index coordinates). */
export function growBox(box: TexelBox | null, u: number, v: number): TexelBox {
  const [iu, iv] = [Math.floor(u), Math.floor(v)];
  if (!box) return { u0: iu, v0: iv, u1: iu + 2, v1: iv + 2 };
  return {
    u0: Math.min(box.u0, iu),
    v0: Math.min(box.v0, iv),
    u1: Math.max(box.u1, iu + 2),
    v1: Math.max(box.v1, iv + 2),
  };
}

/** A box inside an r×r raster, at least one texel wide. */
export function clampBox(b: TexelBox, r: number): TexelBox {
  const c = (v: number) => Math.max(0, Math.min(r, v));
  return { u0: c(b.u0), v0: c(b.v0), u1: c(Math.max(b.u1, b.u0 + 1)), v1: c(Math.max(b.v1, b.v0 + 1)) };
}

export async function clipLayout(model: AtlasModel, g: FrameGeometry): Promise<ClipLayout> {
  const rb = model.config.backgroundResolution;
  const rf = model.config.foregroundResolution;
  const maskBoxes: (FrameBox | null)[] = [];
  let background: TexelBox | null = null;
  let foreground: TexelBox | null = null;
  for (let t = 0; t < g.frames; t++) {
    const bake = await bakeFrame(model, g, t);
    for (let k = 0; k < g.width * g.height; k++) {
      const [u, v] = uvToTexel(bake.uvBackground[2 * k], bake.uvBackground[2 * k + 1], rb);
      background = growBox(background, u, v);
    }
    const box = model.foreground ? maskBox(bake.alpha, g.width, g.height) : null;
    maskBoxes.push(box);
    if (box && bake.uvForeground) {
      for (let y = box.y0; y < box.y0 + box.h; y++) {
        for (let x = box.x0; x < box.x0 + box.w; x++) {
          const k = y * g.width + x;
          const [u, v] = uvToTexel(bake.uvForeground[2 * k], bake.uvForeground[2 * k + 1], rf);
          foreground = growBox(foreground, u, v);
        }
      }
    }
  }
  return {
    maskBoxes,
    background: clampBox(background!, rb),
    foreground: foreground && clampBox(foreground, rf),
    backgroundResolution: rb,
    foregroundResolution: rf,
  };
}
