/**
 * The atlas fitter's MLPs are `linear` + `relu` on point batches [N, in]: a whole tiny mapping MLP 3→32→32→2, its
 * output and every parameter gradient (trainable weights [out, in] and biases [out]) against a float64 reference and
 * central finite differences.
 */
import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { relu } from './activation';
import { linear } from './matmul';

const WIDTHS = [3, 32, 32, 2];
const N = 24;

interface Layer {
  w: Float32Array;
  b: Float32Array;
}

function makeLayers(seed: number): Layer[] {
  return WIDTHS.slice(1).map((out, l) => {
    const inF = WIDTHS[l];
    const bound = 1 / Math.sqrt(inF);
    return { w: rand(out * inF, seed + 2 * l, -bound, bound), b: rand(out, seed + 2 * l + 1, -bound, bound) };
  });
}

function mlp(x: Tensor, params: Tensor[]): Tensor {
  let h = x;
  for (let l = 0; l < params.length / 2; l++) {
    h = linear(h, params[2 * l], params[2 * l + 1]);
    if (l < params.length / 2 - 1) h = relu(h);
  }
  return h;
}

/** Float64 forward and backward for output gradient g: dx and per layer dW [out, in], db [out]. */
function reference(x: Float32Array, layers: Layer[], g: Float32Array) {
  const acts: Float64Array[] = [Float64Array.from(x)];
  const pre: Float64Array[] = [];
  layers.forEach(({ w, b }, l) => {
    const [inF, out] = [WIDTHS[l], WIDTHS[l + 1]];
    const h = acts[l];
    const z = new Float64Array(N * out);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < out; o++) {
        let s = b[o];
        for (let i = 0; i < inF; i++) s += h[n * inF + i] * w[o * inF + i];
        z[n * out + o] = s;
      }
    pre.push(z);
    acts.push(l < layers.length - 1 ? z.map((v) => Math.max(v, 0)) : z);
  });
  let gz = Float64Array.from(g);
  const grads: Array<{ w: Float64Array; b: Float64Array }> = [];
  for (let l = layers.length - 1; l >= 0; l--) {
    const [inF, out] = [WIDTHS[l], WIDTHS[l + 1]];
    if (l < layers.length - 1) gz = gz.map((v, k) => (pre[l][k] > 0 ? v : 0));
    const gw = new Float64Array(out * inF);
    const gb = new Float64Array(out);
    const gh = new Float64Array(N * inF);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < out; o++) {
        const v = gz[n * out + o];
        gb[o] += v;
        for (let i = 0; i < inF; i++) {
          gw[o * inF + i] += v * acts[l][n * inF + i];
          gh[n * inF + i] += v * layers[l].w[o * inF + i];
        }
      }
    grads.unshift({ w: gw, b: gb });
    gz = gh;
  }
  return { y: acts[acts.length - 1], dx: gz, grads };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(maxAbs(want), 1e-12);
}

describe('point MLP (linear + relu)', () => {
  const x = rand(N * 3, 1);
  const layers = makeLayers(10);
  const shapes = layers.flatMap(({ b }, l) => [[WIDTHS[l + 1], WIDTHS[l]], [b.length]]);
  const paramData = layers.flatMap(({ w, b }) => [w, b]);

  it('matches a float64 reference forward and gives every weight, bias and the input their gradients', async () => {
    const e = await testEngine();
    const g = rand(N * 2, 2);
    const res = e.tidy(() => {
      const tx = e.fromArray([N, 3], x);
      const ps = paramData.map((d, k) => e.fromArray(shapes[k], d));
      for (const t of [tx, ...ps]) t.requiresGrad = true;
      const tape = Tape.start(e);
      const y = mlp(tx, ps);
      tape.backward(y, e.fromArray(y.shape, g));
      return { y, dx: tx.grad!, dps: ps.map((t) => t.grad!) };
    });
    const want = reference(x, layers, g);
    expect(res.y.shape).toEqual([N, 2]);
    expect(relErr(await res.y.read(), want.y)).toBeLessThan(1e-5);
    expect(relErr(await res.dx.read(), want.dx)).toBeLessThan(1e-5);
    for (let l = 0; l < layers.length; l++) {
      expect(relErr(await res.dps[2 * l].read(), want.grads[l].w), `dW${l}`).toBeLessThan(1e-5);
      expect(relErr(await res.dps[2 * l + 1].read(), want.grads[l].b), `db${l}`).toBeLessThan(1e-5);
    }
    for (const t of [res.y, res.dx, ...res.dps]) t.release();
  });

  it('has gradients that match central finite differences', async () => {
    const e = await testEngine();
    // A bias step moves all N pre-activations of its unit: it must stay below their distance to ReLU's kink at 0
    // (a step of 1e-3 crosses one with this data).
    const r = await gradCheck(
      e,
      (tx, ...ps) => mlp(tx, ps),
      [{ shape: [N, 3], data: x }, ...paramData.map((data, k) => ({ shape: shapes[k], data }))],
      { eps: 1e-4, probes: 12 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });
});
