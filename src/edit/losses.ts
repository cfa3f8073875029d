/**
 * The Text2LIVE losses (spec §A.8, §A.9), computed term by term and view-chunk by view-chunk so the
 * peak memory of the CLIP passes stays bounded: every CLIP term is a mean of independent per-view
 * terms, so each chunk runs its own small tape on a detached copy of the image it judges, and only
 * the gradients with respect to the composites, green-screen composites and alphas are accumulated.
 * One backward through the renders and the generator then finishes the step (Tape.backwardMany).
 */
import { relevancyTensors } from '../clip/relevancy';
import type { ClipVisionTower } from '../clip/vision';
import type { Engine } from '../gpu/engine';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import type { Rng } from '../nn/rng';
import { sigmoid } from '../ops/activation';
import { cosineSimilarityRows, sphericalDistance } from '../ops/clipLoss';
import { add, affine, sub } from '../ops/elementwise';
import { concat } from '../ops/shape';
import { mse } from '../ops/loss';
import { normalizeImage, CLIP_MEAN, CLIP_STD } from '../ops/normalize';
import { mean } from '../ops/reduce';
import { cropResize, resizeShortSide, type CropBox } from '../ops/resize';
import { cosineSelfSimilarity } from '../ops/similarity';
import { clipViews, resizeForStructure, sampleViewParams, type ViewOptions, type ViewParams } from './clipViews';
import type { EditConfig } from './config';
import type { LossTerms } from './jobTypes';
import { directionCount, directionTargets, sampleIndices, stackRows, type TextTargets } from './targets';

/**
 * CLIP-side image sizes for a model's native resolution: the reference's Resize(224, max 320) views,
 * Resize(224, max 380) structure input and 224² relevancy input for ViT-B/32 at 224, scaled for other
 * models (the tiny test model runs at 56).
 */
export function clipViewSizes(imageSize: number): { view: number; viewMax: number; structureMax: number } {
  const scale = imageSize / 224;
  return { view: imageSize, viewMax: Math.round(320 * scale), structureMax: Math.round(380 * scale) };
}

/** One generator pass of a step: the crop, or the full image on full-image steps. */
export interface LossItem {
  /** The generator's input [1,3,h,w] (constant). */
  input: Tensor;
  /** (1−α)·input + α·C, [1,3,h,w]. */
  composite: Tensor;
  /** α·C + (1−α)·green, [1,3,h,w]. */
  greenscreen: Tensor;
  /** α, [1,1,h,w]. */
  alpha: Tensor;
}

/**
 * The random draws of one step's loss terms: view parameters (§A.7), target-row indices (§A.6.4) and the bootstrap
 * crop (§A.9). drawStep asks, once per step, for the composition rows, the direction pairs, the screen rows and the
 * bootstrap crop; computeLosses then asks per item for the composition views, the direction views of the output and
 * of the input, and the screen views (a term whose weight is 0 is not computed and draws nothing).
 */
export interface LossDraws {
  views(n: number, h: number, w: number, opts: ViewOptions): ViewParams[];
  /** Indices into a target set of `count` rows. */
  indices(count: number): number[];
  /** A crop of an h×w image covering `minCover`..1 of each side (the reference's RandomSizeCrop, minCover < 1). */
  crop(h: number, w: number, minCover: number): CropBox;
}

/** RandomSizeCrop(min_cover): s ~ U(minCover, 1), size (int(h·s), int(w·s)) at a uniform integer offset. */
export function sampleCoverCrop(rng: Rng, h: number, w: number, minCover: number): CropBox {
  const s = rng.uniform(minCover, 1);
  const height = Math.max(1, Math.trunc(h * s));
  const width = Math.max(1, Math.trunc(w * s));
  return { top: rng.int(0, h - height), left: rng.int(0, w - width), height, width };
}

/** The reference's draws from the job's random stream. */
export function randomDraws(rng: Rng): LossDraws {
  return {
    views: (n, h, w, opts) => sampleViewParams(rng, n, h, w, opts),
    indices: (count) => sampleIndices(rng, count),
    crop: (h, w, minCover) => sampleCoverCrop(rng, h, w, minCover),
  };
}

/** Draws recorded in advance for replayDraws, each list in call order. */
export interface RecordedDraws {
  views: readonly ViewParams[][];
  indices: readonly number[][];
  crops?: readonly CropBox[];
}

