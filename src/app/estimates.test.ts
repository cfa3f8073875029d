import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { visionConfigFromJson } from '../clip/visionWeights';
import { clipViewSizes } from '../edit/losses';
import {
  CLIP_VIT_B32,
  clipInputSizes,
  clipVitMacs,
  estimateFlops,
  QUALITY_LEVELS,
  QUALITY_SETTINGS,
  type ClipCostConfig,
} from '../edit/quality';
import { presetConfig } from '../edit/presets';
import { resolveConfig, type AppQuality } from '../edit/qualityLevels';
import { levelEstimate, measuredSeconds, runFlop } from './estimates';

/** The tiny test model as the vision tower reads it: width 32, MLP 128, 2 blocks, 8-px patches, 56 px. */
const tiny: ClipCostConfig = visionConfigFromJson(
  JSON.parse(readFileSync(new URL('../../models/tiny-clip/config.json', import.meta.url), 'utf8')),
);
const prompts = { screenText: 'golden', compText: 'golden dog', srcText: 'dog' };

describe('the compute model prices the loaded CLIP model (src/edit/quality.ts)', () => {
  it('reads the architecture from config.json; Hugging Face’s defaults are ViT-B/32', () => {
    expect(tiny).toMatchObject({ hiddenSize: 32, intermediateSize: 128, numHiddenLayers: 2, patchSize: 8 });
    expect(tiny).toMatchObject({ imageSize: 56, numChannels: 3, projectionDim: 16 });
    const defaults = visionConfigFromJson({ vision_config: {}, projection_dim: 512 });
    for (const key of Object.keys(CLIP_VIT_B32) as (keyof ClipCostConfig)[]) {
      expect(defaults[key], key).toBe(CLIP_VIT_B32[key]);
    }
  });

  it('counts a ViT forward from the config (the tiny model at 56², by hand)', () => {
    // 7×7 patches + CLS = 50 tokens; per block 50·(4·32² + 2·32·128) + 2·50²·32; patch embedding 49·3·8²·32;
    // head 32·16.
    const perBlock = 50 * (4 * 32 * 32 + 2 * 32 * 128) + 2 * 50 * 50 * 32;
    expect(clipVitMacs(56, 56, undefined, true, tiny)).toBe(2 * perBlock + 49 * 3 * 64 * 32 + 32 * 16);
    expect(clipVitMacs(56, 56, 1, false, tiny)).toBe(perBlock + 49 * 3 * 64 * 32);
    // ViT-B/32 stays the default (spec §E: 4.409 GMAC at 224²).
    expect(clipVitMacs(224, 224, undefined, true, CLIP_VIT_B32) / 1e9).toBeCloseTo(4.409, 3);
  });

  it('sizes the CLIP inputs as the losses do', () => {
    for (const s of [56, 224, 336]) expect(clipInputSizes(s)).toEqual(clipViewSizes(s));
  });

  it('prices the views at the model’s own size and depth', () => {
    const config = resolveConfig('tiny', prompts);
    const level = { name: 'preview' as const, label: 't', description: '', size: 64, steps: 40, views: 2 };
    const t = estimateFlops(level, 512, 512, { config, clip: tiny });
    const b = estimateFlops(level, 512, 512, { config });
    // The 64² working image's mean crop (60²) is resized to the model's 56², not to 224².
    expect(t.perStep.view).toEqual({ width: 56, height: 56 });
    expect(b.perStep.view).toEqual({ width: 224, height: 224 });
    expect(t.perStep.clip).toBe(2 * 7 * 2 * clipVitMacs(56, 56, undefined, true, tiny));
    expect(t.perStep.structure).toBe(3 * 2 * clipVitMacs(56, 56, 1, false, tiny));
    expect(t.perStep.generator).toBe(b.perStep.generator);
    expect(b.perStep.clip / t.perStep.clip).toBeGreaterThan(1000);
  });

  it('prices bootstrapping with the model’s relevancy forward', () => {
    const config = presetConfig('golden-horse');
    const boot = estimateFlops('reference', 512, 512, { config, clip: tiny });
    const forward = clipVitMacs(56, 56, undefined, true, tiny);
    expect(boot.perStep.bootstrap).toBeCloseTo(2 * forward + (1.5e9 * forward) / clipVitMacs(224, 224));
    // ViT-B/32 keeps spec §E's ≈ 10.3 GFLOP.
    expect(estimateFlops('reference', 512, 512, { config }).perStep.bootstrap / 1e9).toBeCloseTo(10.3, 0);
  });
});

