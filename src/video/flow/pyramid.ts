/**
 * The grey image pyramid of the coarse-to-fine flow: level 0 is the input, level l + 1 is level l blurred with a
 * Gaussian (σ = 0.8 by default) and 2×2-averaged. Built once for all frames; every pair reads its two frames'
 * levels.
 */
import { EngineError } from '../../gpu/errors';
import type { Tensor } from '../../gpu/tensor';
import { downsample2x } from './downsample';
import { gaussianBlur } from './gaussian';

/** The smallest side the coarsest level should keep (the recipe's sizes: 27 px at 384×216 and at 768×432). */
const COARSEST_MIN_SIDE = 16;

/**
 * Pyramid levels for an H×W frame: as many halvings as keep the shorter side of the coarsest level at 16 px or
 * more, i.e. 1 + ⌊log₂(min(H, W) / 16)⌋ — 4 at 384×216 and 5 at 768×432 as in the recipe, 2 at 64×48.
 */
export function pyramidLevelsFor(h: number, w: number): number {
  const side = Math.min(h, w);
  return side < 2 * COARSEST_MIN_SIDE ? 1 : 1 + Math.floor(Math.log2(side / COARSEST_MIN_SIDE));
}

/** [H, W] of each level, finest first. */
export function pyramidSizes(h: number, w: number, levels: number): Array<[number, number]> {
  const sizes: Array<[number, number]> = [[h, w]];
  for (let l = 1; l < levels; l++) {
    const [ph, pw] = sizes[l - 1];
    if (ph < 2 || pw < 2) {
      throw new EngineError('pyramidSizes', `${w}×${h} px cannot have ${levels} levels (level ${l} would be empty)`);
    }
    sizes.push([Math.floor(ph / 2), Math.floor(pw / 2)]);
  }
  return sizes;
}

/** Levels of `images` [N,C,H,W], finest (the input itself, not a copy) first. */
export function buildPyramid(images: Tensor, levels: number, sigma: number): Tensor[] {
  pyramidSizes(images.shape[2], images.shape[3], levels);
  const out = [images];
  for (let l = 1; l < levels; l++) {
    const blurred = gaussianBlur(out[l - 1], sigma);
    out.push(downsample2x(blurred));
    blurred.release();
  }
  return out;
}
