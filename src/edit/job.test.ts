import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { createClipModel, type ClipModel } from '../clip/clipModel';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import type { Engine } from '../gpu/engine';
import { tinyEditConfig, TINY_EDIT_PHOTO } from '../../test/tinyEdit';
import type { EditConfig } from './config';
import { readImageFile } from './imageIO.node.js';
import { EditJob } from './job';
import type { RgbaImage } from './jobTypes';

/** A tiny but complete edit: bootstrap on, a full-image step every 2 steps. */
function tinyConfig(seed: number): EditConfig {
  return tinyEditConfig({ nEpochs: 3, seed, sourceImageEvery: 2, bootstrapText: 'dog', bootstrapEpoch: 3 });
}

let shared: Promise<{ engine: Engine; clip: ClipModel; image: RgbaImage }> | null = null;
function setup() {
  shared ??= (async () => {
    const engine = await testEngine();
    const clip = await createClipModel(engine, await loadModelFromDirectory('models/tiny-clip'));
    return { engine, clip, image: await readImageFile(TINY_EDIT_PHOTO) };
  })();
  return shared;
}

describe('EditJob on the tiny CLIP and a real photo', () => {
  it('trains, renders consistent layers, and resumes a saved session exactly', async () => {
    const { engine, clip, image } = await setup();
    const opts = { engine, vision: clip.vision, text: clip.text, image };
    const job = await EditJob.create({ ...opts, config: tinyConfig(5) });
    expect(job.workingSize).toEqual({ width: 40, height: 40 });
    const first = await job.step();
    expect(first.fullImageStep).toBe(true); // step 0 is a full-image step (step % 2 == 0)
    expect(first.losses.bootstrap).toBeGreaterThan(0);
    for (const k of ['composition', 'direction', 'screen', 'structure', 'sparsityL0', 'sparsityL1'] as const) {
      expect(Number.isFinite(first.losses[k]), k).toBe(true);
    }
    expect(first.losses.composition).toBeGreaterThan(0);
    const baseline = engine.pool.stats().liveBytes;
    const second = await job.step();
    expect(second.step).toBe(2);
    expect(second.lr).toBeCloseTo(0.0025 * 0.99, 10);
    // Steps end where they started: intermediates are released.
    expect(engine.pool.stats().liveBytes).toBe(baseline);

    const r = await job.render();
    for (const img of Object.values(r)) expect([img.width, img.height]).toEqual([40, 40]);
    // composite = (1 − α)·input + α·edit, to within 8-bit rounding, with input the working image.
    let worst = 0;
    let alphaMin = 255;
    let alphaMax = 0;
    for (let i = 0; i < 40 * 40; i++) {
      const a = r.edit.data[4 * i + 3] / 255;
      alphaMin = Math.min(alphaMin, r.alpha.data[4 * i]);
      alphaMax = Math.max(alphaMax, r.alpha.data[4 * i]);
      expect(r.alpha.data[4 * i]).toBe(r.edit.data[4 * i + 3]);
      for (let c = 0; c < 3; c++) {
        const want = (1 - a) * job.source.data[4 * i + c] + a * r.edit.data[4 * i + c];
        worst = Math.max(worst, Math.abs(r.composite.data[4 * i + c] - want));
      }
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(alphaMax).toBeGreaterThan(alphaMin);

    // A saved session continues exactly like the original job.
    const session = await job.saveSession();
    const resumed = await EditJob.restore({ ...opts, config: tinyConfig(999), session });
    expect(resumed.stepsDone).toBe(2);
    const [a, b] = [await job.step(), await resumed.step()];
    expect(b.losses.total).toBe(a.losses.total);
    const [ra, rb] = [await job.render(), await resumed.render()];
    expect(Buffer.from(rb.edit.data).equals(Buffer.from(ra.edit.data))).toBe(true);
    await expect(job.step()).rejects.toThrow(/finished all its steps/);
    job.dispose();
    resumed.dispose();
  });

  it('gives the same losses for the same seed and different ones for another seed', async () => {
    const { engine, clip, image } = await setup();
    const opts = { engine, vision: clip.vision, text: clip.text, image };
    const firstLoss = async (seed: number) => {
      const job = await EditJob.create({ ...opts, config: tinyConfig(seed) });
      const total = (await job.step()).losses.total;
      job.dispose();
      return total;
    };
    const [x, y, z] = [await firstLoss(5), await firstLoss(5), await firstLoss(6)];
    expect(y).toBe(x);
    expect(z).not.toBe(x);
  });

  it('bootstraps on a random crop of the item with bootstrapping_min_cover < 1, memory steady', async () => {
    const { engine, clip, image } = await setup();
    const config = { ...tinyConfig(5), bootstrappingMinCover: 0.6, nEpochs: 3 };
    const job = await EditJob.create({ engine, vision: clip.vision, text: clip.text, image, config });
    const first = await job.step(); // full image: a crop of it, so its map is not the cached whole-image one
    expect(first.losses.bootstrap).toBeGreaterThan(0);
    const baseline = engine.pool.stats().liveBytes;
    const second = await job.step(); // a dataset crop, cropped again for the bootstrap term
    expect(second.losses.bootstrap).toBeGreaterThan(0);
    expect(Number.isFinite(second.losses.total)).toBe(true);
    expect(engine.pool.stats().liveBytes).toBe(baseline);
    job.dispose();
  });

  it('rejects a relevancyNumLayers that leaves the model no attention block', async () => {
    const { engine, clip, image } = await setup();
    const config = { ...tinyConfig(5), relevancyNumLayers: 1 }; // the tiny CLIP has blocks 0 and 1
    await expect(EditJob.create({ engine, vision: clip.vision, text: clip.text, image, config })).rejects.toThrow(
      /2 attention blocks .*Use at most 0/,
    );
  });
});
