/**
 * The worker's video job factory for real (no fakes): a tiny synthetic clip (48×32, 6 frames), an untrained
 * decomposition saved as an atlas file (α sharpened so that part of every frame is opaque foreground, as in
 * videoJob.test.ts), the tiny CLIP, on the Node WebGPU engine. The adapter trains, renders the preview frame with the
 * image edit's four views, every frame and the atlas, and its session restores to the same edit (no training step:
 * one takes 10–30 s on a software GPU).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { opaqueAtlasModel, tinyAtlasConfig } from '../../test/opaqueAtlas';
import { syntheticClip } from '../../test/syntheticClip';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import { parseOnnx } from '../clip/onnx';
import { ClipTextEncoder } from '../clip/textEncoder';
import { extractVisionWeights, visionConfigFromJson } from '../clip/visionWeights';
import type { Engine } from '../gpu/engine';
import { saveAtlas } from '../video/atlas/atlasFile';
import { resolveVideoConfig } from '../video/edit/videoConfig';
import type { VideoClip } from '../video/media/videoClip';
import { videoJobFactory, visionTowers } from './jobFactory';
import type { LoadedModel } from './modelLoader';
import { layerRenders } from './videoTrainable';
import type { VideoSource } from './workerTypes';

const SOURCE = syntheticClip({ frames: 6 });
let engine: Engine;
let model: LoadedModel;
let source: VideoSource;

beforeAll(async () => {
  engine = await testEngine();
  const files = await loadModelFromDirectory('models/tiny-clip');
  model = {
    key: 'tiny',
    modelId: 'tiny-clip',
    precision: 'fp32',
    visionWeights: extractVisionWeights(parseOnnx(files.visionModel!), visionConfigFromJson(files.config!)),
    text: await ClipTextEncoder.fromModelFiles(files),
    cached: false,
    sources: [],
  };
  const config = tinyAtlasConfig(SOURCE.width);
  const atlas = await opaqueAtlasModel(engine, config);
  const frames = SOURCE.frames.length;
  const geometry = { width: SOURCE.width, height: SOURCE.height, frames };
  const frameIndices = [...Array(frames).keys()];
  const bytes = await saveAtlas(atlas, { geometry, config, iterations: 0, frameRate: 24, frameIndices });
  atlas.dispose();
  const clip: VideoClip = {
    width: SOURCE.width,
    height: SOURCE.height,
    frameRate: 24,
    sourceFrameRate: 24,
    sourceFrameCount: frames,
    frames: SOURCE.frames,
    frameIndices,
    masks: null,
    sourceName: 'synthetic',
  };
  source = { clip, atlas: bytes, hasForeground: true };
}, 120_000);

describe('videoJobFactory on the Node WebGPU engine', () => {
  it('makes a trainable video edit of the decomposition that renders frames and restores from its session', async () => {
    const factory = videoJobFactory(visionTowers());
    const config = resolveVideoConfig('tiny', {
      numScales: 2,
      screenText: 'golden disc',
      compText: 'golden disc',
      srcText: 'disc',
      relevancyNumLayers: 0,
      nEpochs: 3,
      seed: 4,
    });
    const job = await factory.create(engine, model, source, { layer: 'foreground', quality: 'tiny', config });
    try {
      expect(job).toMatchObject({ kind: 'video', layer: 'foreground', frameCount: 6, frameRate: 24, totalSteps: 3 });
      expect(job.workingSize).toEqual({ width: 48, height: 32 });
      expect(job.previewFrame).toBe(3); // the middle frame
      // (No step: one takes 10–30 s on a software GPU; the video job's own tests train it, the controller's drive
      // the loop.)

      const preview = await job.render();
      for (const img of Object.values(preview)) expect([img.width, img.height]).toEqual([48, 32]);
      const frame = await job.renderFrame(3);
      expect(frame.input).toBe(source.clip.frames[3]);
      expect(preview.composite.data).toEqual(frame.composite.data);
      // The views are the image edit's, made from the frame's RGBA layer.
      expect(layerRenders(frame.composite, frame.edit)).toEqual({
        composite: frame.composite,
        edit: frame.edit,
        alpha: frame.alpha,
        greenscreen: frame.greenscreen,
      });
      const atlas = await job.renderAtlas();
      expect(atlas.width).toBeGreaterThan(0);
      expect(atlas.data.length).toBe(atlas.width * atlas.height * 4);

      // The session: the same edit at the same step (the layer data is reused, not rebuilt).
      const session = await job.saveSession();
      const back = await factory.restore(engine, model, source, session);
      try {
        expect(back).toMatchObject({ kind: 'video', layer: 'foreground', stepsDone: 0, totalSteps: 3 });
        expect(back.config.seed).toBe(4);
        expect((await back.renderFrame(3)).composite.data).toEqual(frame.composite.data);
      } finally {
        back.dispose();
      }
    } finally {
      job.dispose();
    }
  }, 60_000);
});
