import { describe, expect, it } from 'vitest';
import { DEFAULT_EDIT_CONFIG, validateConfig } from './config';
import { presetConfig } from './presets';
import {
  applyQuality,
  clipVitMacs,
  describeQuality,
  estimateFlops,
  meanCropAreaFraction,
  QUALITY_LEVELS,
  QUALITY_SETTINGS,
  resizeMaxSizeDims,
} from './quality';

const rel = (a: number, b: number) => Math.abs(a - b) / b;

describe('compute model pieces (spec §E)', () => {
  it('CLIP ViT-B/32 MACs per view', () => {
    expect(clipVitMacs(224, 224) / 1e9).toBeCloseTo(4.409, 3);
    expect(clipVitMacs(224, 224, 11, false) / 1e9).toBeCloseTo(4.051, 3);
    expect((2 * clipVitMacs(213, 320)) / 1e9).toBeCloseTo(10.78, 2);
  });

  it('Resize(224, max_size) examples of spec §A.6.2', () => {
    expect(resizeMaxSizeDims(512, 512, 224, 320)).toEqual({ height: 224, width: 224 });
    expect(resizeMaxSizeDims(512, 768, 224, 320)).toEqual({ height: 213, width: 320 });
    expect(resizeMaxSizeDims(512, 768, 224, 380)).toEqual({ height: 224, width: 336 });
    expect(resizeMaxSizeDims(432, 768, 224, 320)).toEqual({ height: 180, width: 320 });
    expect(resizeMaxSizeDims(768, 512, 224, 320)).toEqual({ height: 320, width: 213 });
  });

  it('mean crop area is E[s²]·E[c²] ≈ 0.869', () => {
    expect(meanCropAreaFraction(DEFAULT_EDIT_CONFIG)).toBeCloseTo(1.01333 * 0.8575, 4);
  });
});

describe('estimateFlops', () => {
  it('Reference at 512² reproduces spec §E: 1.46 TFLOP/step, 1.49 PFLOP (generator at a full 512² crop)', () => {
    const e = estimateFlops('reference', 512, 512, { cropAreaFraction: 1 });
    expect(e.perStep.generator / 1e9).toBeCloseTo(452.3, 0);
    expect(e.perStep.clip / 1e9).toBeCloseTo(16 * 7 * 8.818, -1);
    expect(e.perStep.structure / 1e9).toBeCloseTo(24.3, 1);
    expect(rel(e.perStep.total, 1.46e12)).toBeLessThan(0.01);
    expect(e.fullImageSteps).toBe(14);
    expect(rel(e.total, 1.49e15)).toBeLessThan(0.015);
  });

  it('Reference at 512² with the mean crop is within a few percent of the headline', () => {
    const e = estimateFlops('reference', 512, 512);
    expect(e.perStep.image).toEqual({ width: 477, height: 477 });
    expect(e.perStep.view).toEqual({ width: 224, height: 224 });
    expect(rel(e.perStep.total, 1.46e12)).toBeLessThan(0.05);
    expect(rel(e.total, 1.49e15)).toBeLessThan(0.05);
  });

  it('512×768 reproduces spec §E: 1.83 TFLOP/step, 1.92 per full-image item, 1.86 PFLOP', () => {
    const e = estimateFlops('reference', 768, 512);
    expect([e.width, e.height]).toEqual([768, 512]);
    expect(e.perStep.view).toEqual({ width: 320, height: 213 });
    expect(e.perStep.image).toEqual({ width: 716, height: 477 });
    expect(e.perStep.structureView).toEqual({ width: 336, height: 224 });
    expect(rel(e.perStep.generator, 590e9)).toBeLessThan(0.01);
    expect(rel(e.perStep.total, 1.83e12)).toBeLessThan(0.01);
    expect(rel(e.fullImageItem.total, 1.92e12)).toBeLessThan(0.01);
    expect(rel(e.total, 1.86e15)).toBeLessThan(0.01);
  });

  it('resizes the input to the level size, and bootstrapping adds ≈ 10 GFLOP per step', () => {
    const big = estimateFlops('reference', 1024, 2048);
    expect([big.width, big.height]).toEqual([512, 1024]);
    const plain = estimateFlops('reference', 512, 512);
    const boot = estimateFlops('reference', 512, 512, { config: presetConfig('golden-horse') });
    expect(boot.bootstrapSteps).toBe(1000);
    expect((boot.perStep.bootstrap ?? 0) / 1e9).toBeCloseTo(10.3, 0);
    expect(boot.total - plain.total).toBeCloseTo((1000 + 14) * boot.perStep.bootstrap, -6);
  });

  it('levels are ordered by cost and state size, steps and views', () => {
    expect(QUALITY_LEVELS).toEqual(['preview', 'standard', 'reference']);
    expect(QUALITY_SETTINGS.reference).toMatchObject({ size: 512, steps: 1000, views: 16 });
    const totals = QUALITY_LEVELS.map((l) => estimateFlops(l, 512, 512).total);
    expect(totals[0]).toBeLessThan(totals[1]);
    expect(totals[1]).toBeLessThan(totals[2]);
    expect(totals[0]).toBeLessThan(0.15e15);
    expect(describeQuality('preview')).toMatch(/^Preview — 256 px, 300 steps, 4 views, ≈ 1\d\d TFLOP$/);
    expect(() => estimateFlops('ultra' as never, 512, 512)).toThrow(/quality level/);
  });
});

describe('applyQuality', () => {
  it('sets size, steps and views, rescales a bootstrap period, and stays valid', () => {
    const c = applyQuality(presetConfig('golden-horse'), 'preview');
    expect([c.resizeInput, c.nEpochs, c.nAug, c.bootstrapEpoch]).toEqual([256, 300, 4, 300]);
    expect(validateConfig(c)).toEqual(c);
    const r = applyQuality(DEFAULT_EDIT_CONFIG, 'reference');
    expect(r).toEqual(DEFAULT_EDIT_CONFIG);
    expect(applyQuality(DEFAULT_EDIT_CONFIG, 'standard').bootstrapEpoch).toBe(-1);
  });
});
