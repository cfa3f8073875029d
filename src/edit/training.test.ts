/**
 * Optimisation through the whole stack, on the tiny CLIP and a real photo: the job trains, then fixed measurements
 * are compared before and after.
 *
 * - Every loss term at the reference weights, the relevancy bootstrap included, for 20 steps: the total loss
 *   falls. Single steps are noisy (each draws a new crop and new CLIP views, 2 per term), so besides the training
 *   losses the full image is scored before and after with one fixed set of draws (8 views per term, the same
 *   target rows, step 0's weights).
 * - The composition terms alone for 24 steps: the composite's CLIP embedding (no augmentation) moves toward the
 *   text, past the input photo's own similarity. (With the sparsity terms on, α shrinks and the composite returns
 *   toward the input, which says little about the CLIP path.)
 *
 * The tiny generator and the random-weight CLIP change slowly at the reference learning rate (2.5e-3); 1e-2 makes
 * these few steps show the trend (measured with a 3-scale generator: the similarity of the second run rose by
 * 0.03 in 24 steps at 2.5e-3, by 0.06 at 1e-2).
 */
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { createClipModel } from '../clip/clipModel';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import type { Engine } from '../gpu/engine';
import type { Tensor } from '../gpu/tensor';
import { Rng } from '../nn/rng';
import { CLIP_MEAN, CLIP_STD, normalizeImage } from '../ops/normalize';
import { resizeBilinear } from '../ops/resize';
import type { ClipVisionTower } from '../clip/vision';
import { tinyEditConfig, TINY_EDIT_PHOTO } from '../../test/tinyEdit';
import { validateConfig, type EditConfig } from './config';
import { toTensorData } from './image';
import { readImageFile } from './imageIO.node.js';
import { EditJob } from './job';
import type { EditRenders, RgbaImage } from './jobTypes';
import { computeLosses, drawStep, LOSS_VALUE_ORDER, randomDraws, relevancyTarget, weightedTotal } from './losses';
import { encodeTargets, type TextTargets } from './targets';

const SIZE = 40;
/** Each run takes 2–4 minutes on SwiftShader alone, up to twice that beside the other test files. */
const TRAINING_TIMEOUT_MS = 15 * 60_000;

const BASE = tinyEditConfig({ lr: 0.01, seed: 5 });

function tensorOf(engine: Engine, img: RgbaImage, channels: 1 | 3): Tensor {
  const data = toTensorData(img);
  return engine.fromArray(
    [1, channels, img.height, img.width],
    channels === 3 ? data : data.subarray(0, img.width * img.height),
  );
}

/** Cosine of two vectors. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

/** Mean cosine of the image's CLIP embedding (resized to the model's size, no augmentation) to the target rows. */
async function similarity(vision: ClipVisionTower, img: RgbaImage, rows: readonly Float32Array[]): Promise<number> {
  const engine = vision.engine;
  const size = vision.config.imageSize;
  const embeds = engine.tidy(() =>
    engine.noGrad(
      () =>
        vision.forward(normalizeImage(resizeBilinear(tensorOf(engine, img, 3), size, size), CLIP_MEAN, CLIP_STD))
          .embeds!,
    ),
  );
  const e = await embeds.read();
  embeds.release();
  return rows.reduce((s, r) => s + cosine(e, r), 0) / rows.length;
}

interface Score {
  total: number;
  terms: Record<(typeof LOSS_VALUE_ORDER)[number], number>;
  similarity: number;
}

/** The losses of the full image's renders under one fixed set of draws (step 0's weights), and the similarity. */
async function score(job: EditJob, vision: ClipVisionTower, targets: TextTargets, r: EditRenders): Promise<Score> {
  const engine = vision.engine;
  const ctx = {
    engine,
    vision,
    config: { ...job.config, nAug: 8 },
    targets,
    rng: new Rng(1),
    draws: randomDraws(new Rng(2024)),
    viewChunk: 8,
  };
  const input = tensorOf(engine, job.source, 3);
  const item = {
    input,
    composite: tensorOf(engine, r.composite, 3),
    greenscreen: tensorOf(engine, r.greenscreen, 3),
    alpha: tensorOf(engine, r.alpha, 1),
  };
  const draws = drawStep(ctx, 0, [input.shape[2], input.shape[3]]);
  const relevancy = targets.bootstrap ? relevancyTarget(ctx, input, draws.bootstrapCrop) : null;
  const losses = computeLosses(ctx, [item], { step: 0, draws, relevancy });
  const raw = await losses.values.read();
  for (const s of losses.seeds) s.grad.release();
  for (const t of [losses.values, ...Object.values(item)]) t.release();
  relevancy?.release();
  const terms = Object.fromEntries(LOSS_VALUE_ORDER.map((k, i) => [k, raw[i]])) as Score['terms'];
  return {
    total: weightedTotal(raw, losses.weights),
    terms,
    similarity: await similarity(vision, r.composite, targets.comp),
  };
}

