import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootstrapEnabled, ConfigError, DEFAULT_EDIT_CONFIG } from './config';
import { getPreset, presetConfig, PRESETS, presetsForImage } from './presets';

const IMAGES = new URL('../../../shared/data/images/', import.meta.url);

describe('presets', () => {
  it('all validate with prompts required, ids unique', () => {
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
    for (const p of PRESETS) {
      const c = presetConfig(p.id);
      expect(c.compText, p.id).not.toBe('');
      expect(typeof p.description).toBe('string');
      // Bootstrapped presets run it for the whole reference run, like golden_horse.
      if (p.settings.bootstrapText) expect(bootstrapEnabled(c), p.id).toBe(true);
    }
  });

  it('reproduce the reference examples (spec §A.1)', () => {
    expect(presetConfig('golden-horse')).toEqual({
      ...DEFAULT_EDIT_CONFIG,
      screenText: 'golden horse',
      compText: 'golden horse',
      srcText: 'horse',
      bootstrapText: 'horse',
      bootstrapEpoch: 1000,
    });
    const ice = presetConfig('ice-cake');
    expect([ice.screenText, ice.compText, ice.srcText, ice.bootstrapText]).toEqual(['ice', 'ice', 'cake', null]);
    expect(bootstrapEnabled(ice)).toBe(false);
  });

  it('our presets name sample images that exist', () => {
    const ours = PRESETS.filter((p) => p.origin === 'ours');
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const p of ours) expect(existsSync(new URL(p.image, IMAGES)), p.image).toBe(true);
    expect(presetsForImage('dog-on-bench.png').map((p) => p.id)).toContain('golden-dog');
    const dog = presetConfig('golden-dog');
    expect([dog.screenText, dog.srcText, dog.bootstrapText]).toEqual(['golden dog', 'dog', 'dog']);
  });

  it('overrides apply and unknown ids throw ConfigError', () => {
    expect(presetConfig('ice-cake', { nAug: 4 }).nAug).toBe(4);
    expect(() => getPreset('nope')).toThrow(ConfigError);
    expect(() => presetConfig('ice-cake', { nAug: -1 })).toThrow(/nAug/);
  });
});
