/**
 * Motion masks on synthetic clips (test/syntheticClip.ts) through the real flow: a textured disc over a panning
 * background is found and matches its true mask; a pan alone has no object. Set MASKS_LOG=1 to print the figures.
 */
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { type SyntheticClip, syntheticClip } from '../../../test/syntheticClip';
import type { Engine } from '../../gpu/engine';
import { framesTensor } from '../atlas/clipData';
import { computeFlows } from '../flow';
import { clipIou, iou } from './maskMetrics';
import { motionMasks } from './motionMasks';
import type { MotionMaskOptions } from './maskOptions';

const log = (...args: unknown[]) => {
  if (process.env.MASKS_LOG) console.log(...args);
};

async function masksOf(engine: Engine, clip: SyntheticClip, opts: MotionMaskOptions = {}) {
  const frames = framesTensor(engine, clip);
  const flows = computeFlows(engine, frames);
  try {
    return await motionMasks(engine, flows, { ...opts, frames });
  } finally {
    for (const t of [frames, ...Object.values(flows)]) t.release();
  }
}

describe('motionMasks', () => {
  it('finds the moving disc of the two-layer clip (48×32): IoU ≥ 0.8 against its true mask', async () => {
    const e = await testEngine();
    const clip = syntheticClip();
    const r = await masksOf(e, clip);
    const perFrame = r.masks.map((m, t) => iou(m, clip.masks[t]));
    const whole = clipIou(r.masks, clip.masks);
    log('two-layer clip 48×32', { perFrame, clip: whole, coverage: r.coverage, found: r.found });
    expect(r.found).toBe(true);
    expect(r.masks).toHaveLength(clip.frames.length);
    expect(r.masks[0]).toHaveLength(clip.width * clip.height);
    expect(whole).toBeGreaterThanOrEqual(0.8);
    // Frames with both flow directions. The first and last frames have one direction, whose occlusion bias shifts
    // the mask by a pixel along the relative motion, a quarter of a 7-px disc's area (measured 0.73 and 0.82).
    for (const v of perFrame.slice(1, -1)) expect(v).toBeGreaterThanOrEqual(0.8);
    for (const v of [perFrame[0], perFrame.at(-1)!]) expect(v).toBeGreaterThanOrEqual(0.65);
    // The background fit recovers the pan (the content moves by (1.25, 0.5) px per frame).
    expect(r.background.model).toBe('homography');
    expect(r.background.params).toHaveLength(clip.frames.length - 1);
    for (const p of r.background.params) {
      expect(Math.abs(p[2] - 1.25)).toBeLessThan(0.1);
      expect(Math.abs(p[5] - 0.5)).toBeLessThan(0.1);
    }
  });

  it('at 96×64 (a 14-px disc) every frame reaches IoU ≥ 0.85', async () => {
    const e = await testEngine();
    const clip = syntheticClip({
      width: 96,
      height: 64,
      disc: { velocity: [-1.5, 0.75], radius: 14, start: [59, 27] },
    });
    const r = await masksOf(e, clip);
    const perFrame = r.masks.map((m, t) => iou(m, clip.masks[t]));
    log('two-layer clip 96×64', { perFrame, clip: clipIou(r.masks, clip.masks), coverage: r.coverage });
    expect(r.found).toBe(true);
    for (const v of perFrame) expect(v).toBeGreaterThanOrEqual(0.85);
  });

  it('finds no object in a camera pan without a disc', async () => {
    const e = await testEngine();
    const clip = syntheticClip({ disc: { velocity: [0, 0], radius: 0, start: [0, 0] } });
    expect(clip.masks.every((m) => m.every((v) => v === 0))).toBe(true);
    const r = await masksOf(e, clip);
    log('pan only', { coverage: r.coverage, found: r.found, framesWithObject: r.framesWithObject });
    expect(r.found).toBe(false);
    expect(Math.max(...r.coverage)).toBeLessThan(0.005);
  });
});