interface Trained {
  job: EditJob;
  vision: ClipVisionTower;
  before: Score;
  after: Score;
  /** The training total of every step. */
  totals: number[];
  renders: EditRenders;
  /** The input photo's similarity to the composition text. */
  inputSimilarity: number;
}

/** Creates a job, scores it, trains it for all its steps, scores it again. */
async function train(config: EditConfig, label: string): Promise<Trained> {
  const engine = await testEngine();
  const clip = await createClipModel(engine, await loadModelFromDirectory('models/tiny-clip'));
  const image = await readImageFile(TINY_EDIT_PHOTO);
  const job = await EditJob.create({ engine, vision: clip.vision, text: clip.text, image, config, viewChunk: 2 });
  const targets = await encodeTargets(clip.text, job.config);
  const inputSimilarity = await similarity(clip.vision, job.source, targets.comp);
  const before = await score(job, clip.vision, targets, await job.render());
  const totals: number[] = [];
  const liveBytes: number[] = [];
  while (job.stepsDone < job.totalSteps) {
    const report = await job.step();
    for (const [k, v] of Object.entries(report.losses)) {
      expect(Number.isFinite(v), `${k} at step ${report.step}`).toBe(true);
    }
    totals.push(report.losses.total);
    liveBytes.push(engine.pool.stats().liveBytes);
  }
  // Step 1 creates the optimizer state (and caches the full image's relevancy map); after that every step ends
  // with the same live pool bytes: nothing leaks, whatever the crop size.
  expect(new Set(liveBytes).size, `live pool bytes after each step: ${liveBytes.join(', ')}`).toBe(1);
  const renders = await job.render();
  const after = await score(job, clip.vision, targets, renders);
  const fmt = (s: Score) =>
    `total ${s.total.toFixed(4)}, similarity ${s.similarity.toFixed(4)}, ` +
    Object.entries(s.terms)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(', ');
  console.log(
    `training (${label}, ${totals.length} steps): input similarity ${inputSimilarity.toFixed(4)}\n` +
      `  before: ${fmt(before)}\n  after:  ${fmt(after)}\n` +
      `  training totals: ${totals.map((t) => t.toFixed(3)).join(' ')}`,
  );
  return { job, vision: clip.vision, before, after, totals, renders, inputSimilarity };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training on the tiny CLIP and a real photo', () => {
  it(
    'lowers the total loss in 20 steps with every term on',
    async () => {
      const steps = 20;
      const t = await train(
        validateConfig({ ...BASE, nEpochs: steps, bootstrapText: 'dog', bootstrapEpoch: steps }),
        'every term',
      );
      const { job, renders, before, after, totals } = t;
      expect(totals).toHaveLength(steps);

      // The outputs have the working size, alpha stays in [0, 1] and is not constant, composite = (1−α)·input + α·edit.
      for (const img of Object.values(renders)) expect([img.width, img.height]).toEqual([SIZE, SIZE]);
      let worst = 0;
      let alphaMin = 255;
      let alphaMax = 0;
      for (let i = 0; i < SIZE * SIZE; i++) {
        const a = renders.alpha.data[4 * i];
        alphaMin = Math.min(alphaMin, a);
        alphaMax = Math.max(alphaMax, a);
        for (let c = 0; c < 3; c++) {
          const want = (1 - a / 255) * job.source.data[4 * i + c] + (a / 255) * renders.edit.data[4 * i + c];
          worst = Math.max(worst, Math.abs(renders.composite.data[4 * i + c] - want));
        }
      }
      expect(worst).toBeLessThanOrEqual(2);
      expect(alphaMax).toBeGreaterThan(alphaMin);

      // Measured on SwiftShader: the fixed-draw total fell by 30% (5.38 → 3.78), the training totals' mean over
      // the last 5 steps is 25% below the first 5's.
      expect(after.total).toBeLessThan(0.8 * before.total);
      expect(mean(totals.slice(-5))).toBeLessThan(0.9 * mean(totals.slice(0, 5)));
      job.dispose();
    },
    TRAINING_TIMEOUT_MS,
  );

  it(
    'moves the composite toward the text in 24 steps (composition terms only)',
    async () => {
      const t = await train(
        validateConfig({ ...BASE, nEpochs: 24, lambdaScreen: 0, lambdaStructure: 0, lambdaSparsity: 0 }),
        'composition terms',
      );
      const { before, after, inputSimilarity } = t;
      // Measured: −0.109 → −0.025, against −0.089 for the input photo.
      expect(after.terms.composition).toBeLessThan(before.terms.composition);
      expect(after.similarity - before.similarity).toBeGreaterThan(0.03);
      expect(after.similarity - inputSimilarity).toBeGreaterThan(0.01);
      t.job.dispose();
    },
    TRAINING_TIMEOUT_MS,
  );
});
