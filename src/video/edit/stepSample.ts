/**
 * One step's sample of the video edit (spec §B.4, `get_global_crops_multi`): three frames t−2, t, t+2, a window in
 * each (the foreground: inside its mask box; the background: one window shared by the three), the atlas crop that
 * covers the three windows' coordinates, and each window's sampling grid into that crop. Everything is drawn from
 * the job's Rng on the CPU; the step uploads the arrays.
 *
 * Deviations, each for a reason:
 * - Clips shorter than 5 frames use a smaller frame distance (the reference needs ≥ 5 frames).
 * - Foreground frames without an opaque object (no mask box; the reference crashes) are never drawn: t is drawn
 *   among the frames whose three frames all have a box.
 * - Windows and the atlas crop are at least `minSide` per side (the generator's 2^scales + 1), clamped to the frame or
 *   raster; the reference's 129 px floor is the same number at 7 scales.
 * - Grids address texel centres exactly (index coordinates in the crop, align_corners = false), so there is no
 *   half-texel offset; sampling clamps at the border instead of reading zeros, so window borders are not darkened
 *   (the reference's §B.5 quirk).
 */
import { sampleJitter, type JitterParams } from '../../edit/clipViews';
import type { Rng } from '../../nn/rng';
import { growBox, type FrameBox, type TexelBox } from '../atlas/atlasLayout';
import type { LayerData } from './layerData';

/** The reference's frame distance (center_frame_distance). */
export const FRAME_DISTANCE = 2;
/** crops_min_cover of the foreground windows. */
export const WINDOW_MIN_COVER = 0.95;
/** Probability of the colour jitter of the atlas crop and of the frame windows. */
export const VIDEO_JITTER_P = 0.1;

export interface StepSample {
  /** Frames t − d, t, t + d. */
  frames: [number, number, number];
  flip: boolean;
  /** The atlas crop in the layer raster's coordinates. */
  crop: TexelBox;
  /** Per frame, the window in the frame. */
  windows: FrameBox[];
  /** Per frame [h·w·2]: where each window pixel samples the crop, in [−1, 1] (align_corners = false), flipped. */
  grids: Float32Array[];
  /** Per frame [h·w]: α in the window (flipped). */
  alphas: Float32Array[];
  /** Per frame [3, h, w]: the layer input in the window (flipped). */
  inputs: Float32Array[];
  atlasJitter: JitterParams | null;
  /** Per frame (the background's three windows share one draw). */
  inputJitters: Array<JitterParams | null>;
  /** Which of the three frames also goes through the generator directly (0..2). */
  direct: number;
}

/** The frame distance for a clip of `frames` frames. */
export function frameDistance(frames: number): number {
  return Math.max(0, Math.min(FRAME_DISTANCE, Math.floor((frames - 1) / 2)));
}

/** The centre frames t whose three frames can be edited (all of them have a mask box, for the foreground). */
export function centreFrames(data: Pick<LayerData, 'layer' | 'maskBoxes' | 'geometry'>): number[] {
  const d = frameDistance(data.geometry.frames);
  const out: number[] = [];
  for (let t = d; t < data.geometry.frames - d; t++) {
    if (data.layer === 'background' || [t - d, t, t + d].every((f) => data.maskBoxes[f] !== null)) out.push(t);
  }
  return out;
}

/** A span of `size` (≥ least, ≤ limit) at a random offset covering [lo, lo + len) as the reference does. */
function drawSpan(rng: Rng, lo: number, len: number, limit: number, least: number): [number, number] {
  const size = Math.min(limit, Math.max(rng.int(Math.round(WINDOW_MIN_COVER * len), len), least));
  if (size <= len) return [lo + rng.int(0, len - size), size];
  // Larger than the box: a window that contains it.
  const a = Math.max(0, lo + len - size);
  const b = Math.min(lo, limit - size);
  return [rng.int(a, Math.max(a, b)), size];
}

/** Grows a box to at least `least` texels per axis around its centre, inside [0, limit). */
function atLeast(lo: number, hi: number, least: number, limit: number): [number, number] {
  if (hi - lo >= least) return [lo, hi];
  if (limit <= least) return [0, limit];
  const extra = least - (hi - lo);
  let a = lo - Math.floor(extra / 2);
  a = Math.max(0, Math.min(a, limit - least));
  return [a, a + least];
}

/**
 * Draws step `step`'s sample. `minSide` is the generator's smallest input side. Throws when no centre frame qualifies
 * (the caller checks centreFrames first and tells the user).
 */