/**
 * Draws fixed in advance, handed out in call order (for oracles and reproductions); each request
 * must match what was recorded (view count and size, index range, crop inside the image).
 */
export function replayDraws({ views, indices, crops = [] }: RecordedDraws): LossDraws {
  let v = 0;
  let i = 0;
  let c = 0;
  return {
    views(n, h, w, opts) {
      const next = views[v++];
      if (!next) throw new Error(`replayDraws: no view draw #${v - 1}`);
      const [hv, wv] = resizeShortSide(h, w, opts.size ?? 224, opts.maxSize ?? 320);
      if (next.length !== n || next.some((p) => p.viewH !== hv || p.viewW !== wv)) {
        throw new Error(
          `replayDraws: view draw #${v - 1} has ${next.length} views of ${next[0]?.viewH}×${next[0]?.viewW}, asked for ${n} of ${hv}×${wv}`,
        );
      }
      return next;
    },
    indices(count) {
      const next = indices[i++];
      if (!next) throw new Error(`replayDraws: no index draw #${i - 1}`);
      if (next.some((k) => !Number.isInteger(k) || k < 0 || k >= count)) {
        throw new Error(`replayDraws: index draw #${i - 1} (${next.join(',')}) is outside [0, ${count})`);
      }
      return next;
    },
    crop(h, w, minCover) {
      const next = crops[c++];
      if (!next) throw new Error(`replayDraws: no crop draw #${c - 1}`);
      const fits = next.top >= 0 && next.left >= 0 && next.top + next.height <= h && next.left + next.width <= w;
      if (!fits || next.height < Math.trunc(h * minCover) || next.width < Math.trunc(w * minCover)) {
        throw new Error(
          `replayDraws: crop draw #${c - 1} (${next.height}×${next.width} at ${next.top},${next.left}) does not cover ${minCover} of ${h}×${w}`,
        );
      }
      return next;
    },
  };
}

export interface LossContext {
  engine: Engine;
  vision: ClipVisionTower;
  config: EditConfig;
  targets: TextTargets;
  rng: Rng;
  /** Where views and target rows come from; default: randomDraws(rng). */
  draws?: LossDraws;
  /** Views per CLIP pass (memory bound); the result does not depend on it. */
  viewChunk: number;
}

/** Order of the values in LossResult.values. */
export const LOSS_VALUE_ORDER = [
  'composition',
  'direction',
  'screen',
  'structure',
  'sparsityL0',
  'sparsityL1',
  'bootstrap',
] as const satisfies ReadonlyArray<keyof LossTerms>;

export interface LossResult {
  /** Gradients of the weighted total with respect to each item's composite, greenscreen and alpha. */
  seeds: Array<{ output: Tensor; grad: Tensor }>;
  /** The unweighted terms in LOSS_VALUE_ORDER, [7] on the GPU (read once per step by the job); 0 for a term of weight 0. */
  values: Tensor;
  /** Weight of each term in the total, in LOSS_VALUE_ORDER. */
  weights: number[];
}

/** Bootstrap weight at a step (spec §A.8 item 7). */
export function bootstrapWeight(config: EditConfig, step: number): number {
  if (config.bootstrapEpoch <= 0 || step >= config.bootstrapEpoch) return 0;
  switch (config.bootstrapScheduler) {
    case 'linear':
      return Math.max(config.lambdaBootstrapMin, config.lambdaBootstrap * (1 - (step + 1) / config.bootstrapEpoch));
    case 'exponential':
      return Math.max(config.lambdaBootstrapMin, config.lambdaBootstrap * 0.99 ** (step + 1));
    case 'none':
      return config.lambdaBootstrap;
    default:
      throw new Error(`unknown bootstrapScheduler ${String(config.bootstrapScheduler)}`);
  }
}

/**
 * What the reference draws once per loss call, that is once per step, and shares across the step's items (the
 * crop, and the full image on full-image steps): the target rows of each CLIP term (spec §A.6.4; §A.8: one j for
 * every k, divided by K·n) and the bootstrap crop. null: the term is off at this step (it draws nothing).
 */
export interface StepDraws {
  /** Rows of E_comp for the composition term. */
  comp: number[] | null;
  /** Indices i of the direction pairs E_comp[i] − E_src[i]. */
  direction: number[] | null;
  /** Rows of E_screen for the screen term. */
  screen: number[] | null;
  /**
   * The region of the last item that the bootstrap term compares with the relevancy map (RandomSizeCrop with
   * bootstrapping_min_cover, applied to alpha and input alike); null: the whole item (min cover 1, or no bootstrap).
   */
  bootstrapCrop: CropBox | null;
}

