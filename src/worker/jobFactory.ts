/**
 * Makes the worker's edit jobs: EditJob on the device's engine, with the CLIP vision tower uploaded once per engine
 * (a new device after a loss gets its own copy from the weights kept on the CPU), and renders capped to what one
 * storage binding of the device holds. Video edits (VideoEditJob on the clip's decomposition, `videoJobFactory`)
 * share the same towers.
 */
import { ClipVisionTower } from '../clip/vision';
import { decodeSafetensors } from '../nn/safetensors';
import { validateConfig, type EditConfig } from '../edit/config';
import { EditJob } from '../edit/job';
import type { RgbaImage } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import { loadAtlas } from '../video/atlas/atlasFile';
import { layerData, type EditLayer, type LayerData } from '../video/edit/layerData';
import { VIDEO_QUALITY } from '../video/edit/videoConfig';
import { readVideoSettings, VideoEditJob } from '../video/edit/videoJob';
import type { LoadedModel } from './modelLoader';
import { VideoTrainable } from './videoTrainable';
import type { JobFactory, VideoJobFactory, VideoSource } from './workerTypes';

/** The CLIP vision tower of a model on an engine, uploaded once per engine (and per model). */
export type VisionTowers = (engine: Engine, model: LoadedModel) => ClipVisionTower;

export function visionTowers(): VisionTowers {
  const towers = new WeakMap<Engine, { model: LoadedModel; tower: ClipVisionTower }>();
  return (engine, model) => {
    const known = towers.get(engine);
    if (known?.model === model) return known.tower;
    known?.tower.dispose();
    const tower = new ClipVisionTower(engine, model.visionWeights);
    towers.set(engine, { model, tower });
    return tower;
  };
}

/**
 * The longest side a full-resolution render of this photo may have on this device: its widest activation must fit
 * one storage binding (a 2048×1536 render at 132 channels needs 1.7 GB). At least the working size's longest side,
 * at most 2048 (the job's own limit).
 */
export function renderSideLimit(engine: Engine, image: RgbaImage, config: EditConfig): number {
  const maxBinding = Number(engine.limits.maxStorageBufferBindingSize);
  const channels = Math.max(config.skipN33d, config.skipN33u) + config.skipN11;
  const perPixel = Math.max(channels, 4) * 4;
  const long = Math.max(image.width, image.height);
  const short = Math.min(image.width, image.height);
  const fit = Math.floor(Math.sqrt((maxBinding / perPixel) * (long / short)));
  const working = config.resizeInput > 0 ? Math.trunc((config.resizeInput * long) / short) : long;
  return Math.max(working, Math.min(2048, fit));
}

export function editJobFactory(towerFor: VisionTowers = visionTowers()): JobFactory {
  return {
    create: (engine, model, image, config) =>
      EditJob.create({
        engine,
        vision: towerFor(engine, model),
        text: model.text,
        image,
        config,
        maxRenderSide: renderSideLimit(engine, image, config),
      }),
    restore: (engine, model, image, session) =>
      EditJob.restore({
        engine,
        vision: towerFor(engine, model),
        text: model.text,
        image,
        config: validateConfig({}),
        session,
        maxRenderSide: renderSideLimit(engine, image, validateConfig({})),
      }),
  };
}

/**
 * Makes video edits: the decomposition's atlas loaded on the engine for as long as the layer's data takes (spec §B.3:
 * the raster at the quality's density, every frame's coordinates, α and inputs), then VideoEditJob on it. The layer
 * data lives on the CPU, so the last one is kept: a recovery or a restart of the same layer and density skips it.
 */
export function videoJobFactory(towerFor: VisionTowers = visionTowers()): VideoJobFactory {
  let cached: { atlas: Uint8Array; layer: EditLayer; density: number; data: LayerData } | null = null;
  const dataFor = async (engine: Engine, source: VideoSource, layer: EditLayer, density: number) => {
    if (cached && cached.atlas === source.atlas && cached.layer === layer && cached.density === density) {
      return cached.data;
    }
    const { clip } = source;
    const { model, info } = await loadAtlas(engine, source.atlas);
    try {
      const data = await layerData(model, info.geometry, clip.frames, layer, density);
      cached = { atlas: source.atlas, layer, density, data };
      return data;
    } finally {
      model.dispose();
    }
  };
  return {
    async create(engine, model, source, settings) {
      const data = await dataFor(engine, source, settings.layer, VIDEO_QUALITY[settings.quality].density);
      const job = await VideoEditJob.create({
        engine,
        vision: towerFor(engine, model),
        text: model.text,
        config: settings.config,
        data,
      });
      return new VideoTrainable(job, source.clip);
    },
    async restore(engine, model, source, session) {
      const video = readVideoSettings(decodeSafetensors(session).metadata);
      const data = await dataFor(engine, source, video.layer, video.density);
      const job = await VideoEditJob.restore({
        engine,
        vision: towerFor(engine, model),
        text: model.text,
        data,
        session,
      });
      return new VideoTrainable(job, source.clip);
    },
  };
}
