/**
 * The layered atlas (VIDEO_ATLAS.md §4, design A): two mappings from a frame point (x, y, t) to atlas coordinates,
 * residual around the identity (uv = S·(x, y) + MLP(x, y, t), the MLP's last layer ~0), an alpha MLP on a
 * positional encoding of (x, y, t), and two atlases that are sums of bilinearly sampled RGB textures 16², 32², …
 * (coarse levels give the mappings smooth gradients through the colour loss, fine levels carry detail). A frame
 * point's colour is α·A_f(uv_f) + (1 − α)·A_b(uv_b). In background-only mode there is no foreground and α = 0.
 */
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { createParameter, type Parameter } from '../../nn/parameter';
import { Rng } from '../../nn/rng';
import { sigmoid } from '../../ops/activation';
import { add, affine } from '../../ops/elementwise';
import { positionalEncoding } from '../../ops/positionalEncoding';
import { narrow, reshape } from '../../ops/shape';
import { texturePyramidSample } from '../../ops/texturePyramid';
import { pyramidLevels, type AtlasConfig } from './atlasConfig';
import { MAPPING_SCALE } from './coords';
import { Mlp } from './mlp';

/** α is kept in [ALPHA_MIN, 1 − ALPHA_MIN] (NLA clamps to [0.001, 0.999]; a smooth squash keeps gradients). */
export const ALPHA_MIN = 0.001;
/** The mappings' last layer starts this small (residual ≈ 0, i.e. the identity). */
const LAST_LAYER_SCALE = 1e-3;

export interface AtlasLayer {
  mapping: Mlp;
  /** [3, R, R] per level, coarsest first. */
  levels: Parameter[];
}

export class AtlasModel {
  private constructor(
    readonly config: AtlasConfig,
    readonly background: AtlasLayer,
    readonly foreground: AtlasLayer | null,
    readonly alpha: Mlp | null,
  ) {}

  static create(engine: Engine, config: AtlasConfig): AtlasModel {
    const rng = new Rng(config.seed);
    const mapping = (name: string) =>
      Mlp.create(
        engine,
        name,
        { input: 3, hidden: config.mappingWidth, hiddenLayers: config.hiddenLayers, output: 2 },
        rng,
        LAST_LAYER_SCALE,
      );
    // The atlas starts flat: grey for the background (the coarsest level carries it), black for the foreground.
    const levels = (name: string, top: number, fill: number) =>
      pyramidLevels(top).map((r, k) =>
        createParameter(engine, `${name}.level${r}`, [3, r, r], new Float32Array(3 * r * r).fill(k === 0 ? fill : 0)),
      );
    const background = {
      mapping: mapping('background.mapping'),
      levels: levels('background.atlas', config.backgroundResolution, 0.5),
    };
    if (config.backgroundOnly) return new AtlasModel(config, background, null, null);
    const foreground = {
      mapping: mapping('foreground.mapping'),
      levels: levels('foreground.atlas', config.foregroundResolution, 0),
    };
    const alpha = Mlp.create(
      engine,
      'alpha',
      {
        input: 3 * (1 + 2 * config.alphaOctaves),
        hidden: config.alphaWidth,
        hiddenLayers: config.hiddenLayers,
        output: 1,
      },
      rng,
    );
    return new AtlasModel(config, background, foreground, alpha);
  }

  /** The MLP weights (one learning rate) and the atlas texels (another). */
  get mlpParams(): Parameter[] {
    return [this.background.mapping, this.foreground?.mapping, this.alpha].flatMap((m) => m?.params ?? []);
  }

  get textureParams(): Parameter[] {
    return [...this.background.levels, ...(this.foreground?.levels ?? [])];
  }

  get params(): Parameter[] {
    return [...this.mlpParams, ...this.textureParams];
  }

  /** uv [N,2] of points [N,3] in a layer's atlas. */
  map(layer: AtlasLayer, points: Tensor): Tensor {
    return add(affine(narrow(points, 1, 0, 2), MAPPING_SCALE), layer.mapping.forward(points));
  }

  /** The layer's colours [N,3] at uv [N,2]. */
  colour(layer: AtlasLayer, uv: Tensor): Tensor {
    return texturePyramidSample(
      layer.levels.map((l) => l.value),
      uv,
    );
  }

  /** α [N] of points [N,3] (null in background-only mode). */
  alphaOf(points: Tensor): Tensor | null {
    if (!this.alpha) return null;
    const z = this.alpha.forward(positionalEncoding(points, this.config.alphaOctaves));
    return reshape(affine(sigmoid(z), 1 - 2 * ALPHA_MIN, ALPHA_MIN), [points.shape[0]]);
  }

  dispose(): void {
    for (const p of this.params) p.value.release();
  }
}
