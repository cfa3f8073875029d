import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { parseOnnx } from '../clip/onnx';
import { ClipVisionTower } from '../clip/vision';
import { extractVisionWeights, visionConfigFromJson } from '../clip/visionWeights';
import type { Engine } from '../gpu/engine';
import { Rng } from '../nn/rng';
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig } from './config';
import {
  computeLosses,
  drawStep,
  LOSS_VALUE_ORDER,
  randomDraws,
  relevancyBlocks,
  sampleCoverCrop,
  type LossContext,
  type LossDraws,
  type LossItem,
} from './losses';
import type { TextTargets } from './targets';

const MODEL = new URL('../../models/tiny-clip/', import.meta.url);

function tinyVision(engine: Engine): ClipVisionTower {
  const file = (p: string) => new Uint8Array(readFileSync(new URL(p, MODEL)));
  const config = visionConfigFromJson(JSON.parse(new TextDecoder().decode(file('config.json'))));
  return new ClipVisionTower(engine, extractVisionWeights(parseOnnx(file('onnx/vision_model.onnx')), config));
}

const randomRows = (n: number, dim: number, seed: number) =>
  Array.from({ length: n }, (_, i) => rand(dim, seed + i, -1, 1));

describe('computeLosses', () => {
  it('skips the terms whose weight is 0: they read 0, draw nothing and seed no gradient', async () => {
    const engine = await testEngine();
    const vision = tinyVision(engine);
    const dim = vision.config.projectionDim;
    const targets: TextTargets = {
      comp: randomRows(14, dim, 1),
      src: randomRows(14, dim, 100),
      screen: randomRows(2, dim, 200),
      bootstrap: null,
    };
    const [h, w] = [20, 24];
    const tensor = (c: number, seed: number) =>
      engine.fromArray([1, c, h, w], rand(c * h * w, seed, 0, 1), 'loss-test').keep();
    const item: LossItem = {
      input: tensor(3, 1),
      composite: tensor(3, 2),
      greenscreen: tensor(3, 3),
      alpha: tensor(1, 4),
    };
    const run = async (overrides: Partial<EditConfig>) => {
      const config = validateConfig({ ...DEFAULT_EDIT_CONFIG, nAug: 2, ...overrides });
      // The reference's draws, counted.
      const random = randomDraws(new Rng(7));
      const calls = { views: 0, indices: 0, crop: 0 };
      const draws: LossDraws = {
        views: (...a) => (calls.views++, random.views(...a)),
        indices: (...a) => (calls.indices++, random.indices(...a)),
        crop: (...a) => (calls.crop++, random.crop(...a)),
      };
      const ctx = { engine, vision, config, targets, rng: new Rng(0), draws, viewChunk: 2 };
      const r = computeLosses(ctx, [item], { step: 0, draws: drawStep(ctx, 0, [h, w]), relevancy: null });
      const values = await r.values.read();
      const seeds = new Map(await Promise.all(r.seeds.map(async (s) => [s.output, await s.grad.read()] as const)));
      for (const s of r.seeds) s.grad.release();
      r.values.release();
      return { values, seeds, weights: r.weights, calls };
    };
    const term = (name: (typeof LOSS_VALUE_ORDER)[number]) => LOSS_VALUE_ORDER.indexOf(name);

    const all = await run({});
    expect([...all.seeds.keys()]).toEqual([item.composite, item.greenscreen, item.alpha]);
    // Rows for composition, direction and screen; views for composition, direction (output, input) and screen.
    expect(all.calls).toEqual({ indices: 3, views: 4, crop: 0 });
    for (const name of ['composition', 'direction', 'screen', 'structure', 'sparsityL0', 'sparsityL1'] as const) {
      expect(all.values[term(name)], name).toBeGreaterThan(0);
    }

    // No screen: it draws neither rows nor views.
    const noScreen = await run({ lambdaScreen: 0 });
    expect(noScreen.calls).toEqual({ indices: 2, views: 3, crop: 0 });
    expect(noScreen.values[term('screen')]).toBe(0);
    expect([...noScreen.seeds.keys()]).toEqual([item.composite, item.alpha]);

    // No structure or sparsity (they draw nothing): the CLIP terms see the same draws and values as before.
    const some = await run({ lambdaStructure: 0, lambdaSparsity: 0 });
    expect([...some.seeds.keys()]).toEqual([item.composite, item.greenscreen]);
    for (const name of ['structure', 'sparsityL0', 'sparsityL1'] as const) {
      expect(some.values[term(name)], name).toBe(0);
    }
    for (const name of ['composition', 'direction', 'screen'] as const) {
      expect(some.values[term(name)], name).toBe(all.values[term(name)]);
    }

    // Only the sparsity terms: their alpha gradient is the full run's (every other term reaches other outputs).
    const sparsity = await run({ lambdaComposition: 0, lambdaScreen: 0, lambdaStructure: 0 });
    expect([...sparsity.seeds.keys()]).toEqual([item.alpha]);
    expect(maxAbsDiff(sparsity.seeds.get(item.alpha)!, all.seeds.get(item.alpha)!)).toBeLessThan(1e-7);
    expect(sparsity.values[term('sparsityL1')]).toBe(all.values[term('sparsityL1')]);

    for (const t of Object.values(item)) t.release();
    vision.dispose();
  });
});

