/**
 * The SkipGenerator's PyTorch oracle (test/fixtures/generator_small.safetensors, written by
 * tools/generator_oracle.py): load the fixture, run forward and the tape's backward on an engine, and judge the
 * result. The one place the comparison rules live: the Node test (src/nn/skip.test.ts) and the browser check
 * (engine-check.html, `generator-oracle`) both call runGeneratorOracle and both fail on `report.failures`.
 *
 * The rules:
 * - the output's shape equals the oracle's and max |output − oracle| ≤ 1e-4 (absolute);
 * - for every parameter whose oracle gradient is not (near) zero: max |grad − oracle| / max |oracle| ≤ 1e-3;
 * - conv biases that feed a BN (and the concat BN's β) have an exactly-zero true gradient, because BN removes any
 *   per-channel constant. The oracle gives ~1e-14 for them, so a relative error is meaningless there: a parameter
 *   whose oracle gradient is below 1e-9 × the largest oracle gradient of the network must instead have
 *   max |grad| ≤ 1e-3 × that largest gradient;
 * - more than half of the parameters get the relative check and fewer than a third the zero check (guards against a
 *   fixture or a network where everything looks "zero").
 *
 * Browser and Node: no Node APIs, no DOM.
 */
import type { Engine } from '../gpu/engine';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { type DecodedTensor, decodeSafetensors } from './safetensors';
import { SkipGenerator, type SkipGeneratorConfig } from './skip';

/** The tolerances of the rules above. */
export const GENERATOR_ORACLE_TOLERANCES = Object.freeze({
  /** Max |output − oracle|, absolute. */
  output: 1e-4,
  /** Max |grad − oracle| / max |oracle| of each parameter with a non-zero oracle gradient. */
  gradientRelative: 1e-3,
  /** An oracle gradient below this × the largest oracle gradient counts as analytically zero. */
  zeroThreshold: 1e-9,
  /** An analytically zero gradient must stay below this × the largest oracle gradient. */
  zeroGradient: 1e-3,
});

export interface GeneratorOracleFixture {
  config: SkipGeneratorConfig;
  input: DecodedTensor;
  /** The oracle's G(input). */
  output: DecodedTensor;
  /** R in L = Σ output · R: the seed of the backward pass. */
  lossWeights: DecodedTensor;
  /** `param.<name>` and `grad.<name>` by parameter name. */
  params: Map<string, DecodedTensor>;
  grads: Map<string, DecodedTensor>;
}

export class GeneratorOracleError extends Error {
  constructor(message: string) {
    super(`generator oracle: ${message}`);
    this.name = 'GeneratorOracleError';
  }
}

/** Decodes the fixture and picks out what the oracle comparison needs. Throws GeneratorOracleError or SafetensorsError. */
export function parseGeneratorFixture(bytes: Uint8Array): GeneratorOracleFixture {
  const fx = decodeSafetensors(bytes);
  const tensor = (name: string): DecodedTensor => {
    const t = fx.tensors.get(name);
    if (!t) throw new GeneratorOracleError(`the fixture has no tensor "${name}"`);
    return t;
  };
  const int = (key: string): number => {
    const v = Number(fx.metadata[key]);
    if (!Number.isInteger(v) || v < 1) {
      throw new GeneratorOracleError(
        `metadata "${key}" must be a positive integer, got ${JSON.stringify(fx.metadata[key])}`,
      );
    }
    return v;
  };
  const config = { scales: int('scales'), down: int('down'), up: int('up'), skip: int('skip') };
  const params = new Map<string, DecodedTensor>();
  const grads = new Map<string, DecodedTensor>();
  for (const [name, t] of fx.tensors) {
    if (name.startsWith('param.')) params.set(name.slice('param.'.length), t);
    else if (name.startsWith('grad.')) grads.set(name.slice('grad.'.length), t);
  }
  return {
    config,
    input: tensor('input'),
    output: tensor('output'),
    lossWeights: tensor('loss_weights'),
    params,
    grads,
  };
}

export interface GradientError {
  name: string;
  /** max |grad − oracle| / max |oracle|. */
  relativeError: number;
}

