import { describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { opaqueAtlasModel, tinyAtlasConfig } from '../../../test/opaqueAtlas';
import { createClipModel, type ClipModel } from '../../clip/clipModel';
import { loadModelFromDirectory } from '../../clip/modelDirectory';
import { resizeAntialiased } from '../../edit/image';
import { readImageFile } from '../../edit/imageIO.node.js';
import type { RgbaImage } from '../../edit/jobTypes';
import { SessionRestoreError } from '../../edit/jobSession';
import type { Engine } from '../../gpu/engine';
import { AtlasModel } from '../atlas/atlasModel';
import type { FrameGeometry } from '../atlas/coords';
import { layerData, type EditLayer, type LayerData } from './layerData';
import { resolveVideoConfig } from './videoConfig';
import { VideoEditJob } from './videoJob';

const FRAMES = new URL('../../../../shared/data/video/blackswan/frames/', import.meta.url).pathname;
const G: FrameGeometry = { width: 40, height: 24, frames: 6 };

let shared: Promise<{ engine: Engine; clip: ClipModel; frames: RgbaImage[]; model: AtlasModel }> | null = null;
function setup() {
  shared ??= (async () => {
    const engine = await testEngine();
    const clip = await createClipModel(engine, await loadModelFromDirectory('models/tiny-clip'));
    const frames = await Promise.all(
      Array.from({ length: G.frames }, async (_, t) =>
        resizeAntialiased(await readImageFile(`${FRAMES}${String(t).padStart(5, '0')}.jpg`), G.width, G.height),
      ),
    );
    const model = await opaqueAtlasModel(engine, tinyAtlasConfig(G.width));
    return { engine, clip, frames, model };
  })();
  return shared;
}

const config = (seed: number) =>
  resolveVideoConfig('tiny', {
    numScales: 2,
    screenText: 'golden swan',
    compText: 'golden swan',
    srcText: 'swan',
    bootstrapText: 'swan',
    bootstrapEpoch: 3,
    relevancyNumLayers: 0,
    nEpochs: 4,
    seed,
  });

async function data(layer: EditLayer): Promise<LayerData> {
  const { model, frames } = await setup();
  return layerData(model, G, frames, layer, 1);
}

describe('VideoEditJob on the tiny CLIP and blackswan frames', () => {
  it('trains the foreground with whole-atlas steps, renders frames over the originals, and resumes exactly', async () => {
    const { engine, clip, frames } = await setup();
    const d = await data('foreground');
    const opts = { engine, vision: clip.vision, text: clip.text, data: d, wholeAtlasEvery: 2 };
    const job = await VideoEditJob.create({ ...opts, config: config(5) });
    const first = await job.step();
    expect(first.wholeAtlasStep).toBe(false);
    expect(first.losses.bootstrap).toBeGreaterThan(0);
    for (const v of Object.values(first.losses)) expect(Number.isFinite(v)).toBe(true);
    const [a, b, c] = first.frames;
    expect([b - a, c - b]).toEqual([2, 2]);
    const second = await job.step();
    expect(second.wholeAtlasStep).toBe(true); // (1 + 1) % 2 == 0
    expect(second.lr).toBeCloseTo(0.0025 * 0.999, 10);
    // Steps end where they started (the whole atlas's relevancy map, cached at step 2, aside).
    const baseline = engine.pool.stats().liveBytes;
    expect((await job.step()).wholeAtlasStep).toBe(false);
    expect(engine.pool.stats().liveBytes).toBe(baseline);

    // Render: the composite is the frame under the edit layer; where α_t is 0 the frame is untouched.
    const atlas = await job.renderAtlas();
    expect([atlas.width, atlas.height]).toEqual([d.raster.width, d.raster.height]);
    const t = 3;
    const r = await job.renderFrame(t, frames[t]);
    let worst = 0;
    for (let k = 0; k < G.width * G.height; k++) {
      const la = r.layer.data[4 * k + 3] / 255;
      // The layer's α is the edit's α confined by the object's α.
      expect(r.layer.data[4 * k + 3]).toBeLessThanOrEqual(Math.round(d.alpha[t][k] * 255) + 1);
      for (let ch = 0; ch < 3; ch++) {
        const want = (1 - la) * frames[t].data[4 * k + ch] + la * r.layer.data[4 * k + ch];
        worst = Math.max(worst, Math.abs(r.composite.data[4 * k + ch] - want));
      }
    }
    expect(worst).toBeLessThanOrEqual(1.5);

    // The session continues exactly where the job is.
    const session = await job.saveSession();
    const restored = await VideoEditJob.restore({ ...opts, session });
    expect(restored.stepsDone).toBe(3);
    const [x, y] = [await job.step(), await restored.step()];
    expect(x.wholeAtlasStep).toBe(true);
    expect(y.losses).toEqual(x.losses);
    expect(y.frames).toEqual(x.frames);
    await expect(VideoEditJob.restore({ ...opts, data: await data('background'), session })).rejects.toThrow(
      SessionRestoreError,
    );
    restored.dispose();
    job.dispose();
  }, 600_000);

  it('edits the background and gives the same edit wherever frames map to the same atlas texels', async () => {
    const { engine, clip, frames } = await setup();
    const d = await data('background');
    // Frame 1 made to map exactly as frame 0 does, with the same α and picture.
    d.coords[1] = d.coords[0].slice();
    d.alpha[1] = d.alpha[0].slice();
    const job = await VideoEditJob.create({ engine, vision: clip.vision, text: clip.text, data: d, config: config(9) });
    const report = await job.step();
    expect(report.losses.bootstrap).toBeGreaterThan(0);
    const [r0, r1] = [await job.renderFrame(0, frames[0]), await job.renderFrame(1, frames[0])];
    expect(r1.layer.data).toEqual(r0.layer.data);
    expect(r1.composite.data).toEqual(r0.composite.data);
    // A background edit is occluded by the object: the layer's α is at most 1 − α_t.
    for (let k = 0; k < G.width * G.height; k++) {
      expect(r0.layer.data[4 * k + 3]).toBeLessThanOrEqual(Math.round((1 - d.alpha[0][k]) * 255) + 1);
    }
    await expect(job.renderFrame(G.frames, frames[0])).rejects.toThrow(RangeError);
    job.dispose();
  }, 600_000);
});