/** Whether the bootstrap term is on at a step: a region-of-interest text and a non-zero weight. */
export function bootstrapActive(ctx: Pick<LossContext, 'config' | 'targets'>, step: number): boolean {
  return ctx.targets.bootstrap !== null && bootstrapWeight(ctx.config, step) !== 0;
}

/**
 * A step's shared draws. `last` is the [h, w] of the step's last item (the one the bootstrap term judges, quirk
 * §A.9). The reference draws a bootstrap crop for every item and keeps the last one's; only that one is drawn here.
 */
export function drawStep(ctx: LossContext, step: number, last: readonly [number, number]): StepDraws {
  const { config, targets } = ctx;
  const draws = ctx.draws ?? randomDraws(ctx.rng);
  const comp = config.lambdaComposition !== 0 ? draws.indices(targets.comp.length) : null;
  const direction = config.lambdaComposition !== 0 ? draws.indices(directionCount(targets)) : null;
  const screen = config.lambdaScreen !== 0 ? draws.indices(targets.screen.length) : null;
  const bootstrapCrop =
    bootstrapActive(ctx, step) && config.bootstrappingMinCover < 1
      ? draws.crop(last[0], last[1], config.bootstrappingMinCover)
      : null;
  return { comp, direction, screen, bootstrapCrop };
}

/** One step's inputs to computeLosses beyond its items. */
export interface StepPlan {
  step: number;
  draws: StepDraws;
  /**
   * The bootstrap target for the step's last item ([1,1,S,S], from relevancyTarget with draws.bootstrapCrop), or
   * null when bootstrapping is off at this step.
   */
  relevancy: Tensor | null;
}

/** Total loss from unweighted values and weights (what the job reports as `total`). */
export function weightedTotal(values: ArrayLike<number>, weights: readonly number[]): number {
  let t = 0;
  for (let i = 0; i < weights.length; i++) t += weights[i] * values[i];
  return t;
}

