/**
 * The texture test of the core on hand-made flows: an object's motion that the flow carried into an untextured
 * neighbour (as onto a plain road) is kept only within the core's reach when the frames are given.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../nn/rng';
import type { HostFlows } from './hostFlows';
import { textureStrength } from './imageTexture';
import { motionMasksFromHost } from './motionMasks';

const [W, H, F] = [64, 40, 3];
const hw = W * H;
/** The textured object A: x in [8, 20), y in [10, 26); its flat neighbour B: x in [20, 52), same rows. */
const inA = (x: number, y: number) => x >= 8 && x < 20 && y >= 10 && y < 26;
const inB = (x: number, y: number) => x >= 20 && x < 52 && y >= 10 && y < 26;

/** Flows: the background still, A and B moving by (2, 0) forward and (−2, 0) backward; everything FB-valid. */
function flows(): HostFlows {
  const forward = new Float32Array(2 * (F - 1) * hw);
  const backward = new Float32Array(2 * (F - 1) * hw);
  for (let p = 0; p < F - 1; p++) {
    for (let k = 0; k < hw; k++) {
      const [x, y] = [k % W, Math.floor(k / W)];
      if (inA(x, y) || inB(x, y)) {
        forward[2 * p * hw + k] = 2;
        backward[2 * p * hw + k] = -2;
      }
    }
  }
  const valid = new Float32Array((F - 1) * hw).fill(1);
  return { width: W, height: H, pairs: F - 1, forward, backward, forwardValid: valid, backwardValid: valid.slice() };
}

/** Random texture everywhere but a flat grey B. */
function frames(): Float32Array {
  const rng = new Rng(5);
  const out = new Float32Array(F * 3 * hw);
  for (let t = 0; t < F; t++) {
    for (let k = 0; k < hw; k++) {
      const flat = inB(k % W, Math.floor(k / W));
      const v = flat ? 0.5 : rng.next();
      for (let c = 0; c < 3; c++) out[(t * 3 + c) * hw + k] = v;
    }
  }
  return out;
}

describe('the texture test of the core', () => {
  it('λ_min is 0 on a flat image and on stripes (one direction only), positive on texture', () => {
    const flat = new Float32Array(3 * 16 * 16).fill(0.4);
    expect(Math.max(...textureStrength(flat, 16, 16))).toBe(0);
    const stripes = Float32Array.from({ length: 3 * 256 }, (_, i) => ((i % 16) % 4 < 2 ? 0.2 : 0.8));
    expect(Math.max(...textureStrength(stripes, 16, 16).subarray(5 * 16, 11 * 16))).toBeLessThan(1e-9);
    const noise = frames().subarray(0, 3 * hw);
    expect(textureStrength(noise, W, H)[2 * W + 2]).toBeGreaterThan(1e-3);
  });

  it('cuts the untextured moving neighbour at the core’s reach; without the frames it stays', () => {
    const f = flows();
    const withFrames = motionMasksFromHost(f, { temporalVote: false }, frames());
    const without = motionMasksFromHost(f, { temporalVote: false });
    // The core reaches 5 px; the structure tensor's blur (σ = 2 px) lends B texture a few px from its textured
    // neighbours (A on the left, the background on the right).
    const reach = 5 + 6;
    const count = (m: Uint8Array, where: (x: number, y: number) => boolean) => {
      let n = 0;
      m.forEach((v, k) => (n += v && where(k % W, Math.floor(k / W)) ? 1 : 0));
      return n;
    };
    const farB = (x: number, y: number) => inB(x, y) && x >= 20 + reach && x < 52 - reach && y >= 12 && y < 24;
    for (let t = 0; t < F; t++) {
      expect(count(without.masks[t], farB)).toBe(count(new Uint8Array(hw).fill(255), farB));
      expect(count(withFrames.masks[t], farB)).toBe(0);
      // The textured object itself is kept (its interior at least).
      const interiorA = (x: number, y: number) => x >= 10 && x < 18 && y >= 12 && y < 24;
      expect(count(withFrames.masks[t], interiorA)).toBe(8 * 12);
    }
    expect(() => motionMasksFromHost(f, {}, new Float32Array(5))).toThrow(/frames of 5 values/);
  });
});
