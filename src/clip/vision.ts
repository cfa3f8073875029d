/**
 * CLIP's ViT vision tower on our engine (spec §A.6.1): patch embedding (stride = kernel conv as
 * patchify + GEMM, floor of the grid), class token, positional table (bicubic-interpolated with the
 * reference's transposed quirk for other grids, §A.6.3), pre-LN, pre-norm attention blocks with
 * QuickGELU MLPs, post-LN on the class token and the projection. A batch of same-size views runs in
 * one pass; the weights are frozen (no gradients), gradients flow to the pixels.
 */
import type { Engine } from '../gpu/engine';
import { EngineError, shapeStr } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import { quickGelu } from '../ops/activation_gelu';
import { positionTableFor } from '../ops/bicubic';
import { add } from '../ops/elementwise';
import { layerNorm } from '../ops/layernorm';
import { linear, matmul } from '../ops/matmul';
import { patchify } from '../ops/patchify';
import { concat, narrow, reshape, transpose } from '../ops/shape';
import { softmax } from '../ops/softmax';
import type { LayerNormWeights, LinearWeights, VisionConfig, VisionWeights, WeightTensor } from './visionWeights';

interface GpuLinear {
  weight: Tensor;
  bias: Tensor | null;
}

interface GpuLayerNorm {
  weight: Tensor;
  bias: Tensor;
  eps: number;
}

interface GpuBlock {
  ln1: GpuLayerNorm;
  q: GpuLinear;
  k: GpuLinear;
  v: GpuLinear;
  out: GpuLinear;
  ln2: GpuLayerNorm;
  fc1: GpuLinear;
  fc2: GpuLinear;
}

export interface VisionForwardOptions {
  /** Also return the residual stream after this many blocks ([B, N, D]); the structure loss uses layers − 1. */
  tokensAfterBlocks?: number;
  /** Stop after the requested tokens (no embedding): saves the remaining blocks. */
  tokensOnly?: boolean;
  /** Block indices whose attention probabilities [B, heads, N, N] are returned (relevancy maps). */
  attentionOf?: readonly number[];
}

export interface VisionOutput {
  /** [B, projection_dim], unnormalized (null with tokensOnly). */
  embeds: Tensor | null;
  tokens: Tensor | null;
  attention: Map<number, Tensor>;
  /** Token grid of this input: hp × wp patches. */
  grid: { hp: number; wp: number };
}

export class ClipVisionTower {
  private readonly patchWeight: Tensor;
  private readonly preLn: GpuLayerNorm;
  private readonly blocks: GpuBlock[];
  private readonly postLn: GpuLayerNorm;
  private readonly projection: Tensor;
  private readonly classEmbedding: Float32Array;
  private readonly positionTable: Float32Array;
  /** Per (batch, hp, wp, square): the constant [B, N, D] added to the tokens (class + positions). */
  private readonly offsets = new Map<string, Tensor>();
  private readonly owned: Tensor[] = [];

  constructor(
    readonly engine: Engine,
    readonly weights: VisionWeights,
  ) {
    const c = weights.config;
    const upload = (w: WeightTensor, shape = w.shape): Tensor => {
      const t = engine.fromArray(shape, w.data, 'clip-weight').keep();
      this.owned.push(t);
      return t;
    };
    const lin = (l: LinearWeights): GpuLinear => ({ weight: upload(l.weight), bias: upload(l.bias) });
    const ln = (l: LayerNormWeights): GpuLayerNorm => ({ weight: upload(l.weight), bias: upload(l.bias), eps: l.eps });
    const p = c.patchSize;
    this.patchWeight = upload(weights.patchEmbedding, [c.hiddenSize, c.numChannels * p * p]);
    this.preLn = ln(weights.preLayerNorm);
    this.blocks = weights.layers.map((l) => ({
      ln1: ln(l.layerNorm1),
      q: lin(l.qProj),
      k: lin(l.kProj),
      v: lin(l.vProj),
      out: lin(l.outProj),
      ln2: ln(l.layerNorm2),
      fc1: lin(l.fc1),
      fc2: lin(l.fc2),
    }));
    this.postLn = ln(weights.postLayerNorm);
    this.projection = upload(weights.visualProjection);
    this.classEmbedding = weights.classEmbedding.data;
    this.positionTable = weights.positionEmbedding.data;
  }

  get config(): VisionConfig {
    return this.weights.config;
  }

  /** Side of the square positional grid the model was trained with (7 for ViT-B/32 at 224). */
  get grid(): number {
    return Math.round(Math.sqrt(this.positionTable.length / this.config.hiddenSize - 1));
  }

