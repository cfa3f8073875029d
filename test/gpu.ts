/** Test helpers: one Node engine per test file, seeded random data, finite-difference gradient checks. */
import { afterAll } from 'vitest';
import type { Engine } from '../src/gpu/engine';
import { nodeEngine } from '../src/gpu/node';
import { Tape } from '../src/gpu/tape';
import type { Tensor } from '../src/gpu/tensor';

let shared: Promise<Engine> | null = null;

/** The engine for this test file (created once, destroyed after the file's tests). */
export function testEngine(): Promise<Engine> {
  if (!shared) {
    shared = nodeEngine();
    afterAll(async () => {
      const e = await shared;
      shared = null;
      e?.destroy();
    });
  }
  return shared;
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
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

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export interface GradCheckInput {
  shape: number[];
  data: Float32Array;
  /** Check this input's gradient (default true). */
  check?: boolean;
}

export interface GradCheckResult {
  /** Per input: the largest |analytic − numeric| over the probed elements, relative to the largest |numeric|. */
  errors: number[];
  worst: number;
}

/**
 * Compares the tape's gradient of L = Σ f(x)·R (R a fixed random tensor) with central finite
 * differences on up to `probes` elements of each checked input. Computation on the GPU is float32,
 * so eps is large-ish and the reduction runs in float64 on the CPU.
 */
export async function gradCheck(
  engine: Engine,
  f: (...xs: Tensor[]) => Tensor,
  inputs: GradCheckInput[],
  opts: { eps?: number; probes?: number; seed?: number } = {},
): Promise<GradCheckResult> {
  const eps = opts.eps ?? 1e-2;
  const probes = opts.probes ?? 24;
  const evalLoss = async (datas: Float32Array[], R: Float32Array | null): Promise<{ out: Float32Array }> => {
    const out = await engine.tidy(() =>
      engine.noGrad(() => {
        const xs = inputs.map((inp, i) => engine.fromArray(inp.shape, datas[i]));
        return f(...xs);
      }),
    );
    const vals = await out.read();
    out.release();
    void R;
    return { out: vals };
  };
  const base = await evalLoss(
    inputs.map((i) => i.data),
    null,
  );
  const R = rand(base.out.length, opts.seed ?? 99);
  const dot = (v: Float32Array) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * R[i];
    return s;
  };

  // Analytic gradients.
  const xs = inputs.map((inp) => {
    const t = engine.fromArray(inp.shape, inp.data).keep();
    t.requiresGrad = inp.check !== false;
    return t;
  });
  const tape = Tape.start(engine);
  const analytic: Float32Array[] = [];
  const out = f(...xs);
  out.keep();
  const seed = engine.fromArray(out.shape, R).keep();
  tape.backward(out, seed);
  for (const x of xs) analytic.push(x.grad ? await x.grad.read() : new Float32Array(x.size));
  for (const x of xs) {
    x.grad?.release();
    x.release();
  }
  out.release();
  seed.release();

  const errors: number[] = [];
  for (let k = 0; k < inputs.length; k++) {
    if (inputs[k].check === false) {
      errors.push(0);
      continue;
    }
    const n = inputs[k].data.length;
    const idx = n <= probes ? [...Array(n).keys()] : [...rand(probes, 1234 + k, 0, n)].map(Math.floor);
    let worstAbs = 0;
    let scaleRef = 0;
    for (const i of idx) {
      const plus = inputs.map((inp) => inp.data.slice());
      const minus = inputs.map((inp) => inp.data.slice());
      plus[k][i] += eps;
      minus[k][i] -= eps;
      const lp = dot((await evalLoss(plus, R)).out);
      const lm = dot((await evalLoss(minus, R)).out);
      const numeric = (lp - lm) / (2 * eps);
      worstAbs = Math.max(worstAbs, Math.abs(numeric - analytic[k][i]));
      scaleRef = Math.max(scaleRef, Math.abs(numeric), Math.abs(analytic[k][i]));
    }
    errors.push(worstAbs / Math.max(scaleRef, 1e-6));
  }
  return { errors, worst: Math.max(...errors) };
}
