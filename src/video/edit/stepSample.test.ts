import { describe, expect, it } from 'vitest';
import { Rng } from '../../nn/rng';
import type { FrameBox } from '../atlas/atlasLayout';
import { centreFrames, cropRaster, drawStepSample, frameDistance, WINDOW_MIN_COVER } from './stepSample';
import type { EditLayer, LayerData } from './layerData';

const W = 40;
const H = 24;
const MIN_SIDE = 9;

/**
 * A clip whose layer maps pixel (x, y) of frame t to raster texel (1.5·x + 2t + 3, 1.25·y + 2) (a pan and a
 * stretch), α = 1 inside a per-frame box, inputs and raster with values that encode their position.
 */
function syntheticData(layer: EditLayer, frames: number, boxes: (FrameBox | null)[]): LayerData {
  const n = W * H;
  const rw = Math.ceil(1.5 * W + 2 * frames + 8);
  const rh = Math.ceil(1.25 * H + 6);
  const coords: Float32Array[] = [];
  const alpha: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  for (let t = 0; t < frames; t++) {
    const c = new Float32Array(2 * n);
    const a = new Float32Array(n);
    const input = new Float32Array(3 * n);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const k = y * W + x;
        c[2 * k] = 1.5 * x + 2 * t + 3;
        c[2 * k + 1] = 1.25 * y + 2;
        const b = boxes[t];
        a[k] = b && y >= b.y0 && y < b.y0 + b.h && x >= b.x0 && x < b.x0 + b.w ? 1 : 0.25;
        for (let ch = 0; ch < 3; ch++) input[ch * n + k] = t * 1e4 + ch * 1e3 + k;
      }
    }
    coords.push(c);
    alpha.push(a);
    inputs.push(input);
  }
  const data = new Float32Array(3 * rw * rh).map((_, i) => i);
  return {
    geometry: { width: W, height: H, frames },
    layer,
    raster: { data, width: rw, height: rh, box: { u0: 0, v0: 0, u1: rw, v1: rh }, resolution: 256 },
    coords,
    alpha,
    inputs,
    maskBoxes: layer === 'foreground' ? boxes : boxes.map(() => null),
  };
}

/** The raster coordinate a grid value addresses in a crop of `size` texels starting at `lo`. */
const fromGrid = (g: number, lo: number, size: number) => lo + ((g + 1) * size - 1) / 2;

describe('the video step sample (spec §B.4)', () => {
  it('uses frames t−2, t, t+2, or a smaller distance for short clips', () => {
    expect([1, 2, 3, 4, 5, 9].map(frameDistance)).toEqual([0, 0, 1, 1, 2, 2]);
    const bg = syntheticData('background', 7, Array(7).fill(null));
    expect(centreFrames(bg)).toEqual([2, 3, 4]);
  });

  it('never draws a foreground frame without an opaque object', () => {
    const box: FrameBox = { y0: 4, x0: 6, h: 12, w: 14 };
    const boxes = [box, box, box, null, box, box, box, box, box];
    const data = syntheticData('foreground', boxes.length, boxes);
    // t = 5 uses frames 3, 5, 7: frame 3 has no box; so do t = 3 (1, 3, 5) and t = 2? no: 0, 2, 4.
    expect(centreFrames(data)).toEqual([2, 4, 6]);
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) expect(drawStepSample(rng, data, MIN_SIDE).frames).not.toContain(3);
  });

  it('draws background windows shared by the three frames, and grids that land on their coordinates', () => {
    const data = syntheticData('background', 8, Array(8).fill(null));
    const rng = new Rng(7);
    const flips = new Set<boolean>();
    for (let i = 0; i < 16; i++) {
      const s = drawStepSample(rng, data, MIN_SIDE);
      flips.add(s.flip);
      const [a, b, c] = s.windows;
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      expect(a.h).toBeGreaterThanOrEqual(Math.round(WINDOW_MIN_COVER * H));
      expect(a.w).toBeGreaterThanOrEqual(Math.round(WINDOW_MIN_COVER * W));
      expect(a.y0 + a.h).toBeLessThanOrEqual(H);
      expect(a.x0 + a.w).toBeLessThanOrEqual(W);
      expect(s.inputJitters[1]).toBe(s.inputJitters[0]);
      const cw = s.crop.u1 - s.crop.u0;
      const ch = s.crop.v1 - s.crop.v0;
      s.frames.forEach((f, i) => {
        const { y0, x0, h, w } = s.windows[i];
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const o = y * w + x;
            // Flipped, window column x shows frame column x0 + w − 1 − x, in a mirrored crop.
            const fx = x0 + (s.flip ? w - 1 - x : x);
            const k = (y0 + y) * W + fx;
            const gu = s.flip ? -s.grids[i][2 * o] : s.grids[i][2 * o];
            expect(fromGrid(gu, s.crop.u0, cw)).toBeCloseTo(data.coords[f][2 * k], 4);
            expect(fromGrid(s.grids[i][2 * o + 1], s.crop.v0, ch)).toBeCloseTo(data.coords[f][2 * k + 1], 4);
            // Both taps of every sample lie inside the crop.
            expect(Math.abs(s.grids[i][2 * o])).toBeLessThanOrEqual(1 - 1 / cw + 1e-6);
            expect(s.inputs[i][2 * h * w + o]).toBe(data.inputs[f][2 * W * H + k]);
            expect(s.alphas[i][o]).toBe(data.alpha[f][k]);
          }
        }
      });
    }
    expect(flips).toEqual(new Set([true, false]));
  });

  it('keeps foreground windows around the mask box, at least minSide, and one jitter draw per frame', () => {
    const boxes = Array.from({ length: 9 }, (_, t): FrameBox => ({ y0: 5, x0: 2 + 2 * t, h: 6, w: 16 }));
    const data = syntheticData('foreground', 9, boxes);
    const rng = new Rng(11);
    for (let i = 0; i < 40; i++) {
      const s = drawStepSample(rng, data, MIN_SIDE);
      s.frames.forEach((f, j) => {
        const win = s.windows[j];
        const box = boxes[f];
        expect(win.h).toBe(MIN_SIDE); // the box is 6 rows: raised to the generator's minimum, around the box
        expect(win.y0).toBeLessThanOrEqual(box.y0);
        expect(win.y0 + win.h).toBeGreaterThanOrEqual(box.y0 + box.h);
        expect(win.w).toBeGreaterThanOrEqual(Math.round(WINDOW_MIN_COVER * box.w));
        expect(win.x0).toBeGreaterThanOrEqual(box.x0);
        expect(win.x0 + win.w).toBeLessThanOrEqual(box.x0 + box.w);
      });
      expect(s.crop.u1 - s.crop.u0).toBeGreaterThanOrEqual(MIN_SIDE);
      expect(s.crop.v1 - s.crop.v0).toBeGreaterThanOrEqual(MIN_SIDE);
      expect(s.inputJitters).toHaveLength(3);
    }
  });

  it('crops the raster, mirrored when flipped', () => {
    const data = syntheticData('background', 5, Array(5).fill(null));
    const { width: rw, height: rh } = data.raster;
    const box = { u0: 3, v0: 2, u1: 8, v1: 6 };
    const plain = cropRaster(data, box, false);
    const mirrored = cropRaster(data, box, true);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 5; x++) {
          expect(plain[(c * 4 + y) * 5 + x]).toBe((c * rh + 2 + y) * rw + 3 + x);
          expect(mirrored[(c * 4 + y) * 5 + x]).toBe(plain[(c * 4 + y) * 5 + 4 - x]);
        }
      }
    }
  });
});
