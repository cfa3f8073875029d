import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { add, mul, scale } from '../ops/elementwise';
import { EngineError } from './errors';
import { Tape } from './tape';

describe('Tape', () => {
  it('backpropagates from several seeded outputs at once and sums their contributions', async () => {
    const e = await testEngine();
    const x = e.fromArray([3], [1, 2, 3]).keep();
    x.requiresGrad = true;
    const grad = await e
      .tidy(() => {
        const tape = Tape.start(e);
        const y = mul(x, x); // dy/dx = 2x
        const z = scale(x, 3); // dz/dx = 3
        tape.backwardMany([
          { output: y, grad: e.fromArray([3], [1, 1, 1]) },
          { output: z, grad: e.fromArray([3], [10, 0, 1]) },
        ]);
        return x.grad!;
      })
      .read();
    expect([...grad]).toEqual([2 + 30, 4, 6 + 3]);
    x.release();
  });

  it('adds to a leaf gradient from an earlier backward when asked to accumulate, else replaces it', async () => {
    const e = await testEngine();
    const x = e.fromArray([3], [1, 2, 3]).keep();
    x.requiresGrad = true;
    const pass = (accumulate: boolean) =>
      e.tidy(() => {
        const tape = Tape.start(e);
        tape.backwardMany([{ output: mul(x, x), grad: e.fromArray([3], [1, 1, 1]) }], [], { accumulate });
        return x.grad!;
      });
    const first = pass(false);
    const second = pass(true); // 2x + 2x
    expect(first.released).toBe(true);
    expect([...(await second.read())]).toEqual([4, 8, 12]);
    const replaced = pass(false);
    expect([...(await replaced.read())]).toEqual([2, 4, 6]);
    for (const t of [second, replaced, x]) t.release();
  });

  it('returns the gradients of intermediates it was asked to keep', async () => {
    const e = await testEngine();
    const x = e.fromArray([2], [1, 2]).keep();
    x.requiresGrad = true;
    const kept = await e
      .tidy(() => {
        const tape = Tape.start(e);
        const h = add(x, x);
        const y = mul(h, h); // dy/dh = 2h = 4x
        const g = tape.backward(y, e.fromArray([2], [1, 1]), [h]);
        return g.get(h)!;
      })
      .read();
    expect([...kept]).toEqual([4, 8]);
    x.release();
  });

  it('refuses a non-scalar output without a seed', async () => {
    const e = await testEngine();
    const x = e.fromArray([2], [1, 2]);
    x.requiresGrad = true;
    const tape = Tape.start(e);
    const y = mul(x, x);
    expect(() => tape.backward(y)).toThrow(EngineError);
  });
});
