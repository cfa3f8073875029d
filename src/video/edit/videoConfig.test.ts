import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../edit/config';
import { defaultLayer, resolveVideoConfig, VIDEO_PRESETS, VIDEO_QUALITY, videoPreset } from './videoConfig';

describe('video edit settings (spec §B.1)', () => {
  it('uses the video example configs’ values, with the level’s steps and views under the user’s', () => {
    const c = resolveVideoConfig('reference', { compText: 'golden swan', screenText: 'golden swan' });
    expect(c).toMatchObject({
      lambdaStructure: 3,
      lambdaSparsity: 0.1,
      lambdaAlphaL0: 0.005,
      lambdaAlphaL1: 0.01,
      clipAffineTransformFill: 0,
      bootstrapScheduler: 'none',
      gamma: 0.999,
      nAug: 6,
      nEpochs: 3000,
      optimizer: 'madgrad',
    });
    expect(resolveVideoConfig('preview').nEpochs).toBe(VIDEO_QUALITY.preview.steps);
    expect(resolveVideoConfig('preview', { nEpochs: 17 }).nEpochs).toBe(17);
    expect(resolveVideoConfig('tiny').numScales).toBe(3);
    expect(() => resolveVideoConfig('standard', { lambdaStructure: -1 })).toThrow(ConfigError);
  });

  it('has every reference video preset, each a valid configuration', () => {
    expect(VIDEO_PRESETS).toHaveLength(14);
    for (const p of VIDEO_PRESETS) {
      const c = resolveVideoConfig('standard', p.settings);
      expect(c.compText, p.id).toBeTruthy();
      expect(c.screenText, p.id).toBeTruthy();
    }
    expect(resolveVideoConfig('reference', videoPreset('car-turn-nighttime').settings).nEpochs).toBe(1500);
    expect(videoPreset('car-turn-rusty').settings.bootstrapText).toBe('car');
    expect(() => videoPreset('blackswan-silver')).toThrow(/one of blackswan-crochet/);
  });

  it('picks the layer: the preset’s, else the foreground when a text names the object', () => {
    expect(defaultLayer({}, videoPreset('lucia-fog'), true)).toBe('background');
    expect(defaultLayer({}, videoPreset('blackswan-gold'), true)).toBe('foreground');
    expect(defaultLayer({ srcText: 'swan' }, null, true)).toBe('foreground');
    expect(defaultLayer({ bootstrapText: 'car' }, null, true)).toBe('foreground');
    expect(defaultLayer({ srcText: ' ' }, null, true)).toBe('background');
    expect(defaultLayer({ srcText: 'swan' }, null, false)).toBe('background');
  });
});
