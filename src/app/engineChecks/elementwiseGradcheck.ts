/**
 * Check `elementwise-gradcheck`: elementwise ops' forward against JavaScript and the tape's gradients against
 * central finite differences, on tiny tensors.
 */
import type { Engine } from '../../gpu/engine';
import { Tape } from '../../gpu/tape';
import type { Tensor } from '../../gpu/tensor';
import { add, affine, mul, scale, sub } from '../../ops/elementwise';
import { type EngineCheck, outcome } from './types';

/** Deterministic uniform numbers in [lo, hi) (mulberry32), the same sequence as test/gpu.ts. */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** Runs f on fresh tensors without a tape and reads the output back. */
async function evaluate(
  engine: Engine,
  f: (...xs: Tensor[]) => Tensor,
  shape: number[],
  datas: Float32Array[],
): Promise<Float32Array> {
  const out = engine.tidy(() => engine.noGrad(() => f(...datas.map((d) => engine.fromArray(shape, d)))));
  try {
    return await out.read();
  } finally {
    out.release();
  }
}

/** The tape's gradients of L = Σ f(x)·R with respect to every input. */
async function tapeGradients(
  engine: Engine,
  f: (...xs: Tensor[]) => Tensor,
  shape: number[],
  datas: Float32Array[],
  R: Float32Array,
): Promise<Float32Array[]> {
  const grads = engine.tidy(() => {
    const xs = datas.map((d) => {
      const t = engine.fromArray(shape, d);
      t.requiresGrad = true;
      return t;
    });
    const tape = Tape.start(engine);
    try {
      const out = f(...xs);
      tape.backward(out, engine.fromArray(out.shape, R));
    } finally {
      engine.activeTape = null;
    }
    return xs.map((x) => x.grad ?? engine.zeros(shape));
  });
  try {
    return await Promise.all(grads.map((g) => g.read()));
  } finally {
    for (const g of grads) g.release();
  }
}

/**
 * Central finite differences of L = Σ f(x)·R (in float64) on every element of every input, compared
 * with the tape's gradients. Returns per input max|numeric − analytic| / max(|numeric|, |analytic|).
 */
async function gradCheck(
  engine: Engine,
  f: (...xs: Tensor[]) => Tensor,
  shape: number[],
  datas: Float32Array[],
  eps = 1e-2,
): Promise<number[]> {
  const base = await evaluate(engine, f, shape, datas);
  const R = rand(base.length, 99);
  const loss = (v: Float32Array) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * R[i];
    return s;
  };
  const analytic = await tapeGradients(engine, f, shape, datas, R);
  const errors: number[] = [];
  for (let k = 0; k < datas.length; k++) {
    let worst = 0;
    let ref = 0;
    for (let i = 0; i < datas[k].length; i++) {
      const plus = datas.map((d) => d.slice());
      const minus = datas.map((d) => d.slice());
      plus[k][i] += eps;
      minus[k][i] -= eps;
      const lp = loss(await evaluate(engine, f, shape, plus));
      const lm = loss(await evaluate(engine, f, shape, minus));
      const numeric = (lp - lm) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - analytic[k][i]));
      ref = Math.max(ref, Math.abs(numeric), Math.abs(analytic[k][i]));
    }
    errors.push(worst / Math.max(ref, 1e-6));
  }
  return errors;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface ElementwiseCase {
  name: string;
  f: (...xs: Tensor[]) => Tensor;
  /** The same function on numbers, for the forward comparison. */
  ref: (...xs: number[]) => number;
  arity: number;
}

const ELEMENTWISE_CASES: ElementwiseCase[] = [
  { name: 'add', f: (a, b) => add(a, b), ref: (a, b) => a + b, arity: 2 },
  { name: 'sub', f: (a, b) => sub(a, b), ref: (a, b) => a - b, arity: 2 },
  { name: 'mul', f: (a, b) => mul(a, b), ref: (a, b) => a * b, arity: 2 },
  { name: 'affine(x, 3, 0.5)', f: (x) => affine(x, 3, 0.5), ref: (x) => 3 * x + 0.5, arity: 1 },
  {
    name: 'scale(mul(x, add(x, y)), -2)',
    f: (x, y) => scale(mul(x, add(x, y)), -2),
    ref: (x, y) => -2 * x * (x + y),
    arity: 2,
  },
];

export const elementwiseGradcheck: EngineCheck = {
  title: 'Elementwise ops: forward and gradients',
  description:
    'add, sub, mul, affine and a composite that reuses its input, on random 3×5 tensors: the forward against ' +
    'JavaScript, the tape’s backward against central finite differences of Σ f(x)·R on every element. ' +
    'Forward errors are absolute; gradient errors are relative to the largest gradient.',
  async run(engine) {
    const shape = [3, 5];
    const errors: Record<string, number> = {};
    for (const [c, kase] of ELEMENTWISE_CASES.entries()) {
      const datas = Array.from({ length: kase.arity }, (_, k) => rand(15, 10 * c + k + 1));
      const got = await evaluate(engine, kase.f, shape, datas);
      const want = got.map((_, i) => kase.ref(...datas.map((d) => d[i])));
      errors[`${kase.name}: forward`] = maxAbsDiff(got, want);
      const gradErrors = await gradCheck(engine, kase.f, shape, datas);
      gradErrors.forEach((e, k) => (errors[`${kase.name}: grad of input ${k}`] = e));
    }
    return outcome(errors, 1e-3);
  },
};