/** A leaf copy of a tensor that takes gradients, outside any tape. */
function detachedLeaf(engine: Engine, t: Tensor): Tensor {
  const leaf = engine.empty(t.shape, 'loss-leaf');
  engine.copy(t, leaf, t.byteSize);
  leaf.requiresGrad = true;
  return leaf;
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Runs `lossOf` on a detached copy of `image` (with its own tape) and returns the gradient of
 * weight·loss with respect to the image and the unweighted loss, both as new tensors.
 */
function termGradient(engine: Engine, image: Tensor, weight: number, lossOf: (leaf: Tensor) => Tensor) {
  return engine.tidy(() => {
    const leaf = detachedLeaf(engine, image);
    const tape = Tape.start(engine);
    const loss = lossOf(leaf);
    tape.backward(loss, engine.fromArray([1], [weight], 'loss-weight'));
    return { grad: leaf.grad!, value: loss };
  });
}

/** Accumulates a + b into a new tensor and releases a (b is left to its scope). */
function accumulate(acc: Tensor | null, b: Tensor): Tensor {
  if (!acc) return b;
  const sum = acc.engine.noGrad(() => add(acc, b));
  acc.release();
  b.release();
  return sum;
}

/** Which of a step's items a computeLosses call handles: items first..first+items.length−1 of `count`. */
export interface ItemRange {
  first: number;
  count: number;
}

/**
 * All loss terms of one step, or of some of its items (`range`: the step can run item by item, so that only
 * one generator pass is held at a time; the terms are sums over the items, so the parts add up to the whole, and
 * every part uses the step's shared draws in `plan`).
 */
export function computeLosses(
  ctx: LossContext,
  items: readonly LossItem[],
  plan: StepPlan,
  range: ItemRange = { first: 0, count: items.length },
): LossResult {
  const { engine, vision, config, targets } = ctx;
  const draws = ctx.draws ?? randomDraws(ctx.rng);
  const K = range.count;
  const nAug = config.nAug;
  const fill = config.clipAffineTransformFill;
  const { relevancy, draws: shared } = plan;
  const lambdaBoot = relevancy ? bootstrapWeight(config, plan.step) : 0;
  const rowsOf = (set: Float32Array[], indices: number[] | null, term: string) => {
    if (!indices) throw new Error(`computeLosses: the step drew no target rows for the ${term} term`);
    return indices.map((i) => set[i]);
  };
  const weights = [
    config.lambdaComposition,
    config.lambdaComposition,
    config.lambdaScreen,
    config.lambdaStructure,
    config.lambdaSparsity * config.lambdaAlphaL0,
    config.lambdaSparsity * config.lambdaAlphaL1,
    lambdaBoot,
  ];
  const termValues: Array<Tensor | null> = LOSS_VALUE_ORDER.map(() => null);
  const addValue = (index: number, v: Tensor) => {
    termValues[index] = accumulate(termValues[index], v);
  };
  const sizes = clipViewSizes(vision.config.imageSize);
  const viewOpts = { fill, size: sizes.view, maxSize: sizes.viewMax };
  const viewsOf = (image: Tensor, params: ViewParams[]) => clipViews(image, params, sizes.viewMax, fill, sizes.view);
  const embedsOf = (views: Tensor) => vision.forward(views).embeds!;
  const targetTensor = (rows: Float32Array[]) =>
    engine.fromArray([rows.length, rows[0].length], stackRows(rows), 'targets');

  const seeds: Array<{ output: Tensor; grad: Tensor }> = [];
  items.forEach((item, i) => {
    const k = range.first + i;
    const [, , h, w] = item.input.shape;
    let gComposite: Tensor | null = null;
    let gScreen: Tensor | null = null;
    let gAlpha: Tensor | null = null;

    // 1. Composition: spherical distance of the composite's views to sampled comp texts.
    if (weights[0] !== 0) {
      const params = draws.views(nAug, h, w, viewOpts);
      const rows = rowsOf(targets.comp, shared.comp, 'composition');
      for (const chunk of chunks(params, ctx.viewChunk)) {
        const share = chunk.length / (nAug * K);
        const { grad, value } = termGradient(engine, item.composite, weights[0], (leaf) =>
          affine(mean(sphericalDistance(embedsOf(viewsOf(leaf, chunk)), targetTensor(rows))), share),
        );
        gComposite = accumulate(gComposite, grad);
        addValue(0, value);
      }
    }
    // 2. Direction: 1 − cos(E(O) − E(I), e_comp − e_src), independent augmentations of O and I.
    if (weights[1] !== 0) {
      const paramsOut = draws.views(nAug, h, w, viewOpts);
      const paramsIn = draws.views(nAug, h, w, viewOpts);
      if (!shared.direction) throw new Error('computeLosses: the step drew no direction pairs');
      const dirs = directionTargets(targets, shared.direction);
      const outChunks = chunks(paramsOut, ctx.viewChunk);
      const inChunks = chunks(paramsIn, ctx.viewChunk);
      outChunks.forEach((chunk, c) => {
        const share = chunk.length / (nAug * K);
        const { grad, value } = termGradient(engine, item.composite, weights[1], (leaf) => {
          // Its own scope: only the embeddings outlive the input's forward pass.
          const inputEmbeds = engine.tidy(() => engine.noGrad(() => embedsOf(viewsOf(item.input, inChunks[c]))));
          const delta = sub(embedsOf(viewsOf(leaf, chunk)), inputEmbeds);
          const cos = mean(cosineSimilarityRows(delta, targetTensor(dirs), 1e-8));
          return affine(cos, -share, share);
        });
        gComposite = accumulate(gComposite, grad);
        addValue(1, value);
      });
    }
    // 3. Screen: the edit over a green screen against the screen texts.
    if (weights[2] !== 0) {
      const params = draws.views(nAug, h, w, viewOpts);
      const rows = rowsOf(targets.screen, shared.screen, 'screen');
      for (const chunk of chunks(params, ctx.viewChunk)) {
        const share = chunk.length / (nAug * K);
        const { grad, value } = termGradient(engine, item.greenscreen, weights[2], (leaf) =>
          affine(mean(sphericalDistance(embedsOf(viewsOf(leaf, chunk)), targetTensor(rows))), share),
        );
        gScreen = accumulate(gScreen, grad);
        addValue(2, value);
      }
    }
    // 4. Structure: self-similarity of the tokens after all but the last block, vs the input's.
    if (weights[3] !== 0) {
      const layers = vision.config.numHiddenLayers;
      const tokensOf = (image: Tensor) =>
        vision.forward(resizeForStructure(image, sizes.view, sizes.structureMax), {
          tokensAfterBlocks: layers - 1,
          tokensOnly: true,
        }).tokens!;
      const { grad, value } = termGradient(engine, item.composite, weights[3], (leaf) => {
        const reference = engine.tidy(() => engine.noGrad(() => cosineSelfSimilarity(tokensOf(item.input))));
        return affine(mse(cosineSelfSimilarity(tokensOf(leaf)), reference), 1 / K);
      });
      gComposite = accumulate(gComposite, grad);
      addValue(3, value);
    }
    // 5. Sparsity: L0 ≈ mean(2σ(5α) − 1) and L1 = mean(α).
    if (weights[4] !== 0) {
      const l0 = termGradient(engine, item.alpha, weights[4], (leaf) =>
        affine(mean(affine(sigmoid(affine(leaf, 5)), 2, -1)), 1 / K),
      );
      gAlpha = accumulate(gAlpha, l0.grad);
      addValue(4, l0.value);
    }
    if (weights[5] !== 0) {
      const l1 = termGradient(engine, item.alpha, weights[5], (leaf) => affine(mean(leaf), 1 / K));
      gAlpha = accumulate(gAlpha, l1.grad);
      addValue(5, l1.value);
    }
    // 6. Bootstrap (quirk: only the last item counts, at weight 1/K), against a precomputed relevancy map of the
    //    same region of the input (the whole item, or the step's bootstrap crop), both resized to S×S.
    if (k === K - 1 && relevancy && weights[6] !== 0) {
      const size = relevancy.shape[2];
      const region = shared.bootstrapCrop ?? { top: 0, left: 0, height: h, width: w };
      const { grad, value } = termGradient(engine, item.alpha, weights[6], (leaf) =>
        affine(mse(cropResize(leaf, [region], size, size), relevancy), 1 / K),
      );
      gAlpha = accumulate(gAlpha, grad);
      addValue(6, value);
    }
    // An output no term reached (all its terms weigh 0) seeds nothing.
    for (const [output, grad] of [
      [item.composite, gComposite],
      [item.greenscreen, gScreen],
      [item.alpha, gAlpha],
    ] as const) {
      if (grad) seeds.push({ output, grad });
    }
  });
  const values = engine.noGrad(() =>
    concat(
      termValues.map((v) => v ?? engine.zeros([1], 'loss-zero')),
      0,
    ),
  );
  for (const v of termValues) v?.release();
  return { seeds, values, weights };
}

/**
 * How many of the last attention blocks the relevancy uses: those with index > relevancyNumLayers (spec §A.9; all
 * of them for −1). A value that leaves none (depth − 1 or more: the reference's 0/0 map) is an error.
 */
export function relevancyBlocks(layers: number, relevancyNumLayers: number): number {
  const blocks = Math.min(layers, layers - 1 - relevancyNumLayers);
  if (blocks < 1) {
    throw new Error(
      `relevancyNumLayers (relevancy_num_layers) is ${relevancyNumLayers}, but this CLIP model has ${layers} attention ` +
        `blocks (0..${layers - 1}): the relevancy map uses the blocks after that index, so none would be left. ` +
        `Use at most ${layers - 2} (the reference uses the last block only: ${layers - 2}).`,
    );
  }
  return blocks;
}

/**
 * The bootstrap target (spec §A.8 item 6, §A.9): the relevancy map, for the region-of-interest text,
 * of the input (or of the step's bootstrap crop of it) resized to the model's size (224² for ViT-B/32; bilinear,
 * no antialias, aspect not kept). It depends only on the constant input, so it runs before the step (on the GPU,
 * nothing is read back) and can be cached for the full image when there is no crop. Returns [1,1,S,S], owned by
 * the caller.
 */
export function relevancyTarget(ctx: LossContext, input: Tensor, crop: CropBox | null = null): Tensor {
  const { engine, vision, targets } = ctx;
  if (!targets.bootstrap) throw new Error('relevancyTarget: no bootstrap text');
  const size = vision.config.imageSize;
  const [, , h, w] = input.shape;
  const region = crop ?? { top: 0, left: 0, height: h, width: w };
  const pixels = engine.tidy(() =>
    engine.noGrad(() => normalizeImage(cropResize(input, [region], size, size), CLIP_MEAN, CLIP_STD)),
  );
  const relevancy = relevancyTensors(vision, pixels, targets.bootstrap, {
    blocks: relevancyBlocks(vision.config.numHiddenLayers, ctx.config.relevancyNumLayers),
  });
  pixels.release();
  relevancy.grid.release();
  return relevancy.map;
}
