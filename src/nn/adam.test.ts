import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, testEngine } from '../../test/gpu';
import { Adam } from './adam';
import { createParameter, type Parameter } from './parameter';
import { decodeSafetensors, type DecodedTensor } from './safetensors';

const FIXTURE = new URL('../../test/fixtures/generator_small.safetensors', import.meta.url);

describe('Adam', () => {
  it('matches torch.optim.Adam over two steps (params, m, v)', async () => {
    const e = await testEngine();
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    const get = (key: string): DecodedTensor => {
      const t = tensors.get(key);
      if (!t) throw new Error(`fixture has no ${key}`);
      return t;
    };
    const names = JSON.parse(metadata.param_names) as string[];
    const cfg = JSON.parse(metadata.adam) as { lr: number; beta1: number; beta2: number; eps: number };
    const params: Parameter[] = names.map((n) =>
      createParameter(e, n, get(`param.${n}`).shape, get(`param.${n}`).data),
    );
    const opt = new Adam(params, { lr: cfg.lr, betas: [cfg.beta1, cfg.beta2], eps: cfg.eps });
    for (const prefix of ['grad', 'adam.grad2']) {
      for (const p of params) {
        p.value.grad?.release();
        p.value.grad = e.fromArray(p.value.shape, get(`${prefix}.${p.name}`).data).keep();
      }
      opt.step();
    }
    let errParam = 0;
    let errState = 0;
    for (const p of params) {
      errParam = Math.max(errParam, maxAbsDiff(await p.value.read(), get(`adam.after2.param.${p.name}`).data));
    }
    for (const s of opt.state()) {
      const dot = s.name.lastIndexOf('.');
      const key = `adam.after2.${s.name.slice(dot + 1)}.${s.name.slice(0, dot)}`;
      errState = Math.max(errState, maxAbsDiff(await s.value.read(), get(key).data));
    }
    console.log(`Adam max abs error: params ${errParam.toExponential(2)}, m/v ${errState.toExponential(2)}`);
    expect(errParam).toBeLessThanOrEqual(1e-5);
    expect(errState).toBeLessThanOrEqual(1e-5);
    opt.dispose();
    for (const p of params) {
      p.value.grad?.release();
      p.value.release();
    }
  });
});