export interface ZeroGradient {
  name: string;
  /** max |grad| / the largest oracle gradient of the network; must be ≤ zeroGradient. */
  relativeToLargest: number;
}

export interface GeneratorOracleReport {
  config: SkipGeneratorConfig;
  parameterCount: number;
  /** Number of parameter tensors. */
  parameterTensors: number;
  outputShape: number[];
  expectedOutputShape: number[];
  /** max |output − oracle| (Infinity when the shapes differ). */
  outputMaxAbsError: number;
  /** The largest max |oracle gradient| over all parameters: the scale of the zero-gradient rule. */
  largestGradient: number;
  /** Parameters judged by relative error, worst first. */
  relative: GradientError[];
  /** Parameters with an analytically zero gradient, worst first. */
  zero: ZeroGradient[];
  /** Every broken rule, in words; empty when the engine matches the oracle. */
  failures: string[];
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |a − b|; Infinity when the lengths differ. NaN anywhere gives NaN (and fails every ≤ comparison). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    m = Math.max(m, d);
  }
  return m;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (x: number) => x.toExponential(2);

export interface GradientJudgement {
  /** The largest max |oracle gradient| over all parameters: the scale of the zero-gradient rule. */
  largestGradient: number;
  /** Parameters judged by relative error, worst first. */
  relative: GradientError[];
  /** Parameters with an analytically zero gradient, worst first. */
  zero: ZeroGradient[];
  failures: string[];
}

/**
 * The gradient rules above, for any network: `refs` and `got` map parameter names to gradients. Used by this
 * oracle and by the loss-step oracle (src/edit/losses.oracle.test.ts).
 */
export function judgeGradients(
  refs: ReadonlyMap<string, Float32Array>,
  got: ReadonlyMap<string, Float32Array>,
): GradientJudgement {
  const T = GENERATOR_ORACLE_TOLERANCES;
  const failures: string[] = [];
  const names = [...got.keys()];
  const refOf = (name: string): Float32Array => {
    const ref = refs.get(name);
    if (!ref) throw new GeneratorOracleError(`no oracle gradient for "${name}"`);
    return ref;
  };
  const largestGradient = Math.max(0, ...names.map((n) => maxAbs(refOf(n))));
  const relative: GradientError[] = [];
  const zero: ZeroGradient[] = [];
  for (const name of names) {
    const ref = refOf(name);
    const g = got.get(name)!;
    if (g.length !== ref.length) {
      failures.push(`${name}: gradient has ${g.length} values, the oracle ${ref.length}`);
      relative.push({ name, relativeError: Infinity });
    } else if (maxAbs(ref) < T.zeroThreshold * largestGradient) {
      zero.push({ name, relativeToLargest: maxAbs(g) / largestGradient });
    } else {
      relative.push({ name, relativeError: maxAbsDiff(g, ref) / maxAbs(ref) });
    }
  }
  // Worst first, NaN counting as the worst.
  const key = (x: number) => (Number.isNaN(x) ? Infinity : x);
  relative.sort((a, b) => key(b.relativeError) - key(a.relativeError));
  zero.sort((a, b) => key(b.relativeToLargest) - key(a.relativeToLargest));

  for (const r of relative) {
    if (!(r.relativeError <= T.gradientRelative)) {
      failures.push(`${r.name}: gradient relative error ${fmt(r.relativeError)} exceeds ${fmt(T.gradientRelative)}`);
    }
  }
  for (const z of zero) {
    if (!(z.relativeToLargest <= T.zeroGradient)) {
      failures.push(
        `${z.name} should have a zero gradient: max |grad| is ${fmt(z.relativeToLargest)} × the largest gradient ` +
          `(limit ${fmt(T.zeroGradient)})`,
      );
    }
  }
  if (!(relative.length > names.length / 2)) {
    failures.push(
      `only ${relative.length} of ${names.length} parameters have a non-zero oracle gradient (need > half)`,
    );
  }
  if (!(zero.length < names.length / 3)) {
    failures.push(`${zero.length} of ${names.length} parameters have a zero oracle gradient (need < a third)`);
  }
  return { largestGradient, relative, zero, failures };
}

