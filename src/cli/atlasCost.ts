/**
 * A FLOP estimate of one atlas-fitting iteration, counted as VIDEO_ATLAS.md counts it: every MLP layer 2·in·out per
 * evaluated point, the texture-pyramid lookups (4 taps × 3 channels × a multiply-add per level), the positional
 * encoding; forward + backward ≈ 3× the forward; plus Adam's dense update (~12 FLOP per parameter, the atlas texels
 * dominate). Element-wise loss terms are left out (a few FLOP per point).
 */
import { pyramidLevels, type AtlasConfig } from '../video/atlas/atlasConfig';

function mlpFlopsPerPoint(input: number, hidden: number, hiddenLayers: number, output: number): number {
  const sizes = [input, ...Array<number>(hiddenLayers).fill(hidden), output];
  let flops = 0;
  for (let k = 1; k < sizes.length; k++) flops += 2 * sizes[k - 1] * sizes[k];
  return flops;
}

export interface IterationFlops {
  /** Points each mapping is evaluated at. */
  mappingPoints: number;
  alphaPoints: number;
  forward: number;
  forwardBackward: number;
  adam: number;
  total: number;
}

/** The estimate for an iteration during the bootstrap (global rigidity on) or after it. */
export function atlasIterationFlops(c: AtlasConfig, bootstrap: boolean, withFlows = true): IterationFlops {
  const m = withFlows ? c.flowBatch : 0;
  // The batch, the rigidity points shifted along x and y (1 px, and the global step while bootstrapping), the flow
  // targets forward and backward.
  const mappingPoints = c.batch + 2 * c.rigidityBatch + (bootstrap ? 2 * c.rigidityBatch : 0) + 2 * m;
  const layers = c.backgroundOnly ? 1 : 2;
  const mapping = mlpFlopsPerPoint(3, c.mappingWidth, c.hiddenLayers, 2);
  const alphaPoints = c.backgroundOnly ? 0 : c.batch + 2 * m;
  const encoded = 3 * (1 + 2 * c.alphaOctaves);
  const alpha = mlpFlopsPerPoint(encoded, c.alphaWidth, c.hiddenLayers, 1) + 4 * encoded;
  const lookup = (top: number) => pyramidLevels(top).length * 4 * 3 * 2;
  const lookups = c.batch * (lookup(c.backgroundResolution) + (c.backgroundOnly ? 0 : lookup(c.foregroundResolution)));
  const forward = layers * mappingPoints * mapping + alphaPoints * alpha + lookups;
  const texels = (top: number) => pyramidLevels(top).reduce((s, r) => s + 3 * r * r, 0);
  const mlpParams =
    layers * (mapping / 2) + (c.backgroundOnly ? 0 : mlpFlopsPerPoint(encoded, c.alphaWidth, c.hiddenLayers, 1) / 2);
  const params = texels(c.backgroundResolution) + (c.backgroundOnly ? 0 : texels(c.foregroundResolution)) + mlpParams;
  const adam = 12 * params;
  return { mappingPoints, alphaPoints, forward, forwardBackward: 3 * forward, adam, total: 3 * forward + adam };
}
