import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { concat, narrow, reshape, sliceLastDims, transpose } from './shape';

/** Row-major reference gather: out[c] = x[f(c)] over an output shape. */
function gatherRef(shape: number[], f: (c: number[]) => number, x: ArrayLike<number>): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c: number[] = [];
    let r = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      c[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    const src = f(c);
    out[i] = src < 0 ? 0 : x[src];
  }
  return out;
}

function flatIndex(shape: readonly number[], c: number[]): number {
  return c.reduce((acc, v, d) => acc * shape[d] + v, 0);
}

describe('shape ops', () => {
  it('transposes rank ≤ 4 tensors by any permutation', async () => {
    const e = await testEngine();
    const cases: Array<[number[], number[]]> = [
      [
        [2, 5, 3, 4],
        [0, 2, 1, 3],
      ], // [B,N,H,D] ↔ [B,H,N,D]
      [
        [2, 5, 3, 4],
        [3, 1, 0, 2],
      ],
      [
        [3, 7, 2],
        [2, 0, 1],
      ],
      [
        [6, 5],
        [1, 0],
      ],
      [
        [4, 3],
        [0, 1],
      ],
    ];
    for (const [shape, perm] of cases) {
      const x = rand(
        shape.reduce((a, b) => a * b, 1),
        shape.length,
      );
      const y = e.tidy(() => transpose(e.fromArray(shape, x), perm));
      const outShape = perm.map((d) => shape[d]);
      expect(y.shape).toEqual(outShape);
      const want = gatherRef(
        outShape,
        (c) => {
          const src: number[] = [];
          perm.forEach((d, i) => (src[d] = c[i]));
          return flatIndex(shape, src);
        },
        x,
      );
      expect([...(await y.read())]).toEqual([...want]);
      y.release();
    }
  });

  it('narrows, slices and concatenates along any dim', async () => {
    const e = await testEngine();
    const shape = [3, 4, 5];
    const x = rand(60, 7);
    for (const [dim, start, len] of [
      [0, 1, 2],
      [1, 0, 1],
      [-1, 2, 3],
    ]) {
      const d = dim < 0 ? dim + 3 : dim;
      const y = e.tidy(() => narrow(e.fromArray(shape, x), dim, start, len));
      const outShape = shape.map((s, i) => (i === d ? len : s));
      expect(y.shape).toEqual(outShape);
      const want = gatherRef(
        outShape,
        (c) =>
          flatIndex(
            shape,
            c.map((v, i) => (i === d ? v + start : v)),
          ),
        x,
      );
      expect([...(await y.read())]).toEqual([...want]);
      y.release();
    }
    const s = e.tidy(() => sliceLastDims(e.fromArray(shape, x), [1, 2], [2, 3]));
    expect(s.shape).toEqual([3, 2, 3]);
    const wantS = gatherRef([3, 2, 3], (c) => flatIndex(shape, [c[0], c[1] + 1, c[2] + 2]), x);
    expect([...(await s.read())]).toEqual([...wantS]);
    s.release();

    for (const dim of [0, 1, 2]) {
      const parts = [1, 2, 3].map((k) => shape.map((v, i) => (i === dim ? k : v)));
      const datas = parts.map((p, k) =>
        rand(
          p.reduce((a, b) => a * b, 1),
          20 + k,
        ),
      );
      const y = e.tidy(() =>
        concat(
          parts.map((p, k) => e.fromArray(p, datas[k])),
          dim,
        ),
      );
      const outShape = shape.map((v, i) => (i === dim ? 6 : v));
      expect(y.shape).toEqual(outShape);
      // Each output element comes from the part that owns its coordinate along dim.
      const got = await y.read();
      const n = got.length;
      for (let i = 0; i < n; i++) {
        const c: number[] = [];
        let r = i;
        for (let d = 2; d >= 0; d--) {
          c[d] = r % outShape[d];
          r = Math.floor(r / outShape[d]);
        }
        const j = c[dim];
        const k = j < 1 ? 0 : j < 3 ? 1 : 2;
        expect(got[i]).toBe(
          datas[k][
            flatIndex(
              parts[k],
              c.map((v, ii) => (ii === dim ? v - [0, 1, 3][k] : v)),
            )
          ],
        );
      }
      y.release();
    }
  });

  it('reshapes with an inferred dim and differentiates through it', async () => {
    const e = await testEngine();
    const x = rand(24, 3);
    const y = e.tidy(() => reshape(e.fromArray([2, 3, 4], x), [6, -1]));
    expect(y.shape).toEqual([6, 4]);
    expect([...(await y.read())]).toEqual([...x]);
    y.release();
    const g = e.tidy(() => {
      const t = e.fromArray([2, 3, 4], x);
      t.requiresGrad = true;
      const tape = Tape.start(e);
      const r = reshape(t, [4, 6]);
      tape.backward(r, e.fromArray([4, 6], x));
      return t.grad!;
    });
    expect(g.shape).toEqual([2, 3, 4]);
    expect([...(await g.read())]).toEqual([...x]);
    g.release();
  });

  it('has backward passes that match finite differences', async () => {
    const e = await testEngine();
    const f = (a: Tensor, b: Tensor) => {
      const t = transpose(reshape(a, [2, 3, 2, 2]), [0, 2, 1, 3]); // [2,2,3,2]
      const n = narrow(t, 2, 1, 2); // [2,2,2,2]
      const s = sliceLastDims(n, [0, 1], [2, 1]); // [2,2,2,1]
      return concat([s, b, s], 3); // [2,2,2,4]
    };
    const r = await gradCheck(e, f, [
      { shape: [2, 12], data: rand(24, 41) },
      { shape: [2, 2, 2, 2], data: rand(16, 42) },
    ]);
    expect(r.worst).toBeLessThan(1e-3);
  });

  it('throws EngineError on bad requests before any GPU work', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const x = e.fromArray([2, 3, 4], rand(24, 1));
      const count = e.dispatchCount;
      expect(() => transpose(x, [0, 0, 1])).toThrow(EngineError);
      expect(() => transpose(x, [1, 0])).toThrow(/perm/);
      expect(() => transpose(e.fromArray([1, 1, 1, 1, 2], [1, 2]), [0, 1, 2, 3, 4])).toThrow(EngineError);
      expect(() => reshape(x, [5, 5])).toThrow(/cannot become/);
      expect(() => reshape(x, [-1, -1])).toThrow(EngineError);
      expect(() => narrow(x, 3, 0, 1)).toThrow(/dim 3/);
      expect(() => narrow(x, 1, 2, 2)).toThrow(EngineError);
      expect(() => sliceLastDims(x, [0, 0], [1])).toThrow(EngineError);
      expect(() => concat([x, e.fromArray([2, 4, 4], rand(32, 2))], 2)).toThrow(/agree/);
      expect(() => concat([], 0)).toThrow(EngineError);
      expect(e.dispatchCount).toBe(count);
    });
  });
});
