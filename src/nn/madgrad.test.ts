import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { Madgrad } from './madgrad';
import { createParameter, type Parameter } from './parameter';
import { decodeSafetensors, type DecodedTensor } from './safetensors';

const FIXTURE = new URL('../../test/fixtures/generator_small.safetensors', import.meta.url);

function loadFixture() {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
  const names = JSON.parse(metadata.param_names) as string[];
  const get = (key: string): DecodedTensor => {
    const t = tensors.get(key);
    if (!t) throw new Error(`fixture has no ${key}`);
    return t;
  };
  return { names, get, metadata };
}

function setGrads(e: Engine, params: Parameter[], grad: (name: string) => DecodedTensor): void {
  for (const p of params) {
    p.value.grad?.release();
    const g = grad(p.name);
    p.value.grad = e.fromArray(g.shape, g.data).keep();
  }
}

/** Largest |GPU − fixture| over all parameters for the tensors picked by `pick`. */
async function worst(tensors: Parameter[], expected: (name: string) => Float32Array): Promise<number> {
  let m = 0;
  for (const t of tensors) m = Math.max(m, maxAbsDiff(await t.value.read(), expected(t.name)));
  return m;
}

describe('Madgrad', () => {
  it('matches the PyTorch oracle over two steps (params, s, v, x0)', async () => {
    const e = await testEngine();
    const { names, get, metadata } = loadFixture();
    const cfg = JSON.parse(metadata.madgrad) as { lr_steps: number[]; momentum: number; weight_decay: number };
    const params = names.map((n) => {
      const t = get(`param.${n}`);
      return createParameter(e, n, t.shape, t.data);
    });
    const opt = new Madgrad(params, { momentum: cfg.momentum, weightDecay: cfg.weight_decay, eps: 1e-6 });
    expect(cfg.lr_steps[0]).toBe(0.0025);
    expect(cfg.lr_steps[1]).toBe(0.0025 * 0.99);

    setGrads(e, params, (n) => get(`grad.${n}`));
    const before = e.dispatchCount;
    opt.step(0.0025);
    expect(e.dispatchCount - before).toBe(params.length); // one fused kernel per parameter tensor
    const err1 = await worst(params, (n) => get(`madgrad.after1.param.${n}`).data);

    setGrads(e, params, (n) => get(`madgrad.grad2.${n}`));
    opt.step(0.0025 * 0.99);
    expect(opt.stepCount).toBe(2);
    const err2 = await worst(params, (n) => get(`madgrad.after2.param.${n}`).data);
    const state = opt.state();
    expect(state.map((s) => s.name).slice(0, 3)).toEqual([`${names[0]}.s`, `${names[0]}.v`, `${names[0]}.x0`]);
    const errState = await worst(state, (key) => {
      const dot = key.lastIndexOf('.');
      return get(`madgrad.after2.${key.slice(dot + 1)}.${key.slice(0, dot)}`).data;
    });
    console.log(
      `Madgrad max abs error: step 1 ${err1.toExponential(2)}, step 2 ${err2.toExponential(2)}, ` +
        `state ${errState.toExponential(2)}`,
    );
    expect(err1).toBeLessThanOrEqual(1e-5);
    expect(err2).toBeLessThanOrEqual(1e-5);
    expect(errState).toBeLessThanOrEqual(1e-5);

    opt.dispose();
    for (const p of params) {
      p.value.grad?.release();
      p.value.release();
    }
  });

  it('skips parameters without a gradient and restores state with loadState', async () => {
    const e = await testEngine();
    const a = createParameter(e, 'a', [5], rand(5, 1));
    const b = createParameter(e, 'b', [3], rand(3, 2));
    const opt = new Madgrad([a, b], { weightDecay: 0.01 });
    a.value.grad = e.fromArray([5], rand(5, 3)).keep();
    const b0 = await b.value.read();
    opt.step();
    expect(await b.value.read()).toEqual(b0);

    // A second optimizer loaded with the first one's state takes the same next step.
    const saved = new Map<string, Float32Array>();
    for (const s of opt.state()) saved.set(s.name, await s.value.read());
    const a1 = createParameter(e, 'a', [5], await a.value.read());
    const b1 = createParameter(e, 'b', [3], b0);
    const opt2 = new Madgrad([a1, b1], { weightDecay: 0.01 });
    opt2.loadState(saved, opt.stepCount);
    expect(() => opt2.loadState(new Map(), 1)).toThrow(/missing "a.s"/);
    for (const [p, seed] of [
      [a, 4],
      [b, 5],
      [a1, 4],
      [b1, 5],
    ] as const) {
      p.value.grad?.release();
      p.value.grad = e.fromArray(p.value.shape, rand(p.value.size, seed)).keep();
    }
    opt.step(0.001);
    opt2.step(0.001);
    expect(await a1.value.read()).toEqual(await a.value.read());
    expect(await b1.value.read()).toEqual(await b.value.read());
    for (const p of [a, b, a1, b1]) {
      p.value.grad?.release();
      p.value.release();
    }
    opt.dispose();
    opt2.dispose();
  });
});
