/**
 * A small MLP for point batches ([N, in] → [N, out]): linear layers with ReLU between them and none after the
 * last, initialised as PyTorch's nn.Linear does (U(±1/√in) for weights and biases). `lastScale` shrinks the last
 * layer: the mappings start as their residual's identity (VIDEO_ATLAS.md: a ~zero last layer instead of NLA's
 * identity pre-training).
 */
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { createParameter, type Parameter } from '../../nn/parameter';
import type { Rng } from '../../nn/rng';
import { leakyRelu } from '../../ops/activation';
import { linear } from '../../ops/matmul';

export interface MlpShape {
  input: number;
  hidden: number;
  hiddenLayers: number;
  output: number;
}

export class Mlp {
  private constructor(
    readonly name: string,
    readonly layers: ReadonlyArray<{ weight: Parameter; bias: Parameter }>,
  ) {}

  static create(engine: Engine, name: string, shape: MlpShape, rng: Rng, lastScale = 1): Mlp {
    const sizes = [shape.input, ...Array<number>(shape.hiddenLayers).fill(shape.hidden), shape.output];
    const layers = sizes.slice(1).map((out, k) => {
      const inp = sizes[k];
      const bound = (1 / Math.sqrt(inp)) * (k === sizes.length - 2 ? lastScale : 1);
      const weight = createParameter(engine, `${name}.${k}.weight`, [out, inp], rng.fill(out * inp, -bound, bound));
      const bias = createParameter(engine, `${name}.${k}.bias`, [out], rng.fill(out, -bound, bound));
      return { weight, bias };
    });
    return new Mlp(name, layers);
  }

  get params(): Parameter[] {
    return this.layers.flatMap((l) => [l.weight, l.bias]);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((l, k) => {
      h = linear(h, l.weight.value, l.bias.value);
      if (k < this.layers.length - 1) h = leakyRelu(h, 0);
    });
    return h;
  }

  dispose(): void {
    for (const p of this.params) p.value.release();
  }
}
