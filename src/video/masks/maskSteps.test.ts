/** The per-pixel steps of the motion masks on hand-made data: threshold, coherence, temporal vote, metrics. */
import { describe, expect, it } from 'vitest';
import { flowGradientMagnitude } from './flowCoherence';
import type { HostFlows } from './hostFlows';
import { clipIou, coverage, iou } from './maskMetrics';
import { resolveMotionMaskOptions } from './maskOptions';
import { residualThreshold, thresholdAt } from './residualThreshold';
import { temporalVote } from './temporalVote';

describe('residualThreshold', () => {
  const n = 1000;
  const modelLength = new Float32Array(n).fill(2);
  const valid = new Float32Array(n).fill(1);

  it('is the noise part, max(0.5 px, 3σ) + 0.1·|model|, when too few pixels exceed it', () => {
    const residual = new Float32Array(n).fill(0.1);
    residual.fill(5, 0, 10);
    const t = residualThreshold(residual, modelLength, valid, 0.1, 50);
    expect(t).toEqual({ noise: 0.5, relative: 0.1, object: 0, candidates: 10 });
    expect(thresholdAt(t, 2)).toBeCloseTo(0.7, 6);
    expect(residualThreshold(residual, modelLength, valid, 0.4, 50).noise).toBeCloseTo(1.2, 6);
  });

  it('rises to half the 0.9 quantile of the candidates when an object is there; invalid pixels do not count', () => {
    const residual = new Float32Array(n).fill(0.1);
    // 200 candidates: residuals 1.01 … 3.00 (a ramp), the 0.9 quantile ≈ 2.80.
    for (let k = 0; k < 200; k++) residual[k] = 1 + (k + 1) / 100;
    const t = residualThreshold(residual, modelLength, valid, 0.1, 50);
    expect(t.candidates).toBe(200);
    expect(t.object).toBeCloseTo(0.5 * 2.8, 1);
    expect(thresholdAt(t, 2)).toBe(t.object);
    const someInvalid = Float32Array.from(valid, (_, k) => (k < 180 ? 0 : 1));
    expect(residualThreshold(residual, modelLength, someInvalid, 0.1, 50).object).toBe(0);
  });
});

describe('flowGradientMagnitude', () => {
  it('is the central-difference |∇f|: 0 for a translation, the scale for a zoom, large at a motion edge', () => {
    const [w, h] = [6, 5];
    const flow = new Float32Array(2 * w * h);
    for (let k = 0; k < w * h; k++) {
      const [x, y] = [k % w, Math.floor(k / w)];
      flow[k] = 0.02 * x + 3; // u = 0.02·x: ∂u/∂x = 0.02
      flow[w * h + k] = 0.02 * y; // ∂v/∂y = 0.02
    }
    const g = flowGradientMagnitude(flow, w, h);
    // Interior: √(0.02² + 0.02²); at the borders one derivative is halved (replicated neighbour).
    expect(g[2 * w + 2]).toBeCloseTo(Math.hypot(0.02, 0.02), 6);
    expect(g[2 * w]).toBeCloseTo(Math.hypot(0.01, 0.02), 6);
    const edge = new Float32Array(2 * w * h);
    for (let k = 0; k < w * h; k++) edge[k] = k % w < 3 ? 0 : 2;
    const e = flowGradientMagnitude(edge, w, h);
    expect(e[2 * w + 2]).toBeCloseTo(1, 6);
    expect(e[2 * w]).toBe(0);
  });
});

describe('temporalVote', () => {
  const [w, h] = [6, 1];
  /** Three frames, every pixel moving by +1 px in x forward (and −1 backward); validity as given. */
  function flows(valid = 1): HostFlows {
    const plane = (u: number) => Float32Array.from({ length: 2 * 2 * w * h }, (_, i) => ((i / w) % 2 < 1 ? u : 0));
    return {
      width: w,
      height: h,
      pairs: 2,
      forward: plane(1),
      backward: plane(-1),
      forwardValid: new Float32Array(2 * w * h).fill(valid),
      backwardValid: new Float32Array(2 * w * h).fill(valid),
    };
  }
  const m = (s: string) => Uint8Array.from(s, (c) => (c === '#' ? 255 : 0));
  const show = (a: Uint8Array) => Array.from(a, (v) => (v ? '#' : '.')).join('');

  it('removes a one-frame flicker and keeps a moving edge (majority over t − 1, t, t + 1 through the flow)', () => {
    // An object moving right by 1 px per frame, with a false pixel at x = 3 in frame 1.
    const out = temporalVote([m('##....'), m('.##.#.'), m('..##..')], flows()).map(show);
    expect(out).toEqual(['##....', '.##...', '..##..']);
  });

  it('breaks ties by the pixel’s own label and ignores invalid flow', () => {
    // Frame 0 sees only frame 1 (one neighbour): a tie keeps its own label.
    expect(show(temporalVote([m('#.....'), m('......'), m('......')], flows())[0])).toBe('#.....');
    // With invalid flow nothing is compared: the masks stay as they were.
    const masks = ['#.....', '.#.#..', '#..#.#'];
    expect(temporalVote(masks.map(m), flows(0)).map(show)).toEqual(masks);
  });
});

describe('mask metrics and options', () => {
  it('coverage, IoU per frame and over the clip', () => {
    const a = Uint8Array.of(255, 255, 0, 0);
    const b = Uint8Array.of(255, 0, 255, 0);
    expect(coverage(a)).toBe(0.5);
    expect(iou(a, b)).toBeCloseTo(1 / 3, 12);
    expect(iou(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    // Pooled: (1 + 4) / (3 + 4), not the mean of 1/3 and 1.
    expect(clipIou([a, new Uint8Array(4).fill(1)], [b, new Uint8Array(4).fill(1)])).toBeCloseTo(5 / 7, 12);
  });

  it('scales the radii and areas with the frame, and refuses bad settings', () => {
    const o = resolveMotionMaskOptions(384, 216);
    expect([o.openRadius, o.closeRadius, o.coreReach, o.minComponentArea]).toEqual([2, 4, 5, 166]);
    const big = resolveMotionMaskOptions(768, 432);
    expect([big.openRadius, big.closeRadius, big.coreReach, big.minComponentArea]).toEqual([4, 9, 9, 664]);
    const tiny = resolveMotionMaskOptions(48, 32);
    expect([tiny.openRadius, tiny.closeRadius, tiny.coreReach, tiny.minComponentArea]).toEqual([1, 1, 5, 4]);
    expect(() => resolveMotionMaskOptions(48, 32, { coherence: 0 })).toThrow(/coherence/);
    expect(() => resolveMotionMaskOptions(48, 32, { minCoverage: 2 })).toThrow(/minCoverage/);
  });
});
