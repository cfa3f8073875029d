import { describe, expect, it } from 'vitest';
import { rand, testEngine } from '../../test/gpu';
import { Tape } from '../gpu/tape';
import { mse } from '../ops/loss';
import { Madgrad } from './madgrad';
import { ExponentialLr } from './schedule';
import { SkipGenerator } from './skip';

describe('training-step memory', () => {
  it('returns live pool bytes to the same baseline after each of 20 steps', async () => {
    const e = await testEngine();
    const g = SkipGenerator.create(e, { scales: 3, down: 8, up: 8, skip: 4 }, 3);
    const opt = new Madgrad(g.params, { lr: 0.0025, momentum: 0.9, weightDecay: 0.01, eps: 1e-6 });
    const lr = new ExponentialLr(0.0025, 0.99, 1e-5);
    const x = e.fromArray([1, 3, 17, 23], rand(3 * 17 * 23, 5, 0, 1)).keep();
    const target = e.fromArray([1, 4, 17, 23], rand(4 * 17 * 23, 6, 0, 1)).keep();
    const live: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      const loss = e.tidy(() => {
        const tape = Tape.start(e);
        const l = mse(g.forward(x), target);
        tape.backward(l);
        opt.step(lr.lr);
        lr.step();
        return l;
      });
      losses.push(await loss.item());
      loss.release();
      live.push(e.pool.stats().liveBytes);
    }
    // The first step creates the optimizer state (persistent); every step ends at the same live bytes.
    expect(new Set(live).size).toBe(1);
    // And the optimizer actually trains the network.
    expect(losses[19]).toBeLessThan(losses[0]);
    x.release();
    target.release();
    g.dispose();
  });
});
