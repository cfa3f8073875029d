/**
 * The quality figures of a fitted atlas (VIDEO_ATLAS.md §2.1 and §3), computed on the CPU from baked frames, the
 * clip and its forward flows, one frame at a time (only the previous frame's bake is kept):
 *
 * - Reconstruction PSNR over all frames and pixels (RGB in [0,1]), and the worst frame's.
 * - Alpha IoU against true masks at α > 0.5, aggregated over all frames.
 * - Drift: for forward–backward-valid pixels x of frame t, ‖uv(x, t) − uv(x + f, t + 1)‖ in frame pixels, the
 *   background's weighted by (1 − α(x, t)), the foreground's by α(x, t) (uv at x + f bilinear in frame t + 1's bake).
 * - Edit propagation: a checkerboard blended 50 % onto the background atlas and diagonal stripes onto the
 *   foreground's, rendered into every frame through the mappings; the mean abs RGB difference (0–255) between edited
 *   frame t and edited frame t + 1 warped back with the forward flow on FB-valid pixels, against the same patterns
 *   fixed in screen space (the identity mapping: what a per-frame edit would do). The same warp error of the
 *   original frames and of the reconstruction says how much of it is flow error.
 *
 * An atlas edit of opacity ½ renders as ½·reconstruction + ½·(α·P_f(uv_f) + (1 − α)·P_b(uv_b)): the blend is linear,
 * so only the patterns need sampling (bilinearly, from rasters at each atlas's finest resolution, as an edit
 * painted on the atlas would be).
 */
import type { RgbaImage } from '../edit/jobTypes';
import type { FrameBake } from '../video/atlas/atlasRender';
import { MAPPING_SCALE, normX, normY, uvPerPixel, uvToTexel, type FrameGeometry } from '../video/atlas/coords';
import { sampleBilinear } from '../video/flow/bilinearHost';

/** The bars on blackswan. */
export const ATLAS_BARS = {
  psnr: 26,
  iouGivenMasks: 0.85,
  iouAutomaticMasks: 0.7,
  driftPixels: 0.7,
  editRatio: 0.4,
};

/** The edit test's patterns (VIDEO_ATLAS.md §3): cell and stripe sizes in uv units, colours in [0,1]. */
export const EDIT_PATTERNS = {
  checkerCell: 0.04,
  checkerColours: [
    [0.12, 0.35, 0.95],
    [1.0, 0.55, 0.1],
  ],
  stripeWidth: 0.03,
  stripeColours: [
    [0.9, 0.1, 0.1],
    [1.0, 0.9, 0.15],
  ],
} as const;

export type PatternKind = 'checkerboard' | 'stripes';

/** The pattern's colour at uv. */
export function patternColour(kind: PatternKind, u: number, v: number): readonly number[] {
  if (kind === 'checkerboard') {
    const c = EDIT_PATTERNS.checkerCell;
    const parity = (Math.floor(u / c) + Math.floor(v / c)) & 1;
    return EDIT_PATTERNS.checkerColours[parity];
  }
  const parity = Math.floor((u + v) / Math.SQRT2 / EDIT_PATTERNS.stripeWidth) & 1;
  return EDIT_PATTERNS.stripeColours[parity];
}

/** A pattern as an R×R RGB raster over uv [−1, 1]² (texel centres, align_corners = false). */
export function patternRaster(kind: PatternKind, resolution: number): Float32Array {
  const r = resolution;
  const out = new Float32Array(3 * r * r);
  for (let y = 0, k = 0; y < r; y++) {
    const v = ((y + 0.5) / r) * 2 - 1;
    for (let x = 0; x < r; x++, k++) {
      const c = patternColour(kind, ((x + 0.5) / r) * 2 - 1, v);
      out[3 * k] = c[0];
      out[3 * k + 1] = c[1];
      out[3 * k + 2] = c[2];
    }
  }
  return out;
}

export interface PatternRasters {
  background: { raster: Float32Array; resolution: number };
  /** null in background-only mode. */
  foreground: { raster: Float32Array; resolution: number } | null;
}

export function editPatterns(backgroundResolution: number, foregroundResolution: number | null): PatternRasters {
  return {
    background: { raster: patternRaster('checkerboard', backgroundResolution), resolution: backgroundResolution },
    foreground:
      foregroundResolution === null
        ? null
        : { raster: patternRaster('stripes', foregroundResolution), resolution: foregroundResolution },
  };
}