describe('the draws a step shares across its items', () => {
  const rows = (n: number) => Array.from({ length: n }, () => new Float32Array(4));
  const targets: TextTargets = { comp: rows(14), src: rows(3), screen: rows(2), bootstrap: new Float32Array(4) };
  const ctxOf = (overrides: Partial<EditConfig>, seed = 5): LossContext => ({
    engine: null as unknown as Engine, // drawStep touches no GPU
    vision: null as unknown as ClipVisionTower,
    config: validateConfig({ ...DEFAULT_EDIT_CONFIG, bootstrapText: 'dog', bootstrapEpoch: 10, ...overrides }),
    // As encodeTargets makes them: a bootstrap row only with a region-of-interest text.
    targets: overrides.bootstrapText === null ? { ...targets, bootstrap: null } : targets,
    rng: new Rng(seed),
    viewChunk: 2,
  });

  it('draws the target rows of each term once, n ~ U{1..N} with replacement, null for a term that is off', () => {
    const counts = { comp: new Set<number>(), direction: new Set<number>(), screen: new Set<number>() };
    for (let seed = 0; seed < 200; seed++) {
      const d = drawStep(ctxOf({}, seed), 0, [40, 52]);
      for (const [term, n] of [
        ['comp', 14],
        ['direction', 3], // min(N_comp, N_src): the pairs
        ['screen', 2],
      ] as const) {
        const got = d[term]!;
        expect(got.length).toBeGreaterThanOrEqual(1);
        expect(got.length).toBeLessThanOrEqual(n);
        expect(got.every((i) => Number.isInteger(i) && i >= 0 && i < n)).toBe(true);
        counts[term].add(got.length);
      }
    }
    expect(counts.comp.size).toBeGreaterThan(8); // the number of rows is random too
    expect(counts.direction).toEqual(new Set([1, 2, 3]));
    const off = drawStep(ctxOf({ lambdaComposition: 0, lambdaScreen: 0 }), 0, [40, 52]);
    expect([off.comp, off.direction, off.screen]).toEqual([null, null, null]);
  });

  it('draws a bootstrap crop of the last item only when bootstrapping_min_cover < 1 and the term is on', () => {
    expect(drawStep(ctxOf({}), 0, [40, 52]).bootstrapCrop).toBeNull(); // min cover 1: the whole item
    expect(drawStep(ctxOf({ bootstrappingMinCover: 0.5, bootstrapEpoch: 10 }), 10, [40, 52]).bootstrapCrop).toBeNull();
    expect(drawStep(ctxOf({ bootstrappingMinCover: 0.5, bootstrapText: null }), 0, [40, 52]).bootstrapCrop).toBeNull();
    const crop = drawStep(ctxOf({ bootstrappingMinCover: 0.5 }), 0, [40, 52]).bootstrapCrop!;
    expect(crop.height).toBeGreaterThanOrEqual(20);
    expect(crop.top + crop.height).toBeLessThanOrEqual(40);
    expect(crop.left + crop.width).toBeLessThanOrEqual(52);
  });

  it("samples RandomSizeCrop's law: one scale for both sides, int(h·s) × int(w·s), uniform integer offsets", () => {
    const rng = new Rng(9);
    const tops = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const c = sampleCoverCrop(rng, 40, 52, 0.7);
      expect(c.height).toBeGreaterThanOrEqual(28);
      expect(c.height).toBeLessThanOrEqual(40);
      // The same s for both sides: w = int(52·s) for some s with int(40·s) = h.
      const sLo = c.height / 40;
      const sHi = (c.height + 1) / 40;
      expect(c.width).toBeGreaterThanOrEqual(Math.trunc(52 * sLo));
      expect(c.width).toBeLessThanOrEqual(Math.trunc(52 * sHi));
      expect(c.top).toBeGreaterThanOrEqual(0);
      expect(c.top + c.height).toBeLessThanOrEqual(40);
      expect(c.left + c.width).toBeLessThanOrEqual(52);
      tops.add(c.top);
    }
    expect(tops.size).toBeGreaterThan(8);
  });
});

describe('relevancyBlocks', () => {
  it('counts the attention blocks after relevancyNumLayers and rejects a value that leaves none', () => {
    expect(relevancyBlocks(12, 10)).toBe(1); // the reference: the last block of ViT-B/32
    expect(relevancyBlocks(12, -1)).toBe(12);
    expect(relevancyBlocks(12, 0)).toBe(11);
    expect(relevancyBlocks(2, 0)).toBe(1);
    expect(() => relevancyBlocks(12, 11)).toThrow(/12 attention blocks.*none would be left/);
    expect(() => relevancyBlocks(2, 10)).toThrow(/Use at most 0/);
  });
});
