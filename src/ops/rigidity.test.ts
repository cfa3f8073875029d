import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Tape } from '../gpu/tape';
import { RIGIDITY_INVERSE_EPS, rigidityLoss } from './rigidity';

const DELTA = 0.1;
const SCALE = 0.5;

/** Float64 reference straight from the definition: M = JᵀJ, ‖M‖_F + ‖(M + εI)⁻¹‖_F (explicit 2×2 inverse), mean. */
function reference(uv: ArrayLike<number>, dx: ArrayLike<number>, dy: ArrayLike<number>, eps = RIGIDITY_INVERSE_EPS) {
  const N = uv.length / 2;
  const h = DELTA * SCALE;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const J = [
      [(dx[2 * n] - uv[2 * n]) / h, (dy[2 * n] - uv[2 * n]) / h],
      [(dx[2 * n + 1] - uv[2 * n + 1]) / h, (dy[2 * n + 1] - uv[2 * n + 1]) / h],
    ];
    const M = [0, 1].map((i) => [0, 1].map((j) => J[0][i] * J[0][j] + J[1][i] * J[1][j]));
    const A = [
      [M[0][0] + eps, M[0][1]],
      [M[1][0], M[1][1] + eps],
    ];
    const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
    const inv = [
      [A[1][1] / det, -A[0][1] / det],
      [-A[1][0] / det, A[0][0] / det],
    ];
    const fro = (X: number[][]) => Math.sqrt(X.flat().reduce((s, v) => s + v * v, 0));
    total += fro(M) + fro(inv);
  }
  return total / N;
}

/** Central differences of the float64 reference with respect to every element of the three inputs. */
function referenceGrads(uv: Float32Array, dx: Float32Array, dy: Float32Array): Float64Array[] {
  const inputs = [uv, dx, dy].map((t) => Float64Array.from(t));
  return inputs.map((x) =>
    Float64Array.from(x, (v, i) => {
      const h = 1e-7;
      x[i] = v + h;
      const plus = reference(inputs[0], inputs[1], inputs[2]);
      x[i] = v - h;
      const minus = reference(inputs[0], inputs[1], inputs[2]);
      x[i] = v;
      return (plus - minus) / (2 * h);
    }),
  );
}

/** Points uv and the mapping after a step δ: uv + δ·S·(column of J), J given per point as (a, b, c, d). */
function fromJacobians(uv: Float32Array, jac: ArrayLike<number>) {
  const N = uv.length / 2;
  const h = DELTA * SCALE;
  const dx = new Float32Array(2 * N);
  const dy = new Float32Array(2 * N);
  for (let n = 0; n < N; n++) {
    const [a, b, c, d] = [0, 1, 2, 3].map((k) => jac[4 * n + k]);
    dx[2 * n] = uv[2 * n] + h * a;
    dx[2 * n + 1] = uv[2 * n + 1] + h * c;
    dy[2 * n] = uv[2 * n] + h * b;
    dy[2 * n + 1] = uv[2 * n + 1] + h * d;
  }
  return { dx, dy };
}

async function lossAndGrads(e: Engine, uv: Float32Array, dx: Float32Array, dy: Float32Array) {
  const N = uv.length / 2;
  const res = e.tidy(() => {
    const ts = [uv, dx, dy].map((d) => e.fromArray([N, 2], d));
    for (const t of ts) t.requiresGrad = true;
    const tape = Tape.start(e);
    const loss = rigidityLoss(ts[0], ts[1], ts[2], DELTA, SCALE);
    tape.backward(loss);
    return { loss, grads: ts.map((t) => t.grad!) };
  });
  const out = { loss: await res.loss.item(), grads: await Promise.all(res.grads.map((g) => g.read())) };
  for (const t of [res.loss, ...res.grads]) t.release();
  return out;
}

