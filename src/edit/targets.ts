/**
 * Text targets of the CLIP losses (spec §A.6.4): raw text embeddings of every prompt under its
 * templates, computed once, and the per-call re-sampling the reference does: n ~ U{1..N} rows drawn
 * uniformly with replacement (the direction loss draws shared indices for its paired rows).
 */
import { expandPrompts, GENERIC_TEMPLATES, SCREEN_TEMPLATES } from '../clip/prompts';
import type { Rng } from '../nn/rng';

export interface TextEncoderLike {
  encode(texts: string[]): Promise<Float32Array[]>;
}

export interface TextTargets {
  /** E_comp: 14·|compText| rows (prompt-major). */
  comp: Float32Array[];
  /** E_src: 14·|srcText| rows, index-paired with comp by the direction loss. */
  src: Float32Array[];
  /** E_screen: 2·|screenText| rows. */
  screen: Float32Array[];
  /** The region-of-interest text for relevancy maps (no templates), when bootstrapping. */
  bootstrap: Float32Array | null;
}

export interface Prompts {
  compText: string | readonly string[];
  srcText: string | readonly string[];
  screenText: string | readonly string[];
  bootstrapText?: string | null;
}

export async function encodeTargets(text: TextEncoderLike, p: Prompts): Promise<TextTargets> {
  const comp = await text.encode(expandPrompts(p.compText, GENERIC_TEMPLATES));
  const src = await text.encode(expandPrompts(p.srcText, GENERIC_TEMPLATES));
  const screen = await text.encode(expandPrompts(p.screenText, SCREEN_TEMPLATES));
  const bootstrap = p.bootstrapText ? (await text.encode([p.bootstrapText]))[0] : null;
  return { comp, src, screen, bootstrap };
}

/** n ~ U{1..N}, then n indices in [0, N) with replacement. */
export function sampleIndices(rng: Rng, count: number): number[] {
  const n = rng.int(1, count);
  return Array.from({ length: n }, () => rng.int(0, count - 1));
}

/** Stacks rows into one [n, dim] array. */
export function stackRows(rows: readonly Float32Array[]): Float32Array {
  const dim = rows[0].length;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return out;
}

/** The rows the direction loss pairs by index: min(N_src, N_comp) (the reference's pairing). */
export function directionCount(t: TextTargets): number {
  return Math.min(t.comp.length, t.src.length);
}

/** Direction targets e_comp[i] − e_src[i] for indices drawn over directionCount(t). */
export function directionTargets(t: TextTargets, indices: readonly number[]): Float32Array[] {
  return indices.map((i) => t.comp[i].map((v, k) => v - t.src[i][k]));
}
