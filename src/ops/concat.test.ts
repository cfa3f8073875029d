import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { concatChannels } from './concat';

/** CPU torch.cat(xs, dim=1). */
function catRef(shapes: number[][], datas: Float32Array[]): number[] {
  const [n, , h, w] = shapes[0];
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    shapes.forEach((s, k) => {
      const per = s[1] * h * w;
      out.push(...datas[k].subarray(b * per, (b + 1) * per));
    });
  }
  return out;
}

describe('concatChannels', () => {
  it('concatenates along channels and splits the gradient back', async () => {
    const e = await testEngine();
    for (const [k, shapes] of [
      [
        [1, 3, 5, 7],
        [1, 1, 5, 7],
        [1, 4, 5, 7],
      ],
      [
        [2, 2, 5, 7],
        [2, 3, 5, 7],
      ],
      [[2, 3, 2, 2]],
    ].entries()) {
      const datas = shapes.map((s, i) =>
        rand(
          s.reduce((a, b) => a * b),
          10 * k + i,
        ),
      );
      const want = catRef(shapes, datas);
      const { y, grads } = e.tidy(() => {
        const xs = shapes.map((s, i) => e.fromArray(s, datas[i]));
        xs.forEach((x, i) => (x.requiresGrad = i !== 1));
        const tape = Tape.start(e);
        const out = concatChannels(xs);
        const ctot = shapes.reduce((a, s) => a + s[1], 0);
        expect(out.shape).toEqual([shapes[0][0], ctot, shapes[0][2], shapes[0][3]]);
        // With gy = y the gradient of each input is the input itself.
        tape.backward(out, out);
        return { y: out, grads: xs.map((x) => x.grad) };
      });
      expect([...(await y.read())]).toEqual(want);
      for (const [i, g] of grads.entries()) {
        if (i === 1) expect(g).toBeNull();
        else expect([...(await g!.read())]).toEqual([...datas[i]]);
      }
    }
  });

  it('has a backward that matches finite differences', async () => {
    const e = await testEngine();
    const r = await gradCheck(e, (a, b) => concatChannels([a, b, a]), [
      { shape: [2, 2, 3, 5], data: rand(60, 1) },
      { shape: [2, 3, 3, 5], data: rand(90, 2) },
    ]);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects mismatched shapes with an EngineError', async () => {
    const e = await testEngine();
    const a = e.fromArray([1, 2, 3, 3], rand(18, 1));
    const dispatches = e.dispatchCount;
    expect(() => concatChannels([a, e.fromArray([1, 2, 3, 4], rand(24, 1))])).toThrow(EngineError);
    expect(() => concatChannels([a, e.fromArray([1, 2, 3, 4], rand(24, 1))])).toThrow(/\[1,2,3,3\], \[1,2,3,4\]/);
    expect(() => concatChannels([a, e.fromArray([2, 2, 3, 3], rand(36, 1))])).toThrow(EngineError);
    expect(() => concatChannels([a, e.fromArray([2, 3, 3], rand(18, 1))])).toThrow(EngineError);
    expect(() => concatChannels([])).toThrow(EngineError);
    expect(e.dispatchCount).toBe(dispatches);
  });
});
