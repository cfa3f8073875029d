/**
 * The Deep-Image-Prior "skip" generator as Text2LIVE builds it (spec §A.4): per level a 1×1 skip
 * branch and a stride-2 down branch, the nested deeper level, ×2 bilinear upsampling, BN on the
 * concatenation, a 3×3 and a 1×1 up conv; then a 1×1 head, the fixed colour-decorrelation matrix and
 * a sigmoid. BatchNorm always uses the statistics of the current input (the reference never switches
 * to eval mode). Parameter names are the checkpoint names (see tools/generator_oracle.py).
 */
import type { Engine } from '../gpu/engine';
import { EngineError, shapeStr } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import { leakyRelu, sigmoid } from '../ops/activation';
import { batchNormConv2d } from '../ops/bnConv';
import { colorMatrix, DECORR_RGB } from '../ops/color';
import { concatChannels } from '../ops/concat';
import { conv2d } from '../ops/conv';
import { batchNorm } from '../ops/norm';
import { upsample2x } from '../ops/resample';
import { createParameter, type Parameter } from './parameter';
import { Rng } from './rng';

export interface SkipGeneratorConfig {
  /** Number of levels (the reference: 7). */
  scales: number;
  /** Channels of the down branches (skip_n33d, 128). */
  down: number;
  /** Channels of the up branches (skip_n33u, 128). */
  up: number;
  /** Channels of the 1×1 skip branches (skip_n11, 4). */
  skip: number;
}

export const DEFAULT_SKIP_CONFIG: SkipGeneratorConfig = { scales: 7, down: 128, up: 128, skip: 4 };

const IN_CHANNELS = 3;
const OUT_CHANNELS = 4;
const SLOPE = 0.2;

interface ConvSpec {
  name: string;
  cin: number;
  cout: number;
  k: number;
}

/** Every convolution and BN of the network, in checkpoint order. */
function layout(cfg: SkipGeneratorConfig): { convs: ConvSpec[]; norms: Array<{ name: string; c: number }> } {
  const convs: ConvSpec[] = [];
  const norms: Array<{ name: string; c: number }> = [];
  for (let i = 0; i < cfg.scales; i++) {
    const d = i === 0 ? IN_CHANNELS : cfg.down;
    const deeper = i < cfg.scales - 1 ? cfg.up : cfg.down;
    const p = `levels.${i}`;
    convs.push({ name: `${p}.skip.conv`, cin: d, cout: cfg.skip, k: 1 });
    norms.push({ name: `${p}.skip.bn`, c: cfg.skip });
    convs.push({ name: `${p}.down1.conv`, cin: d, cout: cfg.down, k: 3 });
    norms.push({ name: `${p}.down1.bn`, c: cfg.down });
    convs.push({ name: `${p}.down2.conv`, cin: cfg.down, cout: cfg.down, k: 3 });
    norms.push({ name: `${p}.down2.bn`, c: cfg.down });
    norms.push({ name: `${p}.concat_bn`, c: cfg.skip + deeper });
    convs.push({ name: `${p}.up.conv`, cin: cfg.skip + deeper, cout: cfg.up, k: 3 });
    norms.push({ name: `${p}.up.bn`, c: cfg.up });
    convs.push({ name: `${p}.up1x1.conv`, cin: cfg.up, cout: cfg.up, k: 1 });
    if (i > 0) norms.push({ name: `${p}.up1x1.bn`, c: cfg.up });
  }
  convs.push({ name: 'head.conv', cin: cfg.up, cout: OUT_CHANNELS, k: 1 });
  return { convs, norms };
}

/** One parameter of the generator: its checkpoint name, shape and initialisation. */
export interface GeneratorParameterSpec {
  name: string;
  shape: number[];
  /** Convolutions: U(±1/√fanIn) for weight and bias; BN: γ filled with 1, β with 0. */
  init: { fanIn: number } | { fill: number };
}