/**
 * A frame with the patterns blended at opacity ½, [H·W·3] in [0,1]. 'atlas': the patterns sampled through the
 * frame's uv (they stick to the surfaces); 'screen': at the identity uv = S·(x, y) (they stay on the screen).
 */
export function editedFrame(
  g: FrameGeometry,
  bake: FrameBake,
  patterns: PatternRasters,
  mode: 'atlas' | 'screen',
): Float32Array {
  const n = g.width * g.height;
  const out = new Float32Array(3 * n);
  const pb = new Float32Array(3);
  const pf = new Float32Array(3);
  const sample = (p: { raster: Float32Array; resolution: number }, u: number, v: number, into: Float32Array) => {
    const [tx, ty] = uvToTexel(u, v, p.resolution);
    sampleBilinear(p.raster, p.resolution, p.resolution, 3, tx, ty, into);
  };
  for (let y = 0, k = 0; y < g.height; y++) {
    const vy = MAPPING_SCALE * normY(g, y);
    for (let x = 0; x < g.width; x++, k++) {
      const ux = MAPPING_SCALE * normX(g, x);
      const a = bake.alpha[k];
      if (mode === 'atlas') sample(patterns.background, bake.uvBackground[2 * k], bake.uvBackground[2 * k + 1], pb);
      else sample(patterns.background, ux, vy, pb);
      if (patterns.foreground && bake.uvForeground) {
        if (mode === 'atlas') sample(patterns.foreground, bake.uvForeground[2 * k], bake.uvForeground[2 * k + 1], pf);
        else sample(patterns.foreground, ux, vy, pf);
      } else pf.fill(0);
      for (let c = 0; c < 3; c++) {
        out[3 * k + c] = 0.5 * bake.rgb[3 * k + c] + 0.5 * (a * pf[c] + (1 - a) * pb[c]);
      }
    }
  }
  return out;
}

/** Frame t's inputs to the evaluation. */
export interface EvalFrame {
  /** The clip's frame (8-bit RGBA). */
  image: RgbaImage;
  /** The true mask (255 object), or null when there is none. */
  mask: Uint8Array | null;
  /** [2·H·W] planar forward flow t → t + 1 (u plane, then v), and [H·W] its FB validity; null for the last frame. */
  flow: Float32Array | null;
  valid: Float32Array | null;
}

export interface AtlasQuality {
  psnr: number;
  worstFramePsnr: number;
  framePsnr: number[];
  /** null without true masks or without a foreground layer. */
  alphaIou: number | null;
  driftBackground: number;
  /** null in background-only mode. */
  driftForeground: number | null;
  /** Σ((1 − α)·d_b + α·d_f) / N: both layers, each where it shows. */
  driftCombined: number;
  warpErrorOriginal: number;
  warpErrorReconstruction: number;
  warpErrorAtlasEdit: number;
  warpErrorScreenEdit: number;
  /** atlas edit / screen edit. */
  editRatio: number;
  /** FB-valid pixels the drift and warp errors average over. */
  validPixels: number;
}

interface Rendered {
  t: number;
  bake: FrameBake;
  original: Float32Array;
  atlasEdit: Float32Array;
  screenEdit: Float32Array;
  frame: EvalFrame;
}

/** Accumulates the figures frame by frame, in order (t = 0, 1, …); `result()` after the last. */
export class AtlasEvaluator {
  private prev: Rendered | null = null;
  private sqErr = 0;
  private framePsnr: number[] = [];
  private inter = 0;
  private union = 0;
  private hasMasks = true;
  private drift = { b: 0, wb: 0, f: 0, wf: 0, combined: 0 };
  private warp = { original: 0, reconstruction: 0, atlas: 0, screen: 0 };
  private valid = 0;

  constructor(
    readonly geometry: FrameGeometry,
    readonly patterns: PatternRasters,
  ) {}

  /** Adds frame t (after t − 1); returns its edited renders (for pictures). */
  add(t: number, bake: FrameBake, frame: EvalFrame): { atlasEdit: Float32Array; screenEdit: Float32Array } {
    if (t !== (this.prev ? this.prev.t + 1 : 0)) throw new Error(`AtlasEvaluator: frame ${t} out of order`);
    const g = this.geometry;
    const n = g.width * g.height;
    const original = new Float32Array(3 * n);
    let se = 0;
    for (let k = 0; k < n; k++) {
      for (let c = 0; c < 3; c++) {
        const o = frame.image.data[4 * k + c] / 255;
        original[3 * k + c] = o;
        const d = bake.rgb[3 * k + c] - o;
        se += d * d;
      }
    }
    this.sqErr += se;
    this.framePsnr.push(psnrOf(se / (3 * n)));
    if (frame.mask && bake.uvForeground) {
      for (let k = 0; k < n; k++) {
        const a = bake.alpha[k] > 0.5;
        const m = frame.mask[k] >= 128;
        if (a && m) this.inter++;
        if (a || m) this.union++;
      }
    } else this.hasMasks = false;
    const current: Rendered = {
      t,
      bake,
      original,
      atlasEdit: editedFrame(g, bake, this.patterns, 'atlas'),
      screenEdit: editedFrame(g, bake, this.patterns, 'screen'),
      frame,
    };
    if (this.prev) this.addPair(this.prev, current);
    this.prev = current;
    return { atlasEdit: current.atlasEdit, screenEdit: current.screenEdit };
  }

