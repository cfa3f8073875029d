/**
 * The diagnostics page (engine-check.html): runs engine self-checks in the browser, lists the results,
 * and exposes `window.__engineCheck` so Playwright can run a check and read its result.
 *
 * A check is one entry of CHECKS: a function from an Engine (and options) to the errors it measured, one check per
 * file in engineChecks/. Add a check by adding a file and an entry; the page, the list and the Playwright API pick
 * it up.
 */
import { acquireDevice } from '../gpu/device';
import { Engine } from '../gpu/engine';
import './app.css';
import { elementwiseGradcheck } from './engineChecks/elementwiseGradcheck';
import { generatorOracle } from './engineChecks/generatorOracle';
import { videoDecode } from './engineChecks/videoDecode';
import { videoEncode } from './engineChecks/videoEncode';
import { videoFramesZip } from './engineChecks/videoFramesZip';
import { videoRead } from './engineChecks/videoRead';
import { type CheckOptions, type CheckOutcome, type EngineCheck, passes, toleranceOf } from './engineChecks/types';

export type { CheckOptions, CheckOutcome, EngineCheck } from './engineChecks/types';

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
  /** Runs a check; options go to the check (e.g. `{ fixture: url }` for generator-oracle). */
  run(name: string, options?: CheckOptions): Promise<EngineCheckResult>;
}

declare global {
  interface Window {
    __engineCheck?: EngineCheckApi;
  }
}

/** The registry: name → check. */
export const CHECKS: Record<string, EngineCheck> = {
  'elementwise-gradcheck': elementwiseGradcheck,
  'generator-oracle': generatorOracle,
  'video-decode': videoDecode,
  'video-encode': videoEncode,
  'video-frames-zip': videoFramesZip,
  'video-read': videoRead,
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

function runCheck(name: string, options: CheckOptions = {}): Promise<EngineCheckResult> {
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
      const o = await check.run(engine, options);
      result = { name, ok: passes(o), ms: performance.now() - t0, adapter, ...o };
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
  const seconds = `${(r.ms / 1000).toFixed(1)} s`;
  if (r.error) {
    const error = el('p', 'check-summary check-error', `Error after ${seconds}: ${r.error}`);
    error.setAttribute('role', 'alert');
    li.append(error);
    return;
  }
  const summary = r.summary
    ? `${r.summary} ${seconds} on ${r.adapter}.`
    : `Max error ${fmt(r.maxError)} (tolerance ${fmt(r.tolerance)}) in ${seconds} on ${r.adapter}.`;
  li.append(el('p', 'check-summary', summary));
  if (r.failures?.length) {
    const list = el('ul', 'check-failures');
    list.setAttribute('role', 'alert');
    for (const f of r.failures) list.append(el('li', undefined, f));
    li.append(list);
  }
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
      const within = v <= toleranceOf(r, k);
      row.append(th, el('td', 'num', fmt(v)), el('td', 'num muted', `${within ? '≤' : '>'} ${fmt(toleranceOf(r, k))}`));
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