describe('rigidityLoss', () => {
  it('is √2 + √2/(1 + ε) for the identity-scaled mapping and √2/ε for a collapsed one, with finite gradients', async () => {
    const e = await testEngine();
    const N = 16;
    const uv = rand(2 * N, 1);
    const identity = fromJacobians(uv, Array.from({ length: N }, () => [1, 0, 0, 1]).flat());
    const rigid = await lossAndGrads(e, uv, identity.dx, identity.dy);
    const eps = RIGIDITY_INVERSE_EPS;
    expect(rigid.loss).toBeCloseTo(Math.SQRT2 + Math.SQRT2 / (1 + eps), 5);
    // A rotation is rigid too.
    const [cs, sn] = [Math.cos(0.7), Math.sin(0.7)];
    const rotation = fromJacobians(uv, Array.from({ length: N }, () => [cs, -sn, sn, cs]).flat());
    expect((await lossAndGrads(e, uv, rotation.dx, rotation.dy)).loss).toBeCloseTo(rigid.loss, 5);

    const collapsed = await lossAndGrads(e, uv, uv, uv);
    expect(collapsed.loss / (Math.SQRT2 / eps)).toBeCloseTo(1, 5);
    for (const g of collapsed.grads) expect(maxAbs(g)).toBe(0);
  });

  it('matches the float64 definition and its numerical gradient, also for nearly singular J', async () => {
    const e = await testEngine();
    const N = 48;
    const uv = rand(2 * N, 2);
    const jac = rand(4 * N, 3, -2, 2);
    // Points 0–7: rank-one J (parallel columns), 8–15: nearly so, 16–19: tiny J.
    for (let n = 0; n < 16; n++) {
      const t = n < 8 ? 0.5 : 0.5 + 1e-3;
      jac[4 * n + 1] = t * jac[4 * n];
      jac[4 * n + 3] = 0.5 * jac[4 * n + 2];
    }
    for (let k = 16 * 4; k < 20 * 4; k++) jac[k] *= 1e-3;
    const { dx, dy } = fromJacobians(uv, jac);
    const got = await lossAndGrads(e, uv, dx, dy);
    const want = reference(uv, dx, dy);
    expect(Math.abs(got.loss - want) / want).toBeLessThan(1e-5);
    const wantGrads = referenceGrads(uv, dx, dy);
    got.grads.forEach((g, k) => {
      expect(maxAbsDiff(g, wantGrads[k]) / maxAbs(wantGrads[k]), `input ${k}`).toBeLessThan(1e-4);
    });
  });

  it('has a backward that matches central finite differences', async () => {
    const e = await testEngine();
    const N = 16;
    const uv = rand(2 * N, 4);
    // Well-conditioned J (identity ± 0.4): the loss is a float32 scalar, so the steps cannot be tiny.
    const jac = rand(4 * N, 5, -0.4, 0.4).map((v, k) => v + (k % 4 === 0 || k % 4 === 3 ? 1 : 0));
    const { dx, dy } = fromJacobians(uv, jac);
    const r = await gradCheck(
      e,
      (a, b, c) => rigidityLoss(a, b, c, DELTA, SCALE),
      [
        { shape: [N, 2], data: uv },
        { shape: [N, 2], data: dx },
        { shape: [N, 2], data: dy },
      ],
      { eps: 3e-4, probes: 16 },
    );
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('rejects bad shapes and steps', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const uv = e.fromArray([4, 2], rand(8, 1));
      expect(() => rigidityLoss(uv, e.fromArray([2, 4], rand(8, 2)), uv, DELTA, SCALE)).toThrow(EngineError);
      expect(() => rigidityLoss(e.fromArray([2, 4], rand(8, 2)), uv, uv, DELTA, SCALE)).toThrow(/\[N,2\]/);
      expect(() => rigidityLoss(uv, uv, uv, 0, SCALE)).toThrow(/non-zero/);
      expect(() => rigidityLoss(uv, uv, uv, DELTA, SCALE, 0)).toThrow(/inverseEps/);
    });
  });
});
