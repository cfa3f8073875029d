/**
 * Makes the worker's edit jobs: EditJob on the device's engine, with the CLIP vision tower uploaded once per engine
 * (a new device after a loss gets its own copy from the weights kept on the CPU), and renders capped to what one
 * storage binding of the device holds.
 */
import { ClipVisionTower } from '../clip/vision';
import { validateConfig, type EditConfig } from '../edit/config';
import { EditJob } from '../edit/job';
import type { RgbaImage } from '../edit/jobTypes';
import type { Engine } from '../gpu/engine';
import type { LoadedModel } from './modelLoader';
import type { JobFactory } from './workerTypes';

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

export function editJobFactory(): JobFactory {
  const towers = new WeakMap<Engine, { model: LoadedModel; tower: ClipVisionTower }>();
  const towerFor = (engine: Engine, model: LoadedModel): ClipVisionTower => {
    const known = towers.get(engine);
    if (known?.model === model) return known.tower;
    known?.tower.dispose();
    const tower = new ClipVisionTower(engine, model.visionWeights);
    towers.set(engine, { model, tower });
    return tower;
  };
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
