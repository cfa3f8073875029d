import { describe, expect, it } from 'vitest';
import { refComputeFlows } from '../../../test/flowReference';
import { render, smoothTexture, stack, toPlanes, toTensor } from '../../../test/flowScenes';
import { maxAbsDiff, testEngine } from '../../../test/gpu';
import { computeFlows } from './computeFlows';
import { flowDispatchCount } from './cost';
import { resolveFlowOptions } from './options';

/** A clip of `frames` frames of a texture panning by (dx, dy) px per frame. */
function panningClip(frames: number, h: number, w: number, dx: number, dy: number, seed: number) {
  const tex = smoothTexture(seed);
  return stack(Array.from({ length: frames }, (_, t) => render(h, w, (x, y) => tex(x - t * dx, y - t * dy))));
}

describe('computeFlows', () => {
  it('agrees with the TypeScript reference pipeline on a tiny clip', async () => {
    const e = await testEngine();
    const clip = panningClip(3, 16, 20, 0.8, -0.4, 21);
    const opts = { levels: 2, warps: 2, jacobiIterations: 6 };
    const field = e.tidy(() => computeFlows(e, toTensor(e, clip), opts));
    const [fw, bw, fv, bv] = await Promise.all(
      [field.forward, field.backward, field.forwardValid, field.backwardValid].map(toPlanes),
    );
    const ref = refComputeFlows(clip, { ...resolveFlowOptions(16, 20, opts) });
    const half = ref.flow.data.length / 2;
    expect(maxAbsDiff(fw.data, ref.flow.data.subarray(0, half))).toBeLessThan(1e-4);
    expect(maxAbsDiff(bw.data, ref.flow.data.subarray(half))).toBeLessThan(1e-4);
    const validHalf = ref.valid.data.length / 2;
    // A mask bit may flip only where the check sits on its threshold within float32 rounding.
    let flips = 0;
    fv.data.forEach((v, k) => (flips += v !== ref.valid.data[k] ? 1 : 0));
    bv.data.forEach((v, k) => (flips += v !== ref.valid.data[validHalf + k] ? 1 : 0));
    expect(flips).toBe(0);
    for (const t of Object.values(field)) t.release();
  });

  it('runs the predicted number of dispatches, the same for 2 and 5 frames', async () => {
    const e = await testEngine();
    const counts: number[] = [];
    for (const frames of [2, 5]) {
      const clip = e.zeros([frames, 3, 32, 40]);
      const before = e.dispatchCount;
      const field = computeFlows(e, clip, { jacobiIterations: 4 });
      counts.push(e.dispatchCount - before);
      for (const t of [clip, ...Object.values(field)]) t.release();
    }
    const o = resolveFlowOptions(32, 40, { jacobiIterations: 4 });
    expect(counts).toEqual([flowDispatchCount(o), flowDispatchCount(o)]);
    // 2 levels: grey 1, pyramid 3, 2 × 3 warps × (warp, products, 2 blurs, 4 Jacobi, median), upsample 1, check 1.
    expect(counts[0]).toBe(1 + 3 + 2 * 3 * 9 + 1 + 1);
    // The recipe's settings at 384×216: 4 levels.
    expect(flowDispatchCount(resolveFlowOptions(216, 384))).toBe(434);
  });

  it('refuses one frame, the wrong channels and bad options', async () => {
    const e = await testEngine();
    const one = e.zeros([1, 3, 8, 8]);
    const grey = e.zeros([2, 1, 8, 8]);
    expect(() => computeFlows(e, one)).toThrow(/two frames/);
    expect(() => computeFlows(e, grey)).toThrow(/\[N,3,H,W\]/);
    expect(() => resolveFlowOptions(32, 32, { lambda: 0 })).toThrow(/λ/);
    expect(() => resolveFlowOptions(32, 32, { levels: 9 })).toThrow(/levels/);
    one.release();
    grey.release();
  });
});
