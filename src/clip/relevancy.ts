/**
 * Relevancy maps (Chefer et al.; spec §A.9): which image regions make CLIP match a text. From the
 * gradient of the image–text logit with respect to the attention probabilities P of the last blocks:
 * cam_b = mean over heads of max(∂logit/∂P ⊙ P, 0); R = I, then R ← R + cam_b·R for each selected block
 * in order; the class-token row R[0, 1:] over the patch grid, bilinearly upsampled to the image and
 * min–max normalized. With one block (the reference's setting) this is cam[0, 1:]. The logit's scale
 * (100 in the reference) cancels in the normalization.
 */
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { cosineSimilarityRows } from '../ops/clipLoss';
import { scale } from '../ops/elementwise';
import type { ClipVisionTower } from './vision';

export interface RelevancyOptions {
  /** How many of the last attention blocks contribute (the reference: 1, i.e. blocks with index > 10 of 12). */
  blocks?: number;
}

export interface RelevancyMap {
  /** [height, width] in [0, 1], row-major. */
  map: Float32Array;
  width: number;
  height: number;
  /** The class-token relevancy over the patch grid before upsampling and normalization, [hp, wp]. */
  grid: Float32Array;
  hp: number;
  wp: number;
}

/** Bilinear resize of a single-channel [h, w] map, align_corners=False (PyTorch's rule). */
export function resizeBilinear(src: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW);
  const coord = (i: number, nIn: number, nOut: number): [number, number, number] => {
    const s = Math.max(0, ((i + 0.5) * nIn) / nOut - 0.5);
    const i0 = Math.min(Math.floor(s), nIn - 1);
    const i1 = Math.min(i0 + 1, nIn - 1);
    return [i0, i1, s - i0];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = coord(y, h, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = coord(x, w, outW);
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Class-token relevancy rows from per-block probabilities and gradients ([heads, N, N] each, per block in order). */
export function classRelevancy(probs: Float32Array[], grads: Float32Array[], heads: number, n: number): Float32Array {
  // R = I, R ← R + cam·R per block.
  let r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) r[i * n + i] = 1;
  for (let b = 0; b < probs.length; b++) {
    const cam = new Float64Array(n * n);
    const p = probs[b];
    const g = grads[b];
    for (let hh = 0; hh < heads; hh++) {
      const off = hh * n * n;
      for (let i = 0; i < n * n; i++) cam[i] += Math.max(g[off + i] * p[off + i], 0) / heads;
    }
    const next = r.slice();
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const c = cam[i * n + k];
        if (c === 0) continue;
        for (let j = 0; j < n; j++) next[i * n + j] += c * r[k * n + j];
      }
    }
    r = next;
  }
  return Float32Array.from(r.subarray(1, n));
}

/**
 * Relevancy of one normalized image [1, 3, H, W] for a text embedding (raw text_embeds row).
 * Returns a map at the image's size.
 */
export async function relevancyMap(
  tower: ClipVisionTower,
  pixels: Tensor,
  textEmbedding: Float32Array,
  opts: RelevancyOptions = {},
): Promise<RelevancyMap> {
  const engine = tower.engine;
  const layers = tower.config.numHiddenLayers;
  const blocks = opts.blocks ?? 1;
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > layers) {
    throw new EngineError('relevancyMap', `blocks must be an integer in [1, ${layers}], got ${blocks}`);
  }
  if (pixels.shape[0] !== 1) throw new EngineError('relevancyMap', 'expects one image (batch 1)');
  const [, , h, w] = pixels.shape;
  const selected = Array.from({ length: blocks }, (_, i) => layers - blocks + i);
  const heads = tower.config.numAttentionHeads;

  const { probs, grads, hp, wp } = await (async () => {
    const parts = engine.tidy(() => {
      // The gradient path must reach the attention probabilities: let the pixels "require" grad.
      const x = engine.empty(pixels.shape, 'relevancy-pixels');
      engine.copy(pixels, x, pixels.byteSize);
      x.requiresGrad = true;
      const tape = Tape.start(engine);
      const out = tower.forward(x, { attentionOf: selected });
      const text = engine.fromArray([1, textEmbedding.length], textEmbedding, 'relevancy-text');
      const logit = scale(cosineSimilarityRows(out.embeds!, text), 100);
      const g = tape.backward(logit, undefined, [...out.attention.values()]);
      const ps = selected.map((i) => out.attention.get(i)!);
      return { ps, gs: ps.map((p) => g.get(p)!), grid: out.grid };
    });
    const probsRead = await Promise.all(parts.ps.map((t) => t.read()));
    const gradsRead = await Promise.all(parts.gs.map((t) => t.read()));
    for (const t of [...parts.ps, ...parts.gs]) t.release();
    return { probs: probsRead, grads: gradsRead, hp: parts.grid.hp, wp: parts.grid.wp };
  })();

  const grid = classRelevancy(probs, grads, heads, 1 + hp * wp);
  const map = resizeBilinear(grid, hp, wp, h, w);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi - lo;
  for (let i = 0; i < map.length; i++) map[i] = range > 0 ? (map[i] - lo) / range : 0;
  return { map, width: w, height: h, grid, hp, wp };
}
