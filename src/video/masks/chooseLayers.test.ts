import { describe, expect, it } from 'vitest';
import { chooseLayers, NO_OBJECT_REASON } from './chooseLayers';
import type { MotionMasks } from './motionMasks';

const blank = () => new Uint8Array(16);
const spot = () => {
  const m = blank();
  m[5] = 255;
  return m;
};

function automatic(found: boolean): MotionMasks {
  const masks = [spot(), spot(), found ? spot() : blank()];
  return {
    width: 4,
    height: 4,
    masks,
    coverage: masks.map((m) => m.filter(Boolean).length / 16),
    found,
    framesWithObject: found ? 3 : 0,
    background: { model: 'affine', params: [], inlierFraction: [], residualScale: [] },
    thresholds: [],
  };
}

describe('chooseLayers', () => {
  it('background only when no object was found, with the UI sentence', () => {
    const c = chooseLayers({ automatic: automatic(false) });
    expect(c).toEqual({ mode: 'background-only', masks: null, source: 'none', reason: NO_OBJECT_REASON });
    expect(c.reason).toBe('No moving object found: the clip is decomposed into one background layer.');
    expect(chooseLayers({}).mode).toBe('background-only');
  });

  it('two layers from the automatic masks, or their relevancy refinement', () => {
    const auto = automatic(true);
    const c = chooseLayers({ automatic: auto });
    expect([c.mode, c.source, c.masks]).toEqual(['two-layers', 'motion', auto.masks]);
    expect(c.reason).toBe(
      'A moving object was found in 3 of 3 frames (6.3 % of the picture on average): background and object layers.',
    );
    const refined = [spot(), blank(), spot()];
    const r = chooseLayers({ automatic: auto, refined });
    expect([r.source, r.masks]).toEqual(['motion+relevancy', refined]);
    expect(r.reason).toMatch(/refined by CLIP relevancy/);
    // A refinement that removed everything is not used.
    expect(chooseLayers({ automatic: auto, refined: [blank(), blank(), blank()] }).source).toBe('motion');
  });

  it('the user decides first: background only, then their masks (empty ones mean one layer)', () => {
    const user = [spot(), spot(), spot()];
    expect(chooseLayers({ backgroundOnly: true, userMasks: user, automatic: automatic(true) }).mode).toBe(
      'background-only',
    );
    const u = chooseLayers({ userMasks: user, automatic: automatic(false) });
    expect([u.mode, u.source, u.masks]).toEqual(['two-layers', 'user', user]);
    const empty = chooseLayers({ userMasks: [blank(), blank()], automatic: automatic(true) });
    expect([empty.mode, empty.source]).toEqual(['background-only', 'none']);
    expect(empty.reason).toMatch(/masks given with the clip are empty/);
  });
});
