import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { parseOnnx } from '../clip/onnx';
import { ClipVisionTower } from '../clip/vision';
import { extractVisionWeights, visionConfigFromJson } from '../clip/visionWeights';
import type { Engine } from '../gpu/engine';
import { Rng } from '../nn/rng';
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig } from './config';
import { computeLosses, LOSS_VALUE_ORDER, randomDraws, type LossItem } from './losses';
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
      const ctx = { engine, vision, config, targets, rng: new Rng(0), draws: randomDraws(new Rng(7)), viewChunk: 2 };
      const r = computeLosses(ctx, [item], 0, null);
      const values = await r.values.read();
      const seeds = new Map(await Promise.all(r.seeds.map(async (s) => [s.output, await s.grad.read()] as const)));
      for (const s of r.seeds) s.grad.release();
      r.values.release();
      return { values, seeds, weights: r.weights };
    };
    const term = (name: (typeof LOSS_VALUE_ORDER)[number]) => LOSS_VALUE_ORDER.indexOf(name);

    const all = await run({});
    expect([...all.seeds.keys()]).toEqual([item.composite, item.greenscreen, item.alpha]);
    for (const name of ['composition', 'direction', 'screen', 'structure', 'sparsityL0', 'sparsityL1'] as const) {
      expect(all.values[term(name)], name).toBeGreaterThan(0);
    }

    // No screen, structure or sparsity: the composition and direction terms see the same draws (they come first).
    const some = await run({ lambdaScreen: 0, lambdaStructure: 0, lambdaSparsity: 0 });
    expect([...some.seeds.keys()]).toEqual([item.composite]);
    for (const name of ['screen', 'structure', 'sparsityL0', 'sparsityL1'] as const) {
      expect(some.values[term(name)], name).toBe(0);
    }
    for (const name of ['composition', 'direction'] as const) {
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
