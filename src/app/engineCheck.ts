/**
 * The diagnostics page (engine-check.html): runs engine self-checks in the browser, lists the results,
 * and exposes `window.__engineCheck` so Playwright can run a check and read its result.
 *
 * A check is one entry of CHECKS: a function from an Engine to the errors it measured. Add a check by
 * adding an entry; the page, the list and the Playwright API pick it up.
 */
import { acquireDevice } from '../gpu/device';
import { Engine } from '../gpu/engine';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { add, affine, mul, scale, sub } from '../ops/elementwise';
import './app.css';

/** What a check measured. */
export interface CheckOutcome {
  /** The headline error: the largest of `errors`, compared with `tolerance`. */
  maxError: number;
  tolerance: number;
  /** Every measured error by case, e.g. `{ 'mul: grad of input 0': 2e-7 }`. */
  errors: Record<string, number>;
}

export interface EngineCheck {
  title: string;
  description: string;
  run(engine: Engine): Promise<CheckOutcome>;
}

/** What `window.__engineCheck.run(name)` resolves to. A check that throws resolves with ok false and `error`. */
export interface EngineCheckResult extends CheckOutcome {
  name: string;
  ok: boolean;
  ms: number;
  /** vendor · architecture of the adapter the check ran on. */
  adapter: string;
  error?: string;
}

export interface EngineCheckApi {
  names(): string[];
  run(name: string): Promise<EngineCheckResult>;
}

declare global {
  interface Window {
    __engineCheck?: EngineCheckApi;
  }
}

// ------------------------------------------------------------------ helpers

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

function outcome(errors: Record<string, number>, tolerance: number): CheckOutcome {
  const values = Object.values(errors);
  // NaN must fail, and Math.max propagates it.
  return { maxError: values.length ? Math.max(...values) : NaN, tolerance, errors };
}

// ------------------------------------------------------------------ checks

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

const elementwiseGradcheck: EngineCheck = {
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

/** The registry: name → check. */
export const CHECKS: Record<string, EngineCheck> = {
  'elementwise-gradcheck': elementwiseGradcheck,
};

// ------------------------------------------------------------------ running

let engineOnce: Promise<Engine> | null = null;

function getEngine(): Promise<Engine> {
  engineOnce ??= acquireDevice(navigator.gpu).then((ctx) => new Engine(ctx));
  return engineOnce;
}

function adapterName(engine: Engine): string {
  const s = engine.ctx.summary;
  return `${s.vendor || 'unknown vendor'} · ${s.architecture || 'unknown architecture'}`;
}

/** Checks share one engine (and its active tape), so they run one at a time. */
let queue: Promise<unknown> = Promise.resolve();

function runCheck(name: string): Promise<EngineCheckResult> {
  const check = CHECKS[name];
  if (!check) {
    return Promise.reject(new Error(`unknown check '${name}'; known: ${Object.keys(CHECKS).join(', ')}`));
  }
  const run = queue.then(async (): Promise<EngineCheckResult> => {
    render(name, { state: 'running' });
    const t0 = performance.now();
    let result: EngineCheckResult;
    let adapter = '';
    try {
      const engine = await getEngine();
      adapter = adapterName(engine);
      const o = await check.run(engine);
      result = { name, ok: o.maxError <= o.tolerance, ms: performance.now() - t0, adapter, ...o };
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      result = {
        name,
        ok: false,
        ms: performance.now() - t0,
        adapter,
        maxError: NaN,
        tolerance: NaN,
        errors: {},
        error,
      };
    }
    render(name, { state: 'done', result });
    return result;
  });
  queue = run.catch(() => undefined);
  return run;
}

// ------------------------------------------------------------------ the page

type View = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: EngineCheckResult };

const items = new Map<string, HTMLLIElement>();

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

function render(name: string, view: View): void {
  const li = items.get(name);
  if (!li) return;
  const check = CHECKS[name];
  li.replaceChildren();
  li.dataset.check = name;
  li.dataset.state = view.state === 'done' ? (view.result.ok ? 'pass' : 'fail') : view.state;

  const head = el('div', 'check-head');
  const title = el('h3', undefined, check.title);
  const status =
    view.state === 'idle'
      ? el('span', 'badge off', 'not run')
      : view.state === 'running'
        ? el('span', 'badge off', 'running…')
        : el('span', `badge ${view.result.ok ? 'ok' : 'bad'}`, view.result.ok ? 'pass' : 'fail');
  const button = el('button', undefined, 'Run');
  button.type = 'button';
  button.disabled = view.state === 'running';
  button.setAttribute('aria-label', `Run ${name}`);
  button.addEventListener('click', () => void runCheck(name));
  head.append(title, status, button);
  li.append(head, el('p', 'muted', check.description));
  const id = el('p', 'muted');
  id.append('Name: ', el('code', undefined, name));
  li.append(id);

  if (view.state !== 'done') return;
  const r = view.result;
  const summary = r.error
    ? `Threw after ${(r.ms / 1000).toFixed(1)} s: ${r.error}`
    : `Max error ${fmt(r.maxError)} (tolerance ${fmt(r.tolerance)}) in ${(r.ms / 1000).toFixed(1)} s on ${r.adapter}.`;
  li.append(el('p', 'check-summary', summary));
  const entries = Object.entries(r.errors);
  if (entries.length) {
    const details = el('details');
    details.append(el('summary', undefined, `${entries.length} measured errors`));
    const table = el('table', 'limits');
    const body = el('tbody');
    for (const [k, v] of entries) {
      const row = el('tr');
      const th = el('th', undefined, k);
      th.scope = 'row';
      row.append(th, el('td', 'num', fmt(v)));
      body.append(row);
    }
    table.append(body);
    details.append(table);
    li.append(details);
  }
}

function mount(): void {
  const list = document.getElementById('checks');
  const adapter = document.getElementById('adapter');
  const runAll = document.getElementById('run-all');
  if (!list || !adapter || !runAll) throw new Error('engine-check.html is missing #checks, #adapter or #run-all');
  for (const name of Object.keys(CHECKS)) {
    const li = el('li', 'check');
    items.set(name, li);
    list.append(li);
    render(name, { state: 'idle' });
  }
  runAll.addEventListener('click', () => {
    for (const name of Object.keys(CHECKS)) void runCheck(name);
  });
  getEngine().then(
    (engine) => {
      const s = engine.ctx.summary;
      adapter.textContent = `${adapterName(engine)}${s.isFallbackAdapter ? ' (fallback, software)' : ''}; ${
        s.description || 'no description'
      }.`;
    },
    (e: unknown) => {
      adapter.textContent = `No WebGPU engine: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
  window.__engineCheck = { names: () => Object.keys(CHECKS), run: runCheck };
  if (new URLSearchParams(location.search).get('run') === 'all') runAll.click();
}

mount();
