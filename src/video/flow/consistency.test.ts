import { describe, expect, it } from 'vitest';
import { planes, refForwardBackward } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { rand, testEngine } from '../../../test/gpu';
import { forwardBackwardValid } from './consistency';

describe('forwardBackwardValid', () => {
  const [n, h, w] = [2, 7, 9];
  const hw = h * w;

  /** Forward flows near a constant shift, backward flows undoing it with noise of `noise` px (so some pass, some fail). */
  function flows(noise: number, seed: number) {
    const flow = planes(2 * n, 2, h, w);
    const r = rand(flow.data.length, seed, -noise, noise);
    for (let p = 0; p < 2 * n; p++) {
      const sign = p < n ? 1 : -1;
      for (let k = 0; k < hw; k++) {
        flow.data[2 * p * hw + k] = sign * 1.3 + r[2 * p * hw + k];
        flow.data[(2 * p + 1) * hw + k] = -sign * 0.6 + r[(2 * p + 1) * hw + k];
      }
    }
    return flow;
  }

  it('matches the reference check: |f + b(x+f)|² < 0.01(|f|² + |b|²) + 0.5 and x + f inside', async () => {
    const e = await testEngine();
    for (const [noise, seed] of [
      [0.2, 19],
      [0.6, 20],
    ]) {
      const flow = flows(noise, seed);
      const out = await runOnGpu(e, [flow], (t) => forwardBackwardValid(t));
      const ref = refForwardBackward(flow);
      let passing = 0;
      for (let k = 0; k < out.data.length; k++) {
        expect(out.data[k], `pixel ${k}`).toBe(ref.valid.data[k]);
        passing += out.data[k];
      }
      // Both outcomes occur: border pixels that leave the frame fail, and with more noise more fail.
      expect(passing).toBeGreaterThan(0);
      expect(passing).toBeLessThan(out.data.length);
    }
  });

  it('passes a consistent pair and fails pixels whose flow leaves the frame', async () => {
    const e = await testEngine();
    const flow = flows(0, 1);
    const out = await runOnGpu(e, [flow], (t) => forwardBackwardValid(t));
    for (let p = 0; p < 2 * n; p++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [u, v] = p < n ? [1.3, -0.6] : [-1.3, 0.6];
          const inside = x + u >= 0 && x + u <= w - 1 && y + v >= 0 && y + v <= h - 1;
          expect(out.data[p * hw + y * w + x]).toBe(inside ? 1 : 0);
        }
      }
    }
  });

  it('refuses an odd pair count', async () => {
    const e = await testEngine();
    const t = e.zeros([3, 2, 4, 4]);
    expect(() => forwardBackwardValid(t)).toThrow(/backward partners/);
    t.release();
  });
});