/**
 * Every parameter the generator has, in checkpoint order, without a GPU: what `create` allocates, and what a saved
 * session must hold (checked before anything is allocated).
 */
export function generatorParameterSpecs(config: SkipGeneratorConfig): GeneratorParameterSpec[] {
  for (const [k, v] of Object.entries(config)) {
    if (!Number.isInteger(v) || v < 1)
      throw new EngineError('SkipGenerator', `config.${k} must be a positive integer, got ${v}`);
  }
  const { convs, norms } = layout(config);
  const specs: GeneratorParameterSpec[] = [];
  for (const c of convs) {
    const fanIn = c.cin * c.k * c.k;
    specs.push({ name: `${c.name}.weight`, shape: [c.cout, c.cin, c.k, c.k], init: { fanIn } });
    specs.push({ name: `${c.name}.bias`, shape: [c.cout], init: { fanIn } });
  }
  for (const n of norms) {
    specs.push({ name: `${n.name}.weight`, shape: [n.c], init: { fill: 1 } });
    specs.push({ name: `${n.name}.bias`, shape: [n.c], init: { fill: 0 } });
  }
  return specs;
}

/** Smallest input side the network accepts: the innermost 3×3 reflection pad needs ≥ 2 pixels. */
export function minInputSide(cfg: SkipGeneratorConfig): number {
  return 2 ** cfg.scales + 1;
}

/** Multiply-accumulates of one forward pass at h×w (convolutions only; everything else is < 1%). */
export function generatorMacs(cfg: SkipGeneratorConfig, h: number, w: number): number {
  let macs = 0;
  let hi = h;
  let wi = w;
  for (let i = 0; i < cfg.scales; i++) {
    const d = i === 0 ? IN_CHANNELS : cfg.down;
    const deeper = i < cfg.scales - 1 ? cfg.up : cfg.down;
    const hn = Math.ceil(hi / 2);
    const wn = Math.ceil(wi / 2);
    macs += hi * wi * d * cfg.skip; // skip 1×1
    macs += hn * wn * d * cfg.down * 9; // down1 stride 2
    macs += hn * wn * cfg.down * cfg.down * 9; // down2
    macs += hi * wi * (cfg.skip + deeper) * cfg.up * 9; // up 3×3
    macs += hi * wi * cfg.up * cfg.up; // up 1×1
    if (i === 0) macs += hi * wi * cfg.up * OUT_CHANNELS; // head
    hi = hn;
    wi = wn;
  }
  return macs;
}

export class SkipGenerator {
  private readonly byName: Map<string, Parameter>;

  private constructor(
    readonly engine: Engine,
    readonly config: SkipGeneratorConfig,
    readonly params: Parameter[],
  ) {
    this.byName = new Map(params.map((p) => [p.name, p]));
  }