  /** The drift and warp errors of the pair (t, t + 1) on frame t's FB-valid pixels. */
  private addPair(a: Rendered, b: Rendered): void {
    const { flow, valid } = a.frame;
    if (!flow || !valid) throw new Error(`AtlasEvaluator: frame ${a.t} has no forward flow`);
    const { width: w, height: h } = this.geometry;
    const n = w * h;
    const toPx = 1 / uvPerPixel(this.geometry);
    const uv = new Float64Array(2);
    const rgb = new Float64Array(3);
    const absDiff = (at: Float32Array, k: number, bt: Float32Array, x: number, y: number) => {
      sampleBilinear(bt, w, h, 3, x, y, rgb);
      return (Math.abs(at[3 * k] - rgb[0]) + Math.abs(at[3 * k + 1] - rgb[1]) + Math.abs(at[3 * k + 2] - rgb[2])) / 3;
    };
    for (let k = 0; k < n; k++) {
      if (valid[k] < 0.5) continue;
      const x = (k % w) + flow[k];
      const y = Math.floor(k / w) + flow[n + k];
      this.valid++;
      const alpha = a.bake.alpha[k];
      sampleBilinear(b.bake.uvBackground, w, h, 2, x, y, uv);
      const db = Math.hypot(a.bake.uvBackground[2 * k] - uv[0], a.bake.uvBackground[2 * k + 1] - uv[1]) * toPx;
      this.drift.b += (1 - alpha) * db;
      this.drift.wb += 1 - alpha;
      let df = 0;
      if (a.bake.uvForeground && b.bake.uvForeground) {
        sampleBilinear(b.bake.uvForeground, w, h, 2, x, y, uv);
        df = Math.hypot(a.bake.uvForeground[2 * k] - uv[0], a.bake.uvForeground[2 * k + 1] - uv[1]) * toPx;
        this.drift.f += alpha * df;
        this.drift.wf += alpha;
      }
      this.drift.combined += (1 - alpha) * db + alpha * df;
      this.warp.original += absDiff(a.original, k, b.original, x, y);
      this.warp.reconstruction += absDiff(a.bake.rgb, k, b.bake.rgb, x, y);
      this.warp.atlas += absDiff(a.atlasEdit, k, b.atlasEdit, x, y);
      this.warp.screen += absDiff(a.screenEdit, k, b.screenEdit, x, y);
    }
  }

  result(): AtlasQuality {
    const g = this.geometry;
    const frames = this.framePsnr.length;
    if (frames !== g.frames) throw new Error(`AtlasEvaluator: ${frames} of ${g.frames} frames added`);
    const v = Math.max(this.valid, 1);
    const to255 = 255 / v;
    const atlas = this.warp.atlas * to255;
    const screen = this.warp.screen * to255;
    return {
      psnr: psnrOf(this.sqErr / (3 * g.width * g.height * frames)),
      worstFramePsnr: Math.min(...this.framePsnr),
      framePsnr: this.framePsnr,
      alphaIou: this.hasMasks && this.union > 0 ? this.inter / this.union : null,
      driftBackground: this.drift.b / Math.max(this.drift.wb, 1e-12),
      driftForeground: this.prev?.bake.uvForeground ? this.drift.f / Math.max(this.drift.wf, 1e-12) : null,
      driftCombined: this.drift.combined / v,
      warpErrorOriginal: this.warp.original * to255,
      warpErrorReconstruction: this.warp.reconstruction * to255,
      warpErrorAtlasEdit: atlas,
      warpErrorScreenEdit: screen,
      editRatio: atlas / screen,
      validPixels: this.valid,
    };
  }
}

/** PSNR (dB) of a mean squared error on [0,1] values. */
export function psnrOf(mse: number): number {
  return 10 * Math.log10(1 / Math.max(mse, 1e-12));
}
