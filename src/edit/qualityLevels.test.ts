import { describe, expect, it } from 'vitest';
import { ConfigError } from './config';
import { fullResolutionExport, levelDefaults, qualityLabel, resolveConfig } from './qualityLevels';

const prompts = { screenText: 'golden', compText: 'golden horse', srcText: 'horse' };

describe('app quality levels', () => {
  it('apply the level’s size, steps and views on top of the settings', () => {
    const c = resolveConfig('preview', { ...prompts, lambdaScreen: 3 });
    expect([c.resizeInput, c.nEpochs, c.nAug]).toEqual([256, 300, 4]);
    expect(c.lambdaScreen).toBe(3);
    expect(c.compText).toBe('golden horse');
    expect(resolveConfig('reference', prompts).nEpochs).toBe(1000);
  });

  it('rescale a bootstrap period given in reference steps; explicit level keys win', () => {
    const c = resolveConfig('preview', { ...prompts, bootstrapText: 'horse', bootstrapEpoch: 1000 });
    expect(c.bootstrapEpoch).toBe(300);
    const d = resolveConfig('standard', { ...prompts, nEpochs: 50, nAug: 2 });
    expect([d.resizeInput, d.nEpochs, d.nAug]).toEqual([384, 50, 2]);
  });

  it('has a tiny test level with a small generator', () => {
    const t = levelDefaults('tiny');
    expect([t.resizeInput, t.nEpochs, t.nAug, t.skipN33d, t.numScales]).toEqual([64, 40, 2, 8, 3]);
    expect(qualityLabel('tiny')).toBe('Tiny (test)');
    // Tiny renders downloads at full resolution so that the end-to-end tests cover that render; Preview does not.
    expect(fullResolutionExport('tiny')).toBe(true);
    expect(fullResolutionExport('preview')).toBe(false);
    expect(fullResolutionExport('reference')).toBe(true);
  });

  it('reject invalid settings with the config’s error', () => {
    expect(() => resolveConfig('preview', { lr: -1 })).toThrow(ConfigError);
  });
});
