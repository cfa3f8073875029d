import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { Rng } from '../nn/rng';
import { drawStepSample } from '../video/edit/stepSample';
import { BenchUsageError } from './benchArgs';
import { readVisionWeights } from './stepBench';
import { benchVideoSteps, parseVideoStepBenchArgs, syntheticLayerData } from './videoStepBench';

const parse = (s: string) => parseVideoStepBenchArgs(s.split(' ').filter(Boolean));

describe('parseVideoStepBenchArgs', () => {
  it('takes the defaults and the documented options, and refuses mistakes', () => {
    expect(parse('--quality reference')).toEqual({
      quality: 'reference',
      layer: 'background',
      width: 768,
      height: 432,
      frames: 10,
      pan: 8,
      density: 1.3,
      steps: 2,
      viewChunk: 8,
      memoryOnly: false,
      seed: 1,
    });
    expect(
      parse(
        '--quality tiny --layer foreground --size 96x64 --frames 6 --pan 2 --density 0.8 --steps 1 --memory-only ' +
          '--view-chunk 2 --seed 3 --json x.json',
      ),
    ).toMatchObject({ quality: 'tiny', layer: 'foreground', width: 96, height: 64, frames: 6, pan: 2, density: 0.8 });
    expect(parse('--help')).toBeNull();
    for (const bad of ['', '--quality best', '--quality tiny --layer sky', '--quality tiny --size 10x10']) {
      expect(() => parse(bad)).toThrow(BenchUsageError);
    }
    expect(() => parse('--quality tiny --frames 4')).toThrow(BenchUsageError);
  });
});

describe('syntheticLayerData', () => {
  for (const layer of ['background', 'foreground'] as const) {
    it(`maps every pixel of the ${layer} into the raster, moving by the pan per frame`, () => {
      const d = syntheticLayerData({ layer, width: 80, height: 48, frames: 6, density: 1.5, pan: 3 });
      const { width: rw, height: rh } = d.raster;
      expect(d.raster.resolution).toBe(240);
      expect(d.raster.data.length).toBe(3 * rw * rh);
      for (let t = 0; t < 6; t++) {
        const c = d.coords[t];
        for (let k = 0; k < 80 * 48; k++) {
          // Only covered pixels matter for the foreground: they lie inside the object's raster.
          if (layer === 'foreground' && d.alpha[t][k] === 0) continue;
          expect(c[2 * k]).toBeGreaterThanOrEqual(0);
          expect(c[2 * k]).toBeLessThanOrEqual(rw - 1);
          expect(c[2 * k + 1]).toBeGreaterThanOrEqual(0);
          expect(c[2 * k + 1]).toBeLessThanOrEqual(rh - 1);
        }
      }
      // Pixel (40, 20) moves by −pan·density texels per frame in the background; the object's texels stay put.
      const k = 20 * 80 + 40;
      const du = d.coords[1][2 * k] - d.coords[0][2 * k];
      expect(du).toBeCloseTo(layer === 'background' ? 4.5 : -4.5, 6);
      if (layer === 'foreground') expect(d.maskBoxes[2]).toEqual({ y0: 10, x0: 14, h: 29, w: 28 });
      else expect(d.maskBoxes.every((b) => b === null)).toBe(true);
      const sample = drawStepSample(new Rng(1), d, 9);
      expect(sample.frames[1] - sample.frames[0]).toBe(2);
    });
  }
});

describe('benchVideoSteps', () => {
  it('runs real steps and memory-only steps with the same pool peaks, the last a whole-atlas step', async () => {
    const engine = await testEngine();
    const weights = readVisionWeights('models/tiny-clip');
    const data = syntheticLayerData({ layer: 'background', width: 40, height: 24, frames: 5, density: 0.8, pan: 1 });
    const run = (memoryOnly: boolean) =>
      benchVideoSteps({
        engine,
        weights,
        weightsLabel: 'tiny',
        data,
        quality: 'tiny',
        steps: 1,
        viewChunk: 2,
        memoryOnly,
        seed: 2,
      });
    const real = await run(false);
    const dry = await run(true);
    expect(real.samples.map((s) => s.wholeAtlasStep)).toEqual([false, true]);
    expect(real.samples[1].crop.width).toBeGreaterThan(0);
    expect(dry.samples.map((s) => s.peakLiveBytes)).toEqual(real.samples.map((s) => s.peakLiveBytes));
    expect(real.peakLiveBytes).toBeGreaterThan(real.persistentBytes);
  }, 120_000);
});