  /** The [1 + hp·wp, D] positional table for a grid (spec §A.6.3, transposed for non-square inputs). */
  positionsFor(hp: number, wp: number, square: boolean): Float32Array {
    return positionTableFor(this.positionTable, this.grid, hp, wp, this.config.hiddenSize, square);
  }

  private offsetsFor(batch: number, hp: number, wp: number, square: boolean): Tensor {
    const key = `${batch}:${hp}:${wp}:${square}`;
    let t = this.offsets.get(key);
    if (t) return t;
    const d = this.config.hiddenSize;
    const pos = this.positionsFor(hp, wp, square);
    const one = pos.slice();
    for (let i = 0; i < d; i++) one[i] += this.classEmbedding[i];
    const data = new Float32Array(batch * one.length);
    for (let b = 0; b < batch; b++) data.set(one, b * one.length);
    t = this.engine.fromArray([batch, 1 + hp * wp, d], data, 'clip-offsets').keep();
    this.offsets.set(key, t);
    return t;
  }

  /** pixels: normalized images [B, 3, H, W] with H, W ≥ patch size. */
  forward(pixels: Tensor, opts: VisionForwardOptions = {}): VisionOutput {
    const c = this.config;
    const op = 'ClipVisionTower';
    if (pixels.shape.length !== 4 || pixels.shape[1] !== c.numChannels) {
      throw new EngineError(op, `pixels must be [B,${c.numChannels},H,W], got ${shapeStr(pixels.shape)}`);
    }
    const [batch, , h, w] = pixels.shape;
    const hp = Math.floor(h / c.patchSize);
    const wp = Math.floor(w / c.patchSize);
    if (hp < 1 || wp < 1) {
      throw new EngineError(op, `image ${w}×${h} is smaller than one ${c.patchSize}-px patch`);
    }
    const stopAt = opts.tokensAfterBlocks;
    if (stopAt !== undefined && (stopAt < 0 || stopAt > this.blocks.length)) {
      throw new EngineError(op, `tokensAfterBlocks must be in [0, ${this.blocks.length}], got ${stopAt}`);
    }
    const d = c.hiddenSize;
    const heads = c.numAttentionHeads;
    const hd = d / heads;
    const n = 1 + hp * wp;

    // Patch tokens, with a zero row in front where the class token goes; then class + positions.
    const patches = linear(patchify(pixels, c.patchSize), this.patchWeight, null);
    const zeroRow = this.engine.zeros([batch, 1, d], 'clip-class-slot');
    let x = add(concat([zeroRow, patches], 1), this.offsetsFor(batch, hp, wp, h === w));
    x = layerNorm(x, this.preLn.weight, this.preLn.bias, this.preLn.eps);

    const attention = new Map<number, Tensor>();
    let tokens: Tensor | null = stopAt === 0 ? x : null;
    const last = opts.tokensOnly && stopAt !== undefined ? stopAt : this.blocks.length;
    const splitHeads = (t: Tensor) => transpose(reshape(t, [batch, n, heads, hd]), [0, 2, 1, 3]);
    for (let i = 0; i < last; i++) {
      const b = this.blocks[i];
      const hN = layerNorm(x, b.ln1.weight, b.ln1.bias, b.ln1.eps);
      const q = splitHeads(linear(hN, b.q.weight, b.q.bias));
      const k = splitHeads(linear(hN, b.k.weight, b.k.bias));
      const v = splitHeads(linear(hN, b.v.weight, b.v.bias));
      const probs = softmax(matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(hd) }));
      if (opts.attentionOf?.includes(i)) attention.set(i, probs);
      const ctx = reshape(transpose(matmul(probs, v), [0, 2, 1, 3]), [batch, n, d]);
      x = add(x, linear(ctx, b.out.weight, b.out.bias));
      const m = layerNorm(x, b.ln2.weight, b.ln2.bias, b.ln2.eps);
      x = add(x, linear(quickGelu(linear(m, b.fc1.weight, b.fc1.bias)), b.fc2.weight, b.fc2.bias));
      if (stopAt === i + 1) tokens = x;
    }
    if (opts.tokensOnly && stopAt !== undefined) return { embeds: null, tokens, attention, grid: { hp, wp } };

    const cls = reshape(narrow(x, 1, 0, 1), [batch, d]);
    const pooled = layerNorm(cls, this.postLn.weight, this.postLn.bias, this.postLn.eps);
    const embeds = linear(pooled, this.projection, null);
    return { embeds, tokens, attention, grid: { hp, wp } };
  }

  dispose(): void {
    for (const t of this.owned) t.release();
    for (const t of this.offsets.values()) t.release();
    this.offsets.clear();
  }
}
