/**
 * The relevancy refinement with the tiny CLIP model (models/tiny-clip: random weights, so the maps mean nothing and
 * the mechanics are what is tested): one map per frame, computed at the model's input size and resized back to the
 * frame, combined with the motion mask as relevancyCombine.ts documents.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { syntheticClip } from '../../../test/syntheticClip';
import { type ClipModel, createClipModel } from '../../clip/clipModel';
import { loadModelFromDirectory } from '../../clip/modelDirectory';
import { relevancyMap } from '../../clip/relevancy';
import type { Engine } from '../../gpu/engine';
import { CLIP_MEAN, CLIP_STD } from '../../ops/normalize';
import { combineWithRelevancy } from './relevancyCombine';
import { refineMasksWithRelevancy } from './relevancyRefine';

/** PyTorch's bilinear resize (align_corners=False, no antialias) of one [h, w] plane, in float64. */
function refResize(src: ArrayLike<number>, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const coord = (o: number, n: number, on: number) => {
    const s = Math.max(0, ((o + 0.5) * n) / on - 0.5);
    const i0 = Math.min(Math.floor(s), n - 1);
    return { i0, i1: Math.min(i0 + 1, n - 1), f: s - i0 };
  };
  for (let y = 0; y < oh; y++) {
    const cy = coord(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const cx = coord(x, w, ow);
      const at = (yy: number, xx: number) => src[yy * w + xx];
      const top = at(cy.i0, cx.i0) * (1 - cx.f) + at(cy.i0, cx.i1) * cx.f;
      const bottom = at(cy.i1, cx.i0) * (1 - cx.f) + at(cy.i1, cx.i1) * cx.f;
      out[y * ow + x] = top * (1 - cy.f) + bottom * cy.f;
    }
  }
  return out;
}

const clip = syntheticClip();
const { width: W, height: H } = clip;
const F = clip.frames.length;
/** Frame t's RGB planes in [0, 1]. */
const planes = (t: number) => {
  const out = new Float32Array(3 * H * W);
  for (let q = 0; q < H * W; q++) for (let c = 0; c < 3; c++) out[c * H * W + q] = clip.frames[t].data[4 * q + c] / 255;
  return out;
};

let engine: Engine;
let model: ClipModel;
let text: Float32Array;
beforeAll(async () => {
  engine = await testEngine();
  model = await createClipModel(engine, await loadModelFromDirectory('models/tiny-clip'));
  [text] = await model.text.encode(['a black swan']);
});
afterAll(async () => {
  await model.text.dispose();
});

describe('refineMasksWithRelevancy (tiny CLIP)', () => {
  it('computes one map per frame at the model’s size, resized back, and combines it with the masks', async () => {
    const all = new Float32Array(F * 3 * H * W);
    for (let t = 0; t < F; t++) all.set(planes(t), t * 3 * H * W);
    const frames = engine.fromArray([F, 3, H, W], all, 'frames');
    // The disc's true mask plus a square that does not move: two components per frame.
    const masks = clip.masks.map((m) => {
      const out = m.slice();
      for (let y = 1; y < 7; y++) for (let x = 1; x < 7; x++) out[y * W + x] = 255;
      return out;
    });
    const opts = { threshold: 0.5 };
    const r = await refineMasksWithRelevancy(model.vision, frames, masks, text, opts);
    frames.release();
    expect(r.relevancy).toHaveLength(F);
    expect(r.masks).toHaveLength(F);
    const size = model.vision.config.imageSize;
    for (const t of [0, F - 1]) {
      // The reference: the frame resized to S×S on the CPU, normalised, its map there, resized back on the CPU.
      const small = new Float32Array(3 * size * size);
      const p = planes(t);
      for (let c = 0; c < 3; c++) {
        const plane = refResize(p.subarray(c * H * W, (c + 1) * H * W), H, W, size, size);
        plane.forEach((v, k) => (small[c * size * size + k] = (v - CLIP_MEAN[c]) / CLIP_STD[c]));
      }
      const input = engine.fromArray([1, 3, size, size], small);
      const ref = await relevancyMap(model.vision, input, text);
      input.release();
      expect([ref.width, ref.height]).toEqual([size, size]);
      const back = refResize(ref.map, size, size, H, W);
      expect(r.relevancy[t]).toHaveLength(H * W);
      let worst = 0;
      back.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - r.relevancy[t][k]))));
      expect(worst).toBeLessThan(1e-3);
    }
    for (let t = 0; t < F; t++) {
      for (const v of r.relevancy[t]) expect(v >= 0 && v <= 1).toBe(true);
      const c = combineWithRelevancy(masks[t], r.relevancy[t], W, H, opts);
      expect(r.masks[t]).toEqual(c.mask);
      expect(r.kept[t] + r.dropped[t]).toBe(2);
      expect(r.kept[t]).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('combineWithRelevancy', () => {
  const [w, h] = [12, 8];
  // Two components: a 3×3 block at the left, a 3×3 block at the right.
  const mask = new Uint8Array(w * h);
  for (let y = 2; y < 5; y++) for (const x0 of [1, 8]) for (let x = x0; x < x0 + 3; x++) mask[y * w + x] = 255;
  /** Relevancy rising from left (0) to right (1). */
  const ramp = Float32Array.from({ length: w * h }, (_, k) => (k % w) / (w - 1));
  const count = (m: Uint8Array, x0: number) => {
    let n = 0;
    for (let y = 0; y < h; y++) for (let x = x0; x < x0 + 3; x++) n += m[y * w + x] ? 1 : 0;
    return n;
  };

  it('keeps the components with mean relevancy ≥ threshold, else the most relevant one', () => {
    const a = combineWithRelevancy(mask, ramp, w, h, { threshold: 0.5 });
    expect([count(a.mask, 1), count(a.mask, 8), a.kept, a.dropped]).toEqual([0, 9, 1, 1]);
    const b = combineWithRelevancy(mask, ramp, w, h, { threshold: 0.1 });
    expect([count(b.mask, 1), count(b.mask, 8), b.kept]).toEqual([9, 9, 2]);
    const none = combineWithRelevancy(mask, ramp, w, h, { threshold: 1 });
    expect([count(none.mask, 1), count(none.mask, 8), none.kept]).toEqual([0, 9, 1]);
  });

  it('intersect mode keeps only the relevant pixels and then drops what is too small', () => {
    const r = combineWithRelevancy(mask, ramp, w, h, { mode: 'intersect', threshold: 0.75, minComponentArea: 4 });
    // Right block: columns 8 (0.727), 9 (0.818), 10 (0.909): two columns pass, 6 px; the left block goes.
    expect([count(r.mask, 1), count(r.mask, 8), r.kept, r.dropped]).toEqual([0, 6, 1, 1]);
    const tooSmall = combineWithRelevancy(mask, ramp, w, h, { mode: 'intersect', threshold: 0.9, minComponentArea: 4 });
    expect(tooSmall.mask.every((v) => v === 0)).toBe(true);
    expect(() => combineWithRelevancy(mask, ramp, w, h, { threshold: 2 })).toThrow(RangeError);
  });
});