export function drawStepSample(rng: Rng, data: LayerData, minSide: number): StepSample {
  const g = data.geometry;
  const candidates = centreFrames(data);
  if (candidates.length === 0) throw new Error('drawStepSample: no frame triple has the object in all three frames');
  const d = frameDistance(g.frames);
  const t = candidates[rng.int(0, candidates.length - 1)];
  const frames: [number, number, number] = [t - d, t, t + d];
  const flip = rng.next() < 0.5;
  const leastY = Math.min(minSide, g.height);
  const leastX = Math.min(minSide, g.width);
  let windows: FrameBox[];
  let inputJitters: Array<JitterParams | null>;
  if (data.layer === 'foreground') {
    windows = [];
    inputJitters = [];
    for (const f of frames) {
      const box = data.maskBoxes[f]!;
      const [y0, h] = drawSpan(rng, box.y0, box.h, g.height, leastY);
      const [x0, w] = drawSpan(rng, box.x0, box.w, g.width, leastX);
      windows.push({ y0, x0, h, w });
      inputJitters.push(sampleJitter(rng, VIDEO_JITTER_P));
    }
  } else {
    const [y0, h] = drawSpan(rng, 0, g.height, g.height, leastY);
    const [x0, w] = drawSpan(rng, 0, g.width, g.width, leastX);
    windows = frames.map(() => ({ y0, x0, h, w }));
    const jitter = sampleJitter(rng, VIDEO_JITTER_P);
    inputJitters = frames.map(() => jitter);
  }
  // The crop covering the taps of every window pixel, then at least minSide per side.
  let box: TexelBox | null = null;
  frames.forEach((f, i) => {
    const c = data.coords[f];
    const win = windows[i];
    for (let y = win.y0; y < win.y0 + win.h; y++) {
      for (let x = win.x0; x < win.x0 + win.w; x++) {
        const k = y * g.width + x;
        box = growBox(box, c[2 * k], c[2 * k + 1]);
      }
    }
  });
  const { width: rw, height: rh } = data.raster;
  const b = box as unknown as TexelBox;
  const [u0, u1] = atLeast(Math.max(0, b.u0), Math.min(rw, b.u1), minSide, rw);
  const [v0, v1] = atLeast(Math.max(0, b.v0), Math.min(rh, b.v1), minSide, rh);
  const crop = { u0, v0, u1, v1 };
  const atlasJitter = sampleJitter(rng, VIDEO_JITTER_P);
  const direct = rng.int(0, 2);

  const cw = u1 - u0;
  const ch = v1 - v0;
  const n = g.width * g.height;
  const grids: Float32Array[] = [];
  const alphas: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  frames.forEach((f, i) => {
    const { y0, x0, h, w } = windows[i];
    const grid = new Float32Array(2 * h * w);
    const alpha = new Float32Array(h * w);
    const input = new Float32Array(3 * h * w);
    const c = data.coords[f];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // Window pixel (y, x) shows frame pixel (y0 + y, x0 + x), or its mirror image when flipped.
        const k = (y0 + y) * g.width + x0 + (flip ? w - 1 - x : x);
        const o = y * w + x;
        const gu = (2 * (c[2 * k] - u0) + 1) / cw - 1;
        // Flipped, the crop is mirrored too: u ↦ −u.
        grid[2 * o] = flip ? -gu : gu;
        grid[2 * o + 1] = (2 * (c[2 * k + 1] - v0) + 1) / ch - 1;
        alpha[o] = data.alpha[f][k];
        for (let ch3 = 0; ch3 < 3; ch3++) input[ch3 * h * w + o] = data.inputs[f][ch3 * n + k];
      }
    }
    grids.push(grid);
    alphas.push(alpha);
    inputs.push(input);
  });
  return { frames, flip, crop, windows, grids, alphas, inputs, atlasJitter, inputJitters, direct };
}

/** The atlas crop [3, h, w] planar of a layer raster (mirrored left–right when `flip`). */
export function cropRaster(data: LayerData, crop: TexelBox, flip: boolean): Float32Array {
  const { width: rw, height: rh, data: src } = data.raster;
  const w = crop.u1 - crop.u0;
  const h = crop.v1 - crop.v0;
  const out = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sx = crop.u0 + (flip ? w - 1 - x : x);
        out[(c * h + y) * w + x] = src[(c * rh + crop.v0 + y) * rw + sx];
      }
    }
  }
  return out;
}