describe('time estimates of the quality levels', () => {
  const timing = { cropSeconds: 5, fullSeconds: 9, measured: 12 };
  const photo = { width: 512, height: 512, modelId: 'tiny-clip' };
  const measuredTiny = { timing, config: resolveConfig('tiny', prompts), ...photo };

  it('price a level that ran from its own step times: crop and full-image steps apart', () => {
    const run = resolveConfig('tiny', prompts);
    const est = levelEstimate(run, photo, measuredTiny, { tiny: measuredTiny }, tiny)!;
    expect(est.basis).toBe('measured');
    // 40 steps, a full image every 75 → only step 0: 39 crop steps of 5 s and one full-image step of 9 s.
    expect(est.seconds).toBe(39 * 5 + 9);
    expect(measuredSeconds(run, timing)).toBe(est.seconds);
  });

  it('scale a level that has not run from a measured one by the compute model, priced for the loaded CLIP', () => {
    const est = (l: AppQuality) =>
      levelEstimate(resolveConfig(l, prompts), photo, undefined, { tiny: measuredTiny }, tiny)!;
    const base = 39 * 5 + 9;
    for (const l of QUALITY_LEVELS) {
      expect(est(l).basis).toBe('scaled');
      const ratio =
        runFlop(resolveConfig(l, prompts), 512, 512, tiny) / runFlop(resolveConfig('tiny', prompts), 512, 512, tiny);
      expect(est(l).seconds / base / ratio - 1).toBeCloseTo(0, 9);
    }
    const [preview, standard, reference] = QUALITY_LEVELS.map((l) => est(l).seconds);
    expect(preview).toBeLessThan(standard);
    expect(standard).toBeLessThan(reference);
    // Priced as ViT-B/32 the same measurement gives another Reference time: the CLIP share of a tiny-model step is
    // negligible, of a ViT-B/32 step large.
    const asB32 = levelEstimate(resolveConfig('reference', prompts), photo, undefined, { tiny: measuredTiny })!;
    expect(Math.abs(asB32.seconds / reference - 1)).toBeGreaterThan(0.5);
  });

  it('use no measurement of another photo size, model or step: none is better than a wrong one', () => {
    const config = resolveConfig('tiny', prompts);
    expect(levelEstimate(config, { ...photo, width: 640 }, measuredTiny, { tiny: measuredTiny }, tiny)).toBeNull();
    expect(
      levelEstimate(config, { ...photo, modelId: 'other' }, measuredTiny, { tiny: measuredTiny }, tiny),
    ).toBeNull();
    // The level's own views changed (an advanced override): its old times are scaled, not taken as measured.
    const more = resolveConfig('tiny', { ...prompts, nAug: 4 });
    expect(levelEstimate(more, photo, measuredTiny, { tiny: measuredTiny }, tiny)!.basis).toBe('scaled');
    expect(levelEstimate(config, photo, undefined, {}, tiny)).toBeNull();
  });

  it('price what Start would run: an explicit Steps value overrides the level’s', () => {
    const eight = resolveConfig('preview', { ...prompts, nEpochs: 8 });
    const asRun = { ...QUALITY_SETTINGS.preview, steps: 8 };
    expect(runFlop(eight, 512, 512, tiny)).toBe(estimateFlops(asRun, 512, 512, { config: eight, clip: tiny }).total);
    // The level's nominal 300 steps would cost far more.
    const nominal = estimateFlops('preview', 512, 512, { config: eight, clip: tiny }).total;
    expect(runFlop(eight, 512, 512, tiny)).toBeLessThan(nominal / 10);
  });
});