/**
 * The comparison, on host arrays: judges an output and per-parameter gradients against the fixture. Pure; the
 * engine-free half of runGeneratorOracle.
 */
export function compareWithOracle(
  fixture: GeneratorOracleFixture,
  got: {
    outputShape: readonly number[];
    output: Float32Array;
    grads: Map<string, Float32Array>;
    parameterCount: number;
  },
): GeneratorOracleReport {
  const T = GENERATOR_ORACLE_TOLERANCES;
  const failures: string[] = [];
  const want = fixture.output;
  const shapeOk = sameShape(got.outputShape, want.shape);
  const outputMaxAbsError = shapeOk ? maxAbsDiff(got.output, want.data) : Infinity;
  if (!shapeOk)
    failures.push(`output shape [${got.outputShape.join(',')}] differs from the oracle's [${want.shape.join(',')}]`);
  else if (!(outputMaxAbsError <= T.output)) {
    failures.push(`output max abs error ${fmt(outputMaxAbsError)} exceeds ${fmt(T.output)}`);
  }

  const refs = new Map<string, Float32Array>();
  for (const name of got.grads.keys()) {
    const ref = fixture.grads.get(name);
    if (!ref) throw new GeneratorOracleError(`the fixture has no tensor "grad.${name}"`);
    refs.set(name, ref.data);
  }
  const judged = judgeGradients(refs, got.grads);
  failures.push(...judged.failures);
  const { largestGradient, relative, zero } = judged;
  const names = [...got.grads.keys()];
  return {
    config: fixture.config,
    parameterCount: got.parameterCount,
    parameterTensors: names.length,
    outputShape: [...got.outputShape],
    expectedOutputShape: [...want.shape],
    outputMaxAbsError,
    largestGradient,
    relative,
    zero,
    failures,
  };
}

/**
 * Builds the SkipGenerator with the fixture's config and parameters, runs forward and the tape's backward seeded
 * with the fixture's loss weights, reads the output and every parameter gradient back and compares them. Releases
 * everything it allocated.
 */
export async function runGeneratorOracle(
  engine: Engine,
  fixture: GeneratorOracleFixture,
): Promise<GeneratorOracleReport> {
  const g = SkipGenerator.create(engine, fixture.config, 0);
  let out: Tensor | null = null;
  let grads: Array<Tensor | null> = [];
  try {
    for (const p of g.params) {
      const t = fixture.params.get(p.name);
      if (!t)
        throw new GeneratorOracleError(
          `the fixture has no tensor "param.${p.name}" (config ${JSON.stringify(fixture.config)})`,
        );
      if (!sameShape(t.shape, p.value.shape)) {
        throw new GeneratorOracleError(
          `param.${p.name} is [${t.shape.join(',')}] in the fixture but [${p.value.shape.join(',')}] in the generator`,
        );
      }
      engine.upload(p.value.buffer, t.data);
    }
    const result = engine.tidy(() => {
      const x = engine.fromArray(fixture.input.shape, fixture.input.data, 'oracle-input');
      const tape = Tape.start(engine);
      try {
        const y = g.forward(x);
        tape.backward(y, engine.fromArray(y.shape, fixture.lossWeights.data, 'oracle-loss-weights'));
        return { y, grads: g.params.map((p) => p.value.grad) };
      } finally {
        if (engine.activeTape === tape) engine.activeTape = null;
      }
    });
    out = result.y;
    grads = result.grads;
    const output = await out.read();
    const gradArrays = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const [i, p] of g.params.entries()) {
      const gr = grads[i];
      if (!gr) missing.push(p.name);
      gradArrays.set(p.name, gr ? await gr.read() : new Float32Array(p.value.size));
    }
    const report = compareWithOracle(fixture, {
      outputShape: out.shape,
      output,
      grads: gradArrays,
      parameterCount: g.parameterCount,
    });
    for (const name of missing) report.failures.unshift(`${name}: the tape produced no gradient`);
    return report;
  } finally {
    out?.release();
    for (const gr of grads) gr?.release();
    for (const p of g.params) p.value.grad = null;
    g.dispose();
  }
}