  /** PyTorch-default initialisation (conv weight and bias ~ U(±1/√fan_in), BN γ = 1, β = 0) from a seeded RNG. */
  static create(engine: Engine, config: SkipGeneratorConfig = DEFAULT_SKIP_CONFIG, seed = 0): SkipGenerator {
    const specs = generatorParameterSpecs(config);
    const rng = new Rng(seed);
    const params = specs.map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      const bound = 'fanIn' in p.init ? 1 / Math.sqrt(p.init.fanIn) : 0;
      const data = 'fill' in p.init ? new Float32Array(n).fill(p.init.fill) : rng.fill(n, -bound, bound);
      return createParameter(engine, p.name, p.shape, data);
    });
    return new SkipGenerator(engine, config, params);
  }

  get parameterCount(): number {
    return this.params.reduce((n, p) => n + p.value.size, 0);
  }

  param(name: string): Tensor {
    const p = this.byName.get(name);
    if (!p) throw new Error(`SkipGenerator has no parameter ${name}`);
    return p.value;
  }

  /** x: [1, 3, H, W] in [0,1] → [1, 4, H, W] in (0,1): RGB edit colour and alpha. */
  forward(x: Tensor): Tensor {
    const min = minInputSide(this.config);
    if (x.shape.length !== 4 || x.shape[1] !== IN_CHANNELS) {
      throw new EngineError('SkipGenerator', `input must be [N,3,H,W], got ${shapeStr(x.shape)}`);
    }
    const [, , h, w] = x.shape;
    if (h < min || w < min) {
      throw new EngineError(
        'SkipGenerator',
        `input ${w}×${h} px is too small: with ${this.config.scales} scales both sides must be at least ${min} px`,
      );
    }
    // Intermediates the backward reads stay alive for the tape; the caller's scope (a training step's tidy)
    // releases them. The others go as soon as they are consumed (act(), the upsampled tensor).
    const z = this.level(0, x);
    const head = conv2d(z, this.param('head.conv.weight'), this.param('head.conv.bias'), { padding: 'none' });
    return sigmoid(colorMatrix(head, DECORR_RGB));
  }

  private convBnAct(x: Tensor, name: string, stride = 1, norm = true, act = true): Tensor {
    let y = conv2d(x, this.param(`${name}.conv.weight`), this.param(`${name}.conv.bias`), {
      stride,
      padding: 'reflect',
    });
    if (norm) y = this.bn(y, `${name}.bn`);
    return act ? this.act(y) : y;
  }

  /**
   * LeakyReLU, releasing its input at once: the input is a conv or BN output that nothing else reads, and the
   * activation's backward needs only its own output (conv backward reads its input, BN its input and statistics),
   * so the tape does not have to keep it. One activation-sized tensor less per layer.
   */
  private act(x: Tensor): Tensor {
    const y = leakyRelu(x, SLOPE);
    x.release();
    return y;
  }

  private bn(x: Tensor, name: string): Tensor {
    return batchNorm(x, this.param(`${name}.weight`), this.param(`${name}.bias`), 1e-5);
  }

  /**
   * conv2d(act?(bn(x))) as one fused unit (ops/bnConv.ts) that keeps only x for the backward, not the conv's
   * input: bit for bit `convBnAct`'s composition, one activation-sized tensor less held per use.
   */
  private bnConv(x: Tensor, bnName: string, convName: string, act: boolean): Tensor {
    return batchNormConv2d(
      x,
      this.param(`${bnName}.weight`),
      this.param(`${bnName}.bias`),
      this.param(`${convName}.conv.weight`),
      this.param(`${convName}.conv.bias`),
      { padding: 'reflect', eps: 1e-5, leakySlope: act ? SLOPE : undefined },
    );
  }

  private level(i: number, x: Tensor): Tensor {
    const p = `levels.${i}`;
    const [, , h, w] = x.shape;
    const s = this.convBnAct(x, `${p}.skip`);
    // down1's conv, then its BN and activation fused with down2's conv (down2's input is not kept).
    const d1 = this.convBnAct(x, `${p}.down1`, 2, false, false);
    let d = this.bn(this.bnConv(d1, `${p}.down1.bn`, `${p}.down2`, true), `${p}.down2.bn`);
    d = this.act(d);
    if (i < this.config.scales - 1) d = this.level(i + 1, d);
    const u = upsample2x(d, h, w);
    const cat = concatChannels([s, u]);
    // Neither the upsampling's nor the concatenation's backward reads the upsampled tensor.
    u.release();
    // concat_bn fused with the up conv, and the up BN + activation with the up 1×1 conv: of the five full-size
    // tensors the unfused chain would keep (cat, its BN output, the up conv output, its activation, the output),
    // three are kept (cat, the up conv output, the output).
    const y1 = this.bnConv(cat, `${p}.concat_bn`, `${p}.up`, false);
    let z = this.bnConv(y1, `${p}.up.bn`, `${p}.up1x1`, true);
    if (i > 0) z = this.bn(z, `${p}.up1x1.bn`);
    return this.act(z);
  }

  /** Releases the parameter tensors. */
  dispose(): void {
    for (const p of this.params) p.value.release();
  }
}
